// One share of a parallel replay (parallel.ts): replays its policies, reading bare hardware's
// facts from its own thread (bare-thread.ts) or with bare hardware of its own, and spills every result row with the position it takes in the serial order (event ordinal,
// phase) to scratch files the main thread merges; returns the summaries. Run in a worker thread
// (worker.ts) for every share but the first, which the main thread runs itself (its modules are
// loaded already, so the largest share does not wait for a thread to start).

import { join } from 'node:path';
import type { InputError } from '../formats/result.js';
import { openTrace } from '../formats/trace/io.js';
import type { PolicySummary } from './summary.js';
import { loadCosts } from './cost/params.js';
import { bareOutput, replayRuns, type ReplayPhase } from './replayer.js';
import { kitFor } from './kits.js';
import type { HostOpsRowSink } from './ledger.js';
import { resolvePolicies } from './policies/index.js';
import type { RunSinks } from './policy-run.js';
import { CompletionsSpill, HostOpsSpill, LineSpill } from './spill.js';
import { OP_KINDS } from './tables.js';
import { resolveTopology } from './topology.js';
import { BareStopped } from './bare-facts.js';
import type { BareFeed } from './bare-launch.js';

export interface ShareSpec {
  readonly index: number;
  readonly trace: string;
  readonly policies: readonly string[];
  readonly topologyFile?: string;
  readonly costsFile?: string;
  readonly scratch: string;
  readonly tables: boolean;
  readonly progress: boolean;
  /**
   * One Int32 shared by every share of a replay: the first share that fails sets it to its
   * index + 1, and every share reads it after each trace batch and stops (ShareStopped) once it is
   * set. The main thread's share runs without yielding to its event loop, so a worker's error
   * message would otherwise wait for it to end.
   */
  readonly stop?: SharedArrayBuffer;
  /** This share's end of bare hardware's thread (computed once for every share); absent: its own bare hardware. */
  readonly bare?: BareFeed;
}

/** A share stopped because another share of the same replay failed (its error is the one to report). */
export class ShareStopped extends Error {
  constructor() {
    super('replay share stopped: another share failed');
  }
}

export type ShareMessage =
  | { readonly type: 'progress'; readonly rows: number }
  | {
      readonly type: 'done';
      readonly events: number;
      readonly doorbells: number;
      readonly summaries: readonly PolicySummary[];
      readonly bare: ReturnType<typeof bareOutput>;
      readonly records: { readonly hostOps: number; readonly completions: number };
    }
  | { readonly type: 'error'; readonly input?: InputError; readonly message?: string; readonly stack?: string };

/** What a share hands back: its summaries, bare hardware's output and how many records it spilled. */
export type ShareDone = Extract<ShareMessage, { type: 'done' }>;

export function shareFiles(scratch: string, index: number) {
  return {
    hostOps: join(scratch, `share-${index}-host_ops.bin`),
    completions: join(scratch, `share-${index}-completions.bin`),
    violations: join(scratch, `share-${index}-violations.jsonl`),
  };
}

/**
 * Replays `spec`'s share; `onProgress` (at most every 50 ms) with the rows done so far. A failure
 * sets `spec.stop` (if no share has yet); a share that finds it set stops with ShareStopped.
 */
export async function replayShare(spec: ShareSpec, onProgress?: (rows: number) => void): Promise<ShareDone> {
  const stop = spec.stop === undefined ? undefined : new Int32Array(spec.stop);
  try {
    return await replayShareRows(spec, stop, onProgress);
  } catch (e) {
    // The first share to fail records its index + 1: its error is the one the replay reports.
    // A share stopped by another's failure (through the flag or bare hardware's ring) records nothing.
    if (stop !== undefined && !(e instanceof ShareStopped) && !(e instanceof BareStopped))
      Atomics.compareExchange(stop, 0, 0, spec.index + 1);
    throw e;
  }
}

async function replayShareRows(spec: ShareSpec, stop: Int32Array | undefined, onProgress?: (rows: number) => void): Promise<ShareDone> {
  const trace = await openTrace(spec.trace);
  const [topology, costs, policies] = await Promise.all([
    resolveTopology(trace, spec.topologyFile),
    loadCosts(spec.costsFile),
    resolvePolicies(spec.policies),
  ]);
  const local = new Map(policies.map((p, i) => [p.name, i]));
  const files = shareFiles(spec.scratch, spec.index);
  const at: ReplayPhase = { phase: 0, event: 0 };
  let hostOps: HostOpsSpill | undefined;
  let completions: CompletionsSpill | undefined;
  let violations: LineSpill | undefined;
  let sinks: RunSinks = {};
  if (spec.tables) {
    const ops = (hostOps = new HostOpsSpill(files.hostOps, OP_KINDS));
    const comps = (completions = new CompletionsSpill(files.completions));
    const viol = (violations = new LineSpill(files.violations));
    let policy = 0;
    let seq = 0;
    const write: HostOpsRowSink = (kind, iommu, count, entries, bytes, cost) =>
      ops.push(at.event, policy, seq, kind, iommu, count, entries, bytes, cost);
    sinks = {
      hostOps: (name, s) => {
        policy = local.get(name)!;
        seq = s;
        return write;
      },
      violation: (name, v) => viol.push(JSON.stringify([at.phase, at.event, local.get(name)!, v.seq, v.kind, v.scope, v.explanation])),
      completion: (name, s, slot, doorbellSeq, done, refDone, latency, commands) =>
        comps.push(local.get(name)!, s, slot, doorbellSeq, done, refDone, latency, commands),
    };
  }
  let last = 0;
  let r: Awaited<ReturnType<typeof replayRuns>>;
  // The spills are closed whether the share ends or fails (a stopped share too).
  try {
    r = await replayRuns(
      trace,
      {
        kit: kitFor(trace.header.arch),
        topology,
        costs,
        policies,
        ...(spec.bare !== undefined ? { bareFeed: spec.bare } : {}),
        ...(onProgress !== undefined || stop !== undefined
          ? {
              // After each trace batch.
              onProgress: (rows: number) => {
                if (stop !== undefined && Atomics.load(stop, 0) !== 0) throw new ShareStopped();
                const now = Date.now();
                if (onProgress === undefined || now - last < 50) return;
                last = now;
                onProgress(rows);
              },
            }
          : {}),
      },
      sinks,
      at,
    );
  } finally {
    hostOps?.close();
    completions?.close();
    violations?.close();
  }
  return {
    type: 'done',
    events: r.events,
    doorbells: r.doorbells,
    summaries: r.summaries,
    bare: bareOutput(r.bare),
    records: { hostOps: hostOps?.records ?? 0, completions: completions?.records ?? 0 },
  };
}
