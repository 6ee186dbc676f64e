// Runs a CI suite: each trace made ready (an .arrow as it is; captures and JSONL scenarios
// ingested, generator specs generated, into a work folder) and replayed under its policies, each
// policy's summary kept under its key (the alias, or the spec itself).

import type { LeftOut } from '../../replay/summary.js';
import { join } from 'node:path';
import { ingest } from '../../formats/ingest/ingest.js';
import { InputFault } from '../../formats/result.js';
import type { PolicySummary } from '../../replay/engine.js';
import { runReplay } from '../../replay/run.js';
import { generate, plan } from '../../samples/gen/generate.js';
import type { Suite, SuiteTrace } from './suite.js';

export interface PolicyRun {
  readonly key: string;
  readonly spec: string;
  readonly summary: PolicySummary;
}

export interface TraceRun {
  readonly trace: SuiteTrace;
  readonly arch: string;
  readonly events: number;
  readonly doorbells: number;
  readonly seconds: number;
  readonly policies: readonly PolicyRun[];
  /** Policies of the suite that cannot run on this trace's topology, and why (docs/hosts.md). */
  readonly leftOut: readonly LeftOut[];
}

export type Stage = 'ingest' | 'gen' | 'replay';

export interface RunSuiteOptions {
  /** Folder for ingested and generated traces. */
  readonly workDir: string;
  /** A trace's stage starts: `index` counts from 1. */
  readonly onStage?: (index: number, total: number, trace: SuiteTrace, stage: Stage) => void;
  /** Trace rows replayed so far (within the current trace). */
  readonly onProgress?: (rows: number) => void;
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

export async function runSuite(suite: Suite, o: RunSuiteOptions): Promise<TraceRun[]> {
  const runs: TraceRun[] = [];
  for (const [i, t] of suite.traces.entries()) {
    const t0 = performance.now();
    const file = await traceFile(t, i + 1, o, suite.traces.length);
    o.onStage?.(i + 1, suite.traces.length, t, 'replay');
    // A spec listed under two keys replays once.
    const specs = [...new Set(t.policies.map((p) => p.spec))];
    const r = await runReplay(file, {
      policies: specs,
      ...(t.topology ? { topologyFile: t.topology } : {}),
      ...(suite.costs ? { costsFile: suite.costs } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    const bySpec = new Map(r.policies.map((p) => [p.policy, p]));
    runs.push({
      trace: t,
      arch: r.arch,
      events: r.events,
      doorbells: r.doorbells,
      seconds: (performance.now() - t0) / 1000,
      // A policy left out of this trace (hw-direct over several physical IOMMUs) has no run.
      policies: t.policies.filter((p) => bySpec.has(p.spec)).map((p) => ({ key: p.key, spec: p.spec, summary: bySpec.get(p.spec)! })),
      leftOut: r.left_out ?? [],
    });
  }
  return runs;
}
