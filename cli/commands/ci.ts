// `invtrace ci SUITE [--baseline FILE] [--update-baseline] [--junit FILE] [--json] [--shard i/n]
// [--out DIR] [--jobs N]`: replays a suite of traces (docs/ci.md), compares every trace × policy
// with the baseline, prints the regressions and improvements, writes JUnit XML, and exits 1 on a
// regression or a new violation (0 otherwise; 2 on bad input). --update-baseline rewrites the
// baseline from this run. --shard runs a deterministic share (analyzers/ci/shard.ts); --out keeps
// the runs (ci-shard.json) and the result tables as a Parquet dataset; --jobs replays traces in
// worker threads. `invtrace ci merge DIR...` judges the shards' runs together, as one run would.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { baselineOf, readBaseline, writeBaseline, type Baseline } from '../../analyzers/ci/baseline.js';
import { compareRuns } from '../../analyzers/ci/compare.js';
import { junitXml } from '../../analyzers/ci/junit.js';
import { runSuite, type Stage, type TraceRun } from '../../analyzers/ci/run.js';
import { mergeShards, writeShardFile } from '../../analyzers/ci/shard-file.js';
import { parseShard, resultCount, shardPlan } from '../../analyzers/ci/shard.js';
import { loadSuite, type Thresholds } from '../../analyzers/ci/suite.js';
import { writeFileAtomic } from '../../formats/atomic.js';
import { ciJson } from '../ci/json.js';
import { ciText } from '../ci/text.js';
import { progress } from '../render/progress.js';
import { EXIT_CHECK_FAILED, EXIT_OK, out, UsageError } from '../run.js';
import { writeErr } from '../stdio.js';

export interface CiCliOptions {
  readonly baseline?: string;
  readonly updateBaseline?: boolean;
  readonly junit?: string;
  readonly json?: boolean;
  readonly shard?: string;
  readonly out?: string;
  readonly jobs?: string;
}

const STAGE: Record<Stage, string> = { ingest: 'ingesting', gen: 'generating', replay: 'replaying' };

/** `ci SUITE` or `ci merge DIR...`. */
export async function ciCommand(first: string, rest: string[], opts: CiCliOptions): Promise<number> {
  if (first === 'merge') return mergeCommand(rest, opts);
  if (rest.length > 0) throw new UsageError(`ci takes one suite file (or: ci merge DIR...); got also ${rest.join(', ')}`);
  return suiteCommand(first, opts);
}

function loadBaselineFor(file: string, update: boolean | undefined): Baseline | undefined {
  if (update && !existsSync(file)) return undefined;
  try {
    return readBaseline(file);
  } catch (e) {
    if (!update) throw e; // rewriting a broken baseline is how it is repaired
    return undefined;
  }
}

async function suiteCommand(suiteFile: string, opts: CiCliOptions): Promise<number> {
  const shard = opts.shard !== undefined ? parseShard(opts.shard) : undefined;
  const jobs = opts.jobs !== undefined ? Number(opts.jobs) : 1;
  if (!(Number.isInteger(jobs) && jobs >= 1)) throw new UsageError(`--jobs: expected a whole number >= 1, got ${opts.jobs}`);
  if (shard && opts.updateBaseline) throw new UsageError('--update-baseline needs the whole suite: run it unsharded, or on ci merge');
  const suite = await loadSuite(suiteFile);
  const baselineFile = opts.baseline ?? suite.baseline ?? join(dirname(suiteFile), 'baseline.json');
  const baseline = loadBaselineFor(baselineFile, opts.updateBaseline);
  const workDir = mkdtempSync(join(tmpdir(), 'invtrace-ci-'));
  const p = progress(opts.json ? undefined : 'ci', 'events replayed');
  const t0 = performance.now();
  const started = new Date();
  const only = shard ? shardPlan(suite, shard) : undefined;
  const resultsDir = (i: number) => join(workDir, `results-${i}`);
  let runs: TraceRun[];
  try {
    runs = await runSuite(suite, {
      workDir,
      jobs,
      ...(only ? { only } : {}),
      ...(opts.out ? { resultsDir } : {}),
      onStage: (i, n, t, stage) =>
        p.stage(`ci${shard ? ` shard ${shard.index}/${shard.count}` : ''} [${i}/${n}] ${t.name}: ${STAGE[stage]}`),
      onProgress: p.update,
    });
    if (opts.out) {
      mkdirSync(opts.out, { recursive: true });
      writeShardFile(opts.out, {
        suite: suiteFile,
        baseline: baselineFile,
        thresholds: suite.thresholds,
        shard: shard ?? { index: 1, count: 1 },
        traces_in_suite: suite.traces.length,
        results_in_suite: resultCount(suite),
        runs,
      });
      const { writeDataset } = await import('../../analyzers/dataset/write.js');
      await writeDataset(
        opts.out,
        runs.map((r) => ({ name: r.trace.name, dir: resultsDir(r.index) })),
      );
      const results = runs.reduce((n, r) => n + r.policies.length, 0);
      writeErr(
        `wrote ${join(opts.out, 'ci-shard.json')} (${results} trace × policy results) and the Parquet dataset ${join(opts.out, 'table=*')}\n`,
      );
    }
  } finally {
    p.done();
    rmSync(workDir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - t0) / 1000;
  return judge(runs, { suite: suiteFile, baselineFile, baseline, thresholds: suite.thresholds, started, seconds }, opts);
}

async function mergeCommand(dirs: string[], opts: CiCliOptions): Promise<number> {
  if (opts.shard || opts.out || opts.jobs)
    throw new UsageError("ci merge takes the shards' output folders, --baseline, --junit, --json and --update-baseline");
  const t0 = performance.now();
  const started = new Date();
  const m = mergeShards(dirs);
  const baselineFile = opts.baseline ?? m.baseline;
  const baseline = loadBaselineFor(baselineFile, opts.updateBaseline);
  // The time the shards spent replaying, as an unsharded run would report it.
  const seconds = m.runs.reduce((s, r) => s + r.seconds, 0) + (performance.now() - t0) / 1000;
  return judge(m.runs, { suite: m.suite, baselineFile, baseline, thresholds: m.thresholds, started, seconds }, opts);
}

interface Judged {
  readonly suite: string;
  readonly baselineFile: string;
  readonly baseline: Baseline | undefined;
  readonly thresholds: Thresholds;
  readonly started: Date;
  readonly seconds: number;
}

/** The verdict, the JUnit file, the baseline update and the printed outcome. */
function judge(runs: readonly TraceRun[], j: Judged, opts: CiCliOptions): number {
  const cmp = compareRuns(runs, j.baseline, j.thresholds);
  if (opts.junit) writeFileAtomic(opts.junit, junitXml(runs, cmp, { suite: j.suite, timestamp: j.started, seconds: j.seconds }));
  if (opts.updateBaseline) writeBaseline(j.baselineFile, baselineOf(runs));
  const code = !opts.updateBaseline && cmp.counts.regression > 0 ? EXIT_CHECK_FAILED : EXIT_OK;
  const summary = {
    suite: j.suite,
    baseline: j.baselineFile,
    traces: runs.length,
    seconds: j.seconds,
    updated: opts.updateBaseline === true,
  };
  out(opts.json ? ciJson(cmp, summary, code) : ciText(cmp, summary));
  return code;
}
