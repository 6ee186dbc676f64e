// The replay engine: one streaming pass over a trace feeds the guest queue (guest-queue.ts), event
// by event, to bare hardware (reference.ts, what the oracle compares against) and to one run per
// policy (policy-run.ts), each with its own VMM, host model and physical IOMMUs. Doorbells publish
// entries at the recorded slots, wraps included. Everything is synchronous and ordered, so the
// same inputs give byte-identical tables; rows stream to the result files as they are made.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { traceRows, type OpenTrace } from '../formats/trace/io.js';
import { Latencies } from './completions.js';
import { compileCosts } from './cost/model.js';
import type { Costs } from './cost/params.js';
import { dispatchTrace, type TraceHandlers } from './feed.js';
import { guestLanes, guestQueues, type BareQueueLane } from './lanes.js';
import type { ReplayKit } from './host.js';
import type { HostOpsRowSink } from './ledger.js';
import { PolicyRun, type QueueLane, type RunShared, type RunSinks } from './policy-run.js';
import type { ResolvedPolicy } from './policies/index.js';
import type { BareTotals } from './bare.js';
import type { FactEvents } from './bare-facts.js';
import { BareLaunch, type BareFeed } from './bare-launch.js';
import { attachBare, type BareReader } from './bare-thread.js';
import { hostOpsRowWriter, ReplayTables } from './results.js';
import type { PolicySummary, ReplayOutput } from './summary.js';
import { completionsSpec, hostOpsSpec, SUMMARY_COUNTS, summarySpec, violationsSpec } from './tables.js';
import type { ResolvedTopology } from './topology.js';

export type { PolicySummary, ReplayOutput } from './summary.js';

export interface ReplayOptions {
  readonly kit: ReplayKit;
  readonly topology: ResolvedTopology;
  readonly costs: Costs;
  readonly policies: readonly ResolvedPolicy[];
  /** Write host_ops, completions, violations and summary tables here. */
  readonly outDir?: string;
  /** Called after each trace batch with the rows done so far. */
  readonly onProgress?: (rows: number) => void;
  /**
   * Bare hardware on a thread of its own, ahead of the policies (bare-thread.ts), instead of in this
   * thread beside them: true, or a thread launched already (it is ended with the replay). The
   * tables are the same bytes.
   */
  readonly bareThread?: boolean | BareLaunch;
  /** Instead: one reader's end of bare hardware's thread launched by another (parallel.ts). */
  readonly bareFeed?: BareFeed;
}

/** Row writers onto the result tables, each reusing one row array. */
export function tableSinks(t: ReplayTables): RunSinks {
  const pushOp = hostOpsRowWriter(t.hostOps);
  let opPolicy = '';
  let opSeq = 0;
  let opSink: HostOpsRowSink | undefined;
  const write: HostOpsRowSink = (kind, iommu, count, entries, bytes, cost) =>
    pushOp(opPolicy, opSeq, kind, iommu, count, entries, bytes, cost);
  const vRow = new Array<string | number>(5);
  const cRow = new Array<string | number | boolean | null>(8);
  return {
    hostOps: (policy, seq) => {
      opPolicy = policy;
      opSeq = seq;
      return (opSink ??= write);
    },
    violation: (policy, v) => {
      vRow[0] = policy;
      vRow[1] = v.seq;
      vRow[2] = v.kind;
      vRow[3] = v.scope;
      vRow[4] = v.explanation;
      t.violations.push(vRow);
    },
    completion: (policy, seq, slot, doorbellSeq, done, refDone, latency, commands) => {
      cRow[0] = policy;
      cRow[1] = seq;
      cRow[2] = slot;
      cRow[3] = doorbellSeq;
      cRow[4] = done;
      cRow[5] = refDone;
      cRow[6] = latency;
      cRow[7] = commands;
      t.completions.push(cRow);
    },
  };
}

/**
 * Where the replay stands, for sinks that order rows from several threads: phase 0 while events
 * are dispatched (`event`: ordinal of the current event), 1 the final comparison, 2 each run's end.
 */
export interface ReplayPhase {
  phase: 0 | 1 | 2;
  event: number;
}

export interface ReplayedRuns {
  readonly events: number;
  readonly doorbells: number;
  /** Bare hardware on each guest queue, in queue id order (one for a one-queue trace). */
  readonly bare: readonly BareTotals[];
  readonly summaries: readonly PolicySummary[];
}

/**
 * The engine's handling of one trace's events: each to its guest queue (`lanes[queue]`), that
 * queue's bare hardware and every run (`at.event` counts them). Shared by replayRuns and the
 * shared-host replay, which feeds several VMs' events in an interleaved order (replay/shared-host/).
 */
export function traceHandlers(lanes: readonly BareQueueLane[], runs: readonly PolicyRun[], at: ReplayPhase): TraceHandlers {
  // A device fault reaches the bare unit of the queue the device sits behind.
  const laneOfSid = new Map<number, BareQueueLane>();
  for (const l of lanes) for (const d of l.topology.devices) laneOfSid.set(d.sid, l);
  return {
    command: (seq, slot, halves, cause, queue) => {
      at.event++;
      const { q, ref } = lanes[queue]!;
      ref.write(seq, slot);
      q.write(seq, slot, halves, cause);
      // A published entry bare hardware has not consumed, rewritten (Linux's recovery writes a
      // CMD_SYNC or a copy of its wait over the refused slot): the new command is published in its place.
      const pos = ref.republished(slot);
      if (pos !== undefined) for (const r of runs) r.republish(queue, pos);
    },
    doorbell: (seq, index, wrap, queue) => {
      at.event++;
      const { q, ref } = lanes[queue]!;
      const from = q.prod;
      const prod = q.doorbell(index, wrap);
      ref.doorbell(seq, index, wrap, from, prod);
      for (const r of runs) r.doorbell(queue, seq, prod);
    },
    ack: (seq, queue) => {
      at.event++;
      const { q, ref } = lanes[queue]!;
      ref.ack(seq);
      for (const r of runs) r.ack(queue, seq, q.prod);
    },
    fault: (_seq, sid, timedOut) => {
      at.event++;
      (laneOfSid.get(sid) ?? lanes[0]!).ref.fault(sid, timedOut);
      for (const r of runs) r.fault(sid, timedOut);
    },
  };
}

/**
 * The same with bare hardware in its own thread: each event as that thread read it from the trace,
 * after what bare hardware published for it is in the lanes' mirrors (bare-facts.ts).
 */
export function mirroredEvents(lanes: readonly QueueLane[], runs: readonly PolicyRun[], at: ReplayPhase): FactEvents {
  return {
    command: (seq, slot, halves, cause, queue, republished) => {
      at.event++;
      lanes[queue]!.q.write(seq, slot, halves, cause);
      if (republished >= 0) for (const r of runs) r.republish(queue, republished);
    },
    doorbell: (seq, index, wrap, queue) => {
      at.event++;
      const prod = lanes[queue]!.q.doorbell(index, wrap);
      for (const r of runs) r.doorbell(queue, seq, prod);
    },
    ack: (seq, queue) => {
      at.event++;
      const q = lanes[queue]!.q;
      for (const r of runs) r.ack(queue, seq, q.prod);
    },
    fault: (_seq, sid, timedOut) => {
      at.event++;
      for (const r of runs) r.fault(sid, timedOut);
    },
  };
}

/** The engine proper: every event to bare hardware and to each policy run; rows go to `sinks`. */
export async function replayRuns(
  trace: OpenTrace,
  opts: Omit<ReplayOptions, 'outDir'>,
  sinks: RunSinks,
  at: ReplayPhase = { phase: 0, event: 0 },
): Promise<ReplayedRuns> {
  const scratch = mkdtempSync(join(tmpdir(), 'invtrace-replay-'));
  const runs: PolicyRun[] = [];
  let bare: BareReader | undefined;
  const launch = opts.bareThread === true ? new BareLaunch() : opts.bareThread === false ? undefined : opts.bareThread;
  let ok = false;
  try {
    let lanes: QueueLane[];
    const feed = opts.bareFeed ?? launch?.begin(trace.path, opts.topology)[0];
    if (feed !== undefined) {
      const queues = guestQueues(trace, opts.topology);
      bare = attachBare(feed, queues);
      const mirrors = bare.facts.lanes;
      lanes = queues.map((l, k) => ({ ...l, ref: mirrors[k]! }));
    } else lanes = guestLanes(trace, opts.kit, opts.topology);
    // A policy that places something at a share of the trace (migrate at=50%) needs its length.
    let traceEvents: number | undefined;
    if (opts.policies.some((p) => p.needsTraceLength)) {
      traceEvents = await traceRows(trace);
    }
    const shared: RunShared = {
      lanes,
      kit: opts.kit,
      topology: opts.topology.topology,
      costs: compileCosts(opts.costs, trace.header.arch),
      traceEvents,
    };
    opts.policies.forEach((p, i) => runs.push(new PolicyRun(p, shared, sinks, join(scratch, `completions-${i}.f64`))));
    at.phase = 0;
    at.event = -1;
    // With bare hardware in its own thread, the events come from it (it reads the trace).
    const counts =
      bare === undefined
        ? await dispatchTrace(trace, traceHandlers(lanes as BareQueueLane[], runs, at), opts.onProgress)
        : bare.facts.dispatch(mirroredEvents(lanes, runs, at), lanes[0]!.q.descBytes / 4, opts.onProgress);
    const { events, doorbells } = counts;
    // Final comparison, then each run's completion points (and the ones it never completed).
    at.phase = 1;
    for (const r of runs) r.compare(Math.max(0, events - 1));
    at.phase = 2;
    const latencies = new Latencies(); // one buffer for every run's percentiles
    const summaries = runs.map((r) => r.finish(latencies));
    ok = true;
    return { events, doorbells, bare: lanes.map((l) => l.ref), summaries };
  } finally {
    // A failure here stops bare hardware's thread and its other readers (a reader that ended
    // normally leaves them be: they may still be reading).
    if (!ok) bare?.abort();
    launch?.stop();
    for (const r of runs) r.dispose();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The summary table's row of one policy. */
export function summaryRow(s: PolicySummary): (string | number | boolean | bigint)[] {
  return [
    s.policy,
    s.correct,
    s.violations,
    ...SUMMARY_COUNTS.map((c) => BigInt(s[c])),
    s.completions,
    s.modeled_us,
    s.p50_us,
    s.p99_us,
    s.max_us,
  ];
}

/** The result tables of `policies` in `dir`. */
export function openTables(dir: string, policies: readonly string[]): ReplayTables {
  return new ReplayTables(dir, {
    host_ops: hostOpsSpec(policies),
    completions: completionsSpec(policies),
    violations: violationsSpec(policies),
    summary: summarySpec(policies),
  });
}

/** What a replay returns, from the engine's runs. */
export function replayOutput(
  trace: OpenTrace,
  topology: ResolvedTopology,
  r: Omit<ReplayedRuns, 'bare'>,
  bare: Pick<ReplayOutput, 'reference' | 'guest_findings' | 'guest_findings_by_kind'>,
): ReplayOutput {
  return { trace: trace.path, arch: trace.header.arch, events: r.events, doorbells: r.doorbells, ...bare, topology, policies: r.summaries };
}

/** What bare hardware did, for the replay's output (several queues: summed, findings queue after queue). */
export function bareOutput(bare: readonly BareTotals[]): Pick<ReplayOutput, 'reference' | 'guest_findings' | 'guest_findings_by_kind'> {
  if (bare.length === 1) {
    const b = bare[0]!;
    return {
      reference: { completions: b.completions, errors: b.errors },
      guest_findings: b.findings,
      guest_findings_by_kind: { ...b.byKind },
    };
  }
  const byKind: Record<string, number> = {};
  for (const b of bare) for (const [k, n] of Object.entries(b.byKind)) byKind[k] = (byKind[k] ?? 0) + n;
  return {
    reference: { completions: bare.reduce((n, b) => n + b.completions, 0), errors: bare.reduce((n, b) => n + b.errors, 0) },
    guest_findings: bare.flatMap((b) => b.findings),
    guest_findings_by_kind: byKind,
  };
}

/** One thread: the engine with its rows written straight to the result tables (when `outDir`). */
export async function replayTrace(trace: OpenTrace, opts: ReplayOptions): Promise<ReplayOutput> {
  const tables =
    opts.outDir === undefined
      ? undefined
      : openTables(
          opts.outDir,
          opts.policies.map((p) => p.name),
        );
  try {
    const r = await replayRuns(trace, opts, tables ? tableSinks(tables) : {});
    if (tables !== undefined) {
      for (const s of r.summaries) tables.summary.push(summaryRow(s));
      tables.close();
    }
    return replayOutput(trace, opts.topology, r, bareOutput(r.bare));
  } finally {
    tables?.abort();
  }
}
