// One call for the CLI, the demo and CI: open a trace, resolve its topology, costs and policies,
// pick the architecture's replay kit, replay — in this thread, or with the policies spread over
// worker threads (parallel.ts) — and (with an output folder) write the result tables plus a
// replay.json with the summary. Both ways write the same bytes.

import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../formats/atomic.js';
import { InputFault } from '../formats/result.js';
import { openTrace } from '../formats/trace/io.js';
import { queueDevices } from '../formats/trace/queues.js';
import { loadCosts, oneVmCosts } from './cost/params.js';
import { replayTrace, type ReplayOutput } from './replayer.js';
import { kitFor } from './kits.js';
import { replayParallel } from './parallel.js';
import { expandPolicies, partitionAvailable, resolvePolicies } from './policies/index.js';
import { BareLaunch } from './bare-thread.js';
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
}

/** Below this trace size a worker's start-up costs more than the policies it would take over. */
export const PARALLEL_BYTES = 4 << 20;

/** How many threads a replay of `policies` policies on `path` uses. */
export function replayJobs(path: string, policies: number, jobs?: number): number {
  if (jobs !== undefined) return Math.max(1, Math.min(jobs, policies));
  if (policies < 2 || statSync(path).size < PARALLEL_BYTES) return 1;
  return Math.max(1, Math.min(availableParallelism(), policies));
}

/** Whether a replay whose policies run in this thread (`jobs` 1) puts bare hardware on a thread of its own. */
export function replayBareThread(path: string, jobs: number, opts: Pick<RunOptions, 'jobs' | 'bareThread'>): boolean {
  if (jobs > 1) return false;
  if (opts.bareThread !== undefined) return opts.bareThread;
  return opts.jobs === undefined && availableParallelism() >= 2 && statSync(path).size >= PARALLEL_BYTES;
}

/**
 * Bare hardware's thread launched before the trace is opened, when the policies named will run in
 * this thread and replayBareThread will say yes (a guess from the names: a policy left out later
 * only leaves the thread unused); it loads its modules meanwhile.
 */
function launchEarly(path: string, opts: RunOptions): BareLaunch | undefined {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return undefined; // openTrace reports it
  }
  const named = expandPolicies(opts.policies).length;
  const jobs = opts.jobs !== undefined ? Math.max(1, Math.min(opts.jobs, named)) : named < 2 || size < PARALLEL_BYTES ? 1 : 2;
  return replayBareThread(path, jobs, opts) ? new BareLaunch() : undefined;
}

export async function runReplay(path: string, opts: RunOptions): Promise<ReplayOutput> {
  const launch = launchEarly(path, opts);
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
          bareThread: replayBareThread(path, jobs, opts) && (launch ?? true),
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
