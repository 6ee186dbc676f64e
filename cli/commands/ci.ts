// `invtrace ci SUITE [--baseline FILE] [--update-baseline] [--junit FILE] [--json]`: replays a
// suite of traces (docs/ci.md), compares every trace × policy with the baseline, prints the
// regressions and improvements, writes JUnit XML, and exits 1 on a regression or a new violation
// (0 otherwise; 2 on bad input). --update-baseline rewrites the baseline from this run.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { baselineOf, readBaseline, writeBaseline, type Baseline } from '../../analyzers/ci/baseline.js';
import { compareRuns } from '../../analyzers/ci/compare.js';
import { junitXml } from '../../analyzers/ci/junit.js';
import { runSuite, type Stage } from '../../analyzers/ci/run.js';
import { loadSuite } from '../../analyzers/ci/suite.js';
import { writeFileAtomic } from '../../formats/atomic.js';
import { ciJson } from '../ci/json.js';
import { ciText } from '../ci/text.js';
import { progress } from '../render/progress.js';
import { EXIT_CHECK_FAILED, EXIT_OK, out } from '../run.js';

export interface CiCliOptions {
  readonly baseline?: string;
  readonly updateBaseline?: boolean;
  readonly junit?: string;
  readonly json?: boolean;
}

const STAGE: Record<Stage, string> = { ingest: 'ingesting', gen: 'generating', replay: 'replaying' };

export async function ciCommand(suiteFile: string, opts: CiCliOptions): Promise<number> {
  const suite = await loadSuite(suiteFile);
  const baselineFile = opts.baseline ?? suite.baseline ?? join(dirname(suiteFile), 'baseline.json');
  let baseline: Baseline | undefined;
  if (!opts.updateBaseline || existsSync(baselineFile)) {
    try {
      baseline = readBaseline(baselineFile);
    } catch (e) {
      if (!opts.updateBaseline) throw e; // rewriting a broken baseline is how it is repaired
    }
  }
  const workDir = mkdtempSync(join(tmpdir(), 'invtrace-ci-'));
  const p = progress(opts.json ? undefined : 'ci', 'events replayed');
  const t0 = performance.now();
  const started = new Date();
  let runs;
  try {
    runs = await runSuite(suite, {
      workDir,
      onStage: (i, n, t, stage) => p.stage(`ci [${i}/${n}] ${t.name}: ${STAGE[stage]}`),
      onProgress: p.update,
    });
  } finally {
    p.done();
    rmSync(workDir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - t0) / 1000;
  const cmp = compareRuns(runs, baseline, suite.thresholds);
  if (opts.junit) writeFileAtomic(opts.junit, junitXml(runs, cmp, { suite: suiteFile, timestamp: started, seconds }));
  if (opts.updateBaseline) writeBaseline(baselineFile, baselineOf(runs));
  const code = !opts.updateBaseline && cmp.counts.regression > 0 ? EXIT_CHECK_FAILED : EXIT_OK;
  const summary = { suite: suiteFile, baseline: baselineFile, traces: runs.length, seconds, updated: opts.updateBaseline === true };
  out(opts.json ? ciJson(cmp, summary, code) : ciText(cmp, summary));
  return code;
}
