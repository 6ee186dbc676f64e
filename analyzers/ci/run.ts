// Runs a CI suite: each trace made ready (an .arrow as it is; captures and JSONL scenarios
// ingested, generator specs generated, into a work folder) and replayed under its policies, each
// policy's summary kept under its key (the alias, or the spec itself). A shard runs only its share
// (shard.ts); `jobs` > 1 replays that many traces at once, each in a worker thread (worker.ts);
// `resultsDir` keeps each trace's result tables (for the Parquet dataset of ci --out).

import { join } from 'node:path';
import { ingest } from '../../formats/ingest/ingest.js';
import { InputFault } from '../../formats/result.js';
import { workerJob, workerScript, type WorkerJob } from '../../formats/worker-job.js';
import type { PolicySummary } from '../../replay/replayer.js';
import { runReplay } from '../../replay/run.js';
import { generate, plan } from '../../samples/gen/generate.js';
import type { Suite, SuiteTrace } from './suite.js';

export interface PolicyRun {
  readonly key: string;
  readonly spec: string;
  /** Its position in the trace's policy list (shards are merged back in this order). */
  readonly index: number;
  readonly summary: PolicySummary;
}

export interface TraceRun {
  readonly trace: SuiteTrace;
  /** Its position in the suite. */
  readonly index: number;
  readonly arch: string;
  readonly events: number;
  readonly doorbells: number;
  readonly seconds: number;
  readonly policies: readonly PolicyRun[];
  /** Policies (suite keys) that cannot run on this trace's topology, and why (docs/hosts.md). */
  readonly leftOut: readonly { readonly key: string; readonly spec: string; readonly why: string }[];
}

export type Stage = 'ingest' | 'gen' | 'replay';

export interface RunSuiteOptions {
  /** Folder for ingested and generated traces. */
  readonly workDir: string;
  /** A trace's stage starts: `index` counts from 1. */
  readonly onStage?: (index: number, total: number, trace: SuiteTrace, stage: Stage) => void;
  /** Trace rows replayed so far (within the current trace). */
  readonly onProgress?: (rows: number) => void;
  /** Only these traces (suite index) and, for each, these policies (indices into its list). */
  readonly only?: ReadonlyMap<number, readonly number[]>;
  /** Keep each trace's result tables in this folder. */
  readonly resultsDir?: (index: number, trace: SuiteTrace) => string;
  /** Traces replayed at once, each in a worker thread (default 1: in this thread). */
  readonly jobs?: number;
}

/** Makes a suite trace ready to replay; returns its .arrow path. */
async function traceFile(t: SuiteTrace, index: number, o: RunSuiteOptions, total: number): Promise<string> {
  const out = join(o.workDir, `${index}-${t.name.replace(/[^A-Za-z0-9._-]+/g, '_')}.arrow`);
  switch (t.source.kind) {
    case 'trace':
      return t.source.file;
    case 'ingest':
      o.onStage?.(index, total, t, 'ingest');
      await ingest(t.source.files, { output: out });
      return out;
    case 'gen': {
      o.onStage?.(index, total, t, 'gen');
      const p = plan(t.source.workload, t.source.options);
      if (!p.ok) throw new InputFault({ ...p.error, field: `${t.name}: ${p.error.field ?? 'gen'}` });
      await generate(p.value, out);
      return out;
    }
  }
}

/** What one trace's run needs (plain data: it crosses to a worker thread). */
export interface TraceJob {
  readonly index: number;
  readonly total: number;
  readonly trace: SuiteTrace;
  readonly policies: readonly number[];
  readonly workDir: string;
  readonly costs?: string;
  readonly resultsDir?: string;
}

/** Replays one trace under the chosen policies. */
export async function runTrace(job: TraceJob, o: Pick<RunSuiteOptions, 'onStage' | 'onProgress'> = {}): Promise<TraceRun> {
  const t = job.trace;
  const t0 = performance.now();
  const file = await traceFile(t, job.index + 1, { ...o, workDir: job.workDir }, job.total);
  o.onStage?.(job.index + 1, job.total, t, 'replay');
  const chosen = job.policies.map((i) => ({ ...t.policies[i]!, index: i }));
  // A spec listed under two keys replays once.
  const specs = [...new Set(chosen.map((p) => p.spec))];
  const r = await runReplay(file, {
    policies: specs,
    ...(t.topology ? { topologyFile: t.topology } : {}),
    ...(job.costs ? { costsFile: job.costs } : {}),
    ...(job.resultsDir ? { outDir: job.resultsDir } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  const bySpec = new Map(r.policies.map((p) => [p.policy, p]));
  return {
    trace: t,
    index: job.index,
    arch: r.arch,
    events: r.events,
    doorbells: r.doorbells,
    seconds: (performance.now() - t0) / 1000,
    // A policy left out of this trace (hw-direct over several physical IOMMUs) has no run.
    policies: chosen
      .filter((p) => bySpec.has(p.spec))
      .map((p) => ({ key: p.key, spec: p.spec, index: p.index, summary: bySpec.get(p.spec)! })),
    leftOut: chosen.flatMap((p) => {
      const why = (r.left_out ?? []).find((l) => l.policy === p.spec)?.why;
      return why === undefined ? [] : [{ key: p.key, spec: p.spec, why }];
    }),
  };
}

function jobsOf(suite: Suite, o: RunSuiteOptions): TraceJob[] {
  const jobs: TraceJob[] = [];
  for (const [i, t] of suite.traces.entries()) {
    const policies = o.only ? o.only.get(i) : t.policies.map((_p, j) => j);
    if (policies === undefined || policies.length === 0) continue;
    jobs.push({
      index: i,
      total: suite.traces.length,
      trace: t,
      policies,
      workDir: o.workDir,
      ...(suite.costs ? { costs: suite.costs } : {}),
      ...(o.resultsDir ? { resultsDir: o.resultsDir(i, t) } : {}),
    });
  }
  return jobs;
}

export async function runSuite(suite: Suite, o: RunSuiteOptions): Promise<TraceRun[]> {
  const jobs = jobsOf(suite, o);
  if ((o.jobs ?? 1) <= 1) {
    const runs: TraceRun[] = [];
    for (const job of jobs) runs.push(await runTrace(job, o));
    return runs;
  }
  return runInWorkers(jobs, o.jobs!, o);
}

/** Messages from worker.ts. */
export type WorkerMessage =
  | { readonly type: 'stage'; readonly stage: Stage }
  | { readonly type: 'progress'; readonly rows: number }
  | { readonly type: 'done'; readonly run: TraceRun }
  | { readonly type: 'error'; readonly message: string; readonly input: boolean };

/** Runs the jobs `n` at a time in worker threads; results in suite order; the first error stops the rest. */
async function runInWorkers(jobs: readonly TraceJob[], n: number, o: RunSuiteOptions): Promise<TraceRun[]> {
  const results = new Array<TraceRun>(jobs.length);
  let next = 0;
  let failed: { readonly error: unknown } | undefined; // boxed: a job may throw anything, even undefined
  const live = new Set<WorkerJob<unknown>>();
  const one = async (k: number) => {
    const job = jobs[k]!;
    const w = workerJob<WorkerMessage>(
      workerScript(import.meta.url, 'analyzers/ci/worker.js'),
      { workerData: job },
      {
        note: (m) => (m.type === 'stage' ? o.onStage?.(job.index + 1, job.total, job.trace, m.stage) : o.onProgress?.(m.rows)),
        exitMessage: (code) => `ci worker for ${job.trace.name} ended with exit code ${code}`,
      },
    );
    live.add(w);
    try {
      results[k] = (await w.done).run;
    } finally {
      live.delete(w);
    }
  };
  const lane = async () => {
    while (failed === undefined && next < jobs.length) {
      const k = next++;
      try {
        await one(k);
      } catch (e) {
        failed ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, lane));
  for (const w of live) await w.terminate();
  if (failed !== undefined) throw failed.error;
  return results;
}
