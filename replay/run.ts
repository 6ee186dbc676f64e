// One call for the CLI, the demo and CI: open a trace, resolve its topology, costs and policies,
// pick the architecture's replay kit, replay, and (with an output folder) write the result tables
// plus a replay.json with the summary.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../formats/atomic.js';
import { InputFault } from '../formats/result.js';
import { openTrace } from '../formats/trace/io.js';
import { loadCosts } from './cost/params.js';
import { replayTrace, type ReplayOutput } from './engine.js';
import { kitFor } from './kits.js';
import { resolvePolicies } from './policies/index.js';
import { resolveTopology } from './topology.js';

export interface RunOptions {
  readonly policies: readonly string[];
  readonly topologyFile?: string;
  readonly costsFile?: string;
  readonly outDir?: string;
  readonly onProgress?: (rows: number) => void;
}

export async function runReplay(path: string, opts: RunOptions): Promise<ReplayOutput> {
  const trace = await openTrace(path);
  const [topology, costs, policies] = await Promise.all([
    resolveTopology(trace, opts.topologyFile),
    loadCosts(opts.costsFile),
    resolvePolicies(opts.policies),
  ]);
  if (topology.topology.devices.length === 0) {
    throw new InputFault({ file: path, message: 'no devices: the trace names none and the header has no topology (give --topology FILE)' });
  }
  if (opts.outDir !== undefined) mkdirSync(opts.outDir, { recursive: true });
  const out = await replayTrace(trace, {
    kit: kitFor(trace.header.arch),
    topology,
    costs,
    policies,
    ...(opts.outDir !== undefined ? { outDir: opts.outDir } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  if (opts.outDir !== undefined) {
    writeFileAtomic(join(opts.outDir, 'replay.json'), `${JSON.stringify({ ...out, costs }, null, 2)}\n`);
  }
  return out;
}
