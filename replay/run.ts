// One call for the CLI, the demo and CI: open a trace, resolve its topology, costs and policies,
// pick the architecture's replay kit, replay — in this thread, or with the policies spread over
// worker threads (parallel.ts) — and (with an output folder) write the result tables plus a
// replay.json with the summary. Both ways write the same bytes.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../formats/atomic.js';
import { InputFault } from '../formats/result.js';
import { openTrace } from '../formats/trace/io.js';
import { queueDevices } from '../formats/trace/queues.js';
import { loadCosts, oneVmCosts } from './cost/params.js';
import { replayTrace, type ReplayOutput } from './replayer.js';
import { kitFor } from './kits.js';
import { replayParallel } from './parallel.js';
import { partitionAvailable, resolvePolicies } from './policies/index.js';
import { launchBareEarly, replayBareThread, replayJobs, type BareLaunch } from './bare-launch.js';
import { resolveTopology } from './topology.js';

export interface RunOptions {
  readonly policies: readonly string[];
  readonly topologyFile?: string;
  readonly costsFile?: string;
  readonly outDir?: string;
  readonly onProgress?: (rows: number) => void;
  /**
   * Worker threads the policies are spread over; 1 replays in this thread. Default: one per core
   * (at most one per policy) for traces of PARALLEL_BYTES or more, else 1.
   */
  readonly jobs?: number;
  /**
   * Bare hardware on a thread of its own (bare-thread.ts). Policies in this thread: by default
   * when neither --jobs nor this asks otherwise, with two cores or more and a trace of
   * PARALLEL_BYTES or more; `jobs: 1` keeps everything on one thread. Policies in shares
   * (parallel.ts): computed once for every share unless this is false.
   */
  readonly bareThread?: boolean;
  /**
   * Bare hardware's thread, launched by the caller before it loaded the engine (launchBareEarly,
   * cli/program.ts) with these same options and path; ended with the replay, used or not.
   */
  readonly bareLaunch?: BareLaunch;
}

export { PARALLEL_BYTES, replayBareThread, replayJobs } from './bare-launch.js';

export async function runReplay(path: string, opts: RunOptions): Promise<ReplayOutput> {
  const launch = opts.bareLaunch ?? launchBareEarly(path, opts);
  try {
    return await replayWith(path, opts, launch);
  } finally {
    launch?.stop();
  }
}

async function replayWith(path: string, opts: RunOptions, launch: BareLaunch | undefined): Promise<ReplayOutput> {
  const trace = await openTrace(path);
  const [topology, costs, asked] = await Promise.all([
    resolveTopology(trace, opts.topologyFile),
    loadCosts(opts.costsFile),
    resolvePolicies(opts.policies),
  ]);
  if (topology.topology.devices.length === 0) {
    throw new InputFault({ file: path, message: 'no devices: the trace names none and the header has no topology (give --topology FILE)' });
  }
  // A policy that cannot run on this topology (hw-direct over several physical IOMMUs) is left out, with why.
  const queues =
    trace.header.queues === undefined ? undefined : queueDevices(trace.header, topology.topology, { file: path, source: topology.source });
  const { run: policies, leftOut } = partitionAvailable(asked, topology.topology, queues);
  if (opts.outDir !== undefined) mkdirSync(opts.outDir, { recursive: true });
  const jobs = replayJobs(path, policies.length, opts.jobs);
  const out =
    jobs > 1
      ? await replayParallel(trace, topology, {
          policies: policies.map((p) => p.name),
          jobs,
          ...(opts.bareThread !== undefined ? { bareThread: opts.bareThread } : {}),
          ...(launch !== undefined ? { bareLaunch: launch } : {}),
          ...(opts.topologyFile !== undefined ? { topologyFile: opts.topologyFile } : {}),
          ...(opts.costsFile !== undefined ? { costsFile: opts.costsFile } : {}),
          ...(opts.outDir !== undefined ? { outDir: opts.outDir } : {}),
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        })
      : await replayTrace(trace, {
          kit: kitFor(trace.header.arch),
          topology,
          costs,
          policies,
          // The thread launched early, when it was launched for this thread's policies (one reader).
          bareThread: replayBareThread(path, jobs, opts) && (launch?.readers === 1 ? launch : true),
          ...(opts.outDir !== undefined ? { outDir: opts.outDir } : {}),
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        });
  const full: ReplayOutput = { ...out, left_out: leftOut };
  if (opts.outDir !== undefined) {
    writeFileAtomic(join(opts.outDir, 'replay.json'), `${JSON.stringify({ ...full, costs: oneVmCosts(costs) }, null, 2)}\n`);
  }
  return full;
}

/**
 * A replay folder's replay.json, as runReplay wrote it: the output, and the cost parameters it was
 * replayed with (`costs`, kept apart). Not JSON, or not replay's shape: a one-line InputFault.
 */
export function readReplayJson(folder: string): { readonly output: ReplayOutput; readonly costs?: Record<string, number> } {
  const file = join(folder, 'replay.json');
  let json: ReplayOutput & { costs?: Record<string, number> };
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as typeof json;
  } catch (e) {
    throw new InputFault({ file, message: `not valid JSON (${(e as Error).message})` });
  }
  if (!Array.isArray(json.policies) || typeof json.trace !== 'string')
    throw new InputFault({ file, field: 'policies', message: 'not a replay.json written by invtrace replay' });
  const { costs, ...output } = json;
  return costs === undefined ? { output } : { output, costs };
}
