// Launching bare hardware's thread (bare-worker.ts), apart from reading it (bare-thread.ts), and
// whether a replay wants one and on how many threads: this module loads nothing heavy, so the command line can launch the
// thread before it loads the replay engine (cli/program.ts), and the thread's own start-up (its
// modules: apache-arrow, the emulators) overlaps the command's instead of coming after it.

import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { workerScript } from '../formats/worker-job.js';
import { factRing, MAX_READERS } from './fact-ring.js';
import { expandPolicies } from './policies/names.js';
import type { ResolvedTopology } from './topology.js';

/** What bare hardware's thread is given at its start (workerData): one port per reader. */
export interface BareThreadData {
  readonly ring: SharedArrayBuffer;
  readonly ports: readonly MessagePort[];
}

/** What it is told to replay (the first message on its first port). */
export interface BareThreadSpec {
  readonly trace: string;
  readonly topology: ResolvedTopology;
}

/** One reader's end of bare hardware's thread: can be sent to another thread (its port transferred). */
export interface BareFeed {
  readonly ring: SharedArrayBuffer;
  readonly port: MessagePort;
  readonly reader: number;
}

/** A bare hardware thread launched and not yet told what to replay. */
export class BareLaunch {
  private readonly ring: SharedArrayBuffer;
  private readonly ports: MessagePort[];
  private readonly worker: Worker;
  private begun = false;
  private stopped = false;

  constructor(
    /** Readers of its facts: this thread's policies (1), or each share of a parallel run (parallel.ts). */
    readonly readers = 1,
    ringWords?: number,
  ) {
    this.ring = factRing(ringWords, readers);
    const channels = Array.from({ length: readers }, () => new MessageChannel());
    this.ports = channels.map((c) => c.port1);
    const theirs = channels.map((c) => c.port2);
    const data: BareThreadData = { ring: this.ring, ports: theirs };
    this.worker = new Worker(workerScript(import.meta.url, 'replay/bare-worker.js'), { workerData: data, transferList: theirs });
    // Its failures come through the ring and the ports, read synchronously; these events would
    // arrive only once this thread yields, after the readers have read the failure.
    this.worker.on('error', () => {});
    this.worker.unref();
  }

  /** Bare hardware on `trace`: one feed per reader. */
  begin(trace: string, topology: ResolvedTopology): BareFeed[] {
    if (this.begun || this.stopped) throw new Error('bare hardware thread: begun twice or after its end');
    this.begun = true;
    const spec: BareThreadSpec = { trace, topology };
    this.ports[0]!.postMessage(spec);
    return this.ports.map((port, reader) => ({ ring: this.ring, port, reader }));
  }

  /** Ends the thread (after the replay, when it failed, or when it was not needed). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of this.ports) p.close();
    void this.worker.terminate();
  }
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
export function replayBareThread(path: string, jobs: number, opts: { readonly jobs?: number; readonly bareThread?: boolean }): boolean {
  if (jobs > 1) return false;
  if (opts.bareThread !== undefined) return opts.bareThread;
  return opts.jobs === undefined && availableParallelism() >= 2 && statSync(path).size >= PARALLEL_BYTES;
}

/**
 * Whether the `jobs` shares of a parallel run read bare hardware from a thread of its own (else each
 * share replays bare hardware itself, beside its policies). `bareThread` when the caller says;
 * otherwise only when a core is left for that thread: with a share on every core it is one busy
 * thread more than there are cores, and its isolate's start, compiles and heap (TurboFan, page
 * faults, module loading: ~0.5 s of CPU on the bench's 1M-command trace) cost more than replaying
 * bare hardware again in each share. Measured on 2 cores, all nine policies on g1m (docs/replayer.md,
 * fifteenth pass): 4.71 s wall, 8.9 s CPU with bare hardware in each share against 4.95 s, 9.5 s
 * with its thread (median of 4 alternated runs each).
 */
export function sharesBareThread(jobs: number, opts: { readonly bareThread?: boolean }): boolean {
  if (jobs > MAX_READERS || opts.bareThread === false) return false;
  return opts.bareThread === true || jobs < availableParallelism();
}

/**
 * Bare hardware's thread launched before the trace is opened, when the replay will want one (a
 * guess from the names: a policy left out later may leave it unused): for the policies in this
 * thread when replayBareThread will say yes, or for the shares of a parallel run, one reader each
 * (replayJobs, parallel.ts). It loads its modules meanwhile.
 */
export function launchBareEarly(
  path: string,
  opts: { readonly policies: readonly string[]; readonly jobs?: number; readonly bareThread?: boolean },
): BareLaunch | undefined {
  try {
    statSync(path);
  } catch {
    return undefined; // openTrace reports it
  }
  const jobs = replayJobs(path, expandPolicies(opts.policies).length, opts.jobs);
  if (jobs > 1) return sharesBareThread(jobs, opts) ? new BareLaunch(jobs) : undefined;
  return replayBareThread(path, jobs, opts) ? new BareLaunch() : undefined;
}
