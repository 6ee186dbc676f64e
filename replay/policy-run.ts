// One policy's run through a trace: the host model and its physical units (host.ts), the cost
// account (ledger.ts) and the verdict, shared by the run of each guest queue (queue-run.ts: the
// guest-visible state the policy produces on that queue, the oracle's checks and completion
// points). One queue: one queue run over the whole host. Several (one vSMMU per pSMMU): one per
// queue, each seeing the host through its own vIOMMU instance (queue-host.ts), and every
// violation names its queue.

import { unreachable } from '../formats/result.js';
import type { Topology } from '../formats/trace/header.js';
import { Latencies } from './completions.js';
import type { CompiledCosts } from './cost/model.js';
import type { HostIds, HostModel, HostOp, ReplayKit } from './host.js';
import { Ledger, vmmWork, type HostOpsRowSink } from './ledger.js';
import type { Violation } from './oracle.js';
import type { PolicyDetail, VmmOpKind } from './policy.js';
import type { ResolvedPolicy } from './policies/index.js';
import { queueHost } from './queue-host.js';
import { QueueRun, type QueueLane, type RunOwner } from './queue-run.js';
import { latencyStats, roundUs, ViolationLog, type PolicySummary } from './summary.js';
import { vmmFor } from './vmm/index.js';

export type { QueueLane } from './queue-run.js';

/** What every run of one replay shares. */
export interface RunShared {
  /** The guest queues, in id order (one for a one-queue trace). */
  readonly lanes: readonly QueueLane[];
  readonly kit: ReplayKit;
  /** The whole VM: every device, every physical IOMMU. */
  readonly topology: Topology;
  readonly costs: CompiledCosts;
  /** Rows in the whole trace, when a policy asked for it (ctx.traceEvents). */
  readonly traceEvents: number | undefined;
  /** Host identifiers kept apart from other VMs' (shared-host replays). */
  readonly hostIds?: HostIds;
}

/**
 * Sees every host op of a run before it is charged (shared-host: a physical queue and lock shared
 * with other VMs, replay/shared-host/gate.ts), and may charge waits to the run's ledger first.
 */
export interface HostGate {
  before(op: HostOp, ledger: Ledger): void;
}

/** Where a run writes its rows (absent: no tables, only the summary). */
export interface RunSinks {
  readonly hostOps?: (policy: string, seq: number) => HostOpsRowSink;
  readonly violation?: (policy: string, v: Violation) => void;
  readonly completion?: (
    policy: string,
    seq: number,
    slot: number,
    doorbellSeq: number,
    done: boolean,
    refDone: boolean,
    latency: number | null,
    commands: number,
  ) => void;
}

const VMM_WORK: Readonly<Record<VmmOpKind, number>> = {
  trap: vmmWork('trap'),
  vmm_cmd: vmmWork('vmm_cmd'),
  trap_kernel: vmmWork('trap_kernel'),
  pt_read: vmmWork('pt_read'),
  pin: vmmWork('pin'),
  map_ioctl: vmmWork('map_ioctl'),
};

/**
 * The work-kind number of a VMM op kind, by a switch: `VMM_WORK[kind]` at one site sees six key
 * names and goes megamorphic (ledger.ts `hostWork`). Each case's load names one property.
 */
function vmmWorkOf(kind: VmmOpKind): number {
  switch (kind) {
    case 'trap':
      return VMM_WORK.trap;
    case 'vmm_cmd':
      return VMM_WORK.vmm_cmd;
    case 'trap_kernel':
      return VMM_WORK.trap_kernel;
    case 'pt_read':
      return VMM_WORK.pt_read;
    case 'pin':
      return VMM_WORK.pin;
    case 'map_ioctl':
      return VMM_WORK.map_ioctl;
    default:
      return unreachable(kind);
  }
}

/** A violation on queue `k` of several: its scope and explanation name the queue. */
function onQueue(k: number, v: Violation): Violation {
  return { ...v, scope: `queue ${k} ${v.scope}`, explanation: `queue ${k}: ${v.explanation}` };
}

export class PolicyRun implements RunOwner {
  readonly name: string;
  readonly host: HostModel;
  readonly ledger: Ledger;
  readonly violations: ViolationLog;
  readonly traceEvents: number | undefined;
  /** One run per guest queue, in queue id order. */
  readonly queues: readonly QueueRun[];
  /** Inside ctx.inKernel: host invalidations are kernel calls, not ioctls. */
  private kernel = false;
  /** Host ATS invalidations that timed out, in all and when the last device fault began (docs/oracle.md: who hid a time-out). */
  private hostTimeouts = 0;
  private timeoutsAtFault = 0;
  private readonly rowSink: (seq: number) => HostOpsRowSink | undefined;
  /** Whether the run writes host_ops rows (else its ledger keeps none and there is nothing to flush). */
  private readonly rows: boolean;

  constructor(
    p: ResolvedPolicy,
    s: RunShared,
    private readonly sinks: RunSinks,
    spillPath: string,
    private readonly gate?: HostGate,
  ) {
    this.name = p.name;
    this.traceEvents = s.traceEvents;
    this.violations = new ViolationLog(sinks.violation ? (v) => sinks.violation!(p.name, v) : undefined);
    const arch = s.lanes[0]!.q.header.arch;
    const vmm = vmmFor(arch);
    // Without a host_ops sink the event's rows are never read: the ledger keeps none.
    this.rows = sinks.hostOps !== undefined;
    this.ledger = new Ledger(s.costs, Math.max(0, ...s.topology.iommus.map((m) => m.id)), vmm.entryLen, this.rows);
    this.host = s.kit.host(s.topology, (op) => this.hostOp(op), undefined, p.arrangement, s.hostIds);
    const several = s.lanes.length > 1;
    this.queues = s.lanes.map(
      (lane, k) =>
        new QueueRun(
          this,
          lane,
          several ? queueHost(this.host, lane.topology) : this.host,
          vmm,
          p.make(),
          several ? (v) => this.violations.add(onQueue(k, v)) : this.violations.add,
          k === 0 ? spillPath : `${spillPath}.q${k}`,
        ),
    );
    const hostOps = sinks.hostOps;
    this.rowSink = hostOps ? (seq) => hostOps(p.name, seq) : () => undefined;
  }

  inKernel<T>(fn: () => T): T {
    const was = this.kernel;
    this.kernel = true;
    try {
      return fn();
    } finally {
      this.kernel = was;
    }
  }

  hostTimedOut(): boolean {
    return this.hostTimeouts > this.timeoutsAtFault;
  }

  vmmWork(kind: VmmOpKind): void {
    this.ledger.vmm(vmmWorkOf(kind));
  }

  private hostOp(op: HostOp): void {
    // `kind` read once: ops come in several shapes (host.ts), so each read of a field is a
    // polymorphic load.
    const kind = op.kind;
    if (kind === 'ioctl') {
      if (this.kernel) return; // kernel-ring: the kernel calls the vIOMMU's invalidation itself
    } else if (kind === 'devtlb_inv' && op.timedOut === true) this.hostTimeouts++;
    this.gate?.before(op, this.ledger);
    this.ledger.host(op);
  }

  /** A device stops (or resumes) answering ATS invalidations. */
  fault(sid: number, timedOut: boolean): void {
    if (timedOut) this.timeoutsAtFault = this.hostTimeouts;
    this.host.setAtcTimeout(sid, timedOut);
  }

  /** The guest rewrote the published entry at `pos` of `queue`. */
  republish(queue: number, pos: number): void {
    this.queues[queue]!.republish(pos);
  }

  doorbell(queue: number, seq: number, prod: number): void {
    const run = this.queues[queue]!;
    run.doorbell(seq, prod);
    if (this.rows) this.ledger.flush(this.rowSink(seq));
    run.compare(seq);
  }

  ack(queue: number, seq: number, prod: number): void {
    this.queues[queue]!.ack(seq, prod);
    if (this.rows) this.ledger.flush(this.rowSink(seq));
  }

  /** Compares every queue's guest-visible state with bare hardware (at the end). */
  compare(seq: number): void {
    for (const r of this.queues) r.compare(seq);
  }

  /**
   * The completion points in queue order, queue after queue (rows, never-completed findings); then
   * the summary. `latencies`: where the percentiles are read from (a thread's runs share one).
   */
  finish(latencies = new Latencies()): PolicySummary {
    for (const r of this.queues) r.judgeUndecided();
    const sink = this.sinks.completion;
    latencies.clear();
    for (const r of this.queues)
      r.completionRows((seq, slot, doorbellSeq, done, refDone, latency, commands) => {
        sink?.(this.name, seq, slot, doorbellSeq, done, refDone, latency === undefined ? null : roundUs(latency), commands);
      }, latencies);
    const latency = latencyStats(latencies.view());
    const detail = this.detail();
    return {
      policy: this.name,
      correct: this.violations.count === 0,
      violations: this.violations.count,
      violations_by_kind: { ...this.violations.byKind },
      ...this.ledger.countsByName(),
      completions: this.queues.reduce((n, r) => n + r.completions.completed, 0),
      modeled_us: roundUs(this.ledger.clock),
      p50_us: roundUs(latency.p50),
      p99_us: roundUs(latency.p99),
      max_us: roundUs(latency.max),
      first_violations: this.violations.first,
      ...(detail !== undefined ? { detail } : {}),
    };
  }

  /**
   * What the policy reports about itself: its one queue's detail; with several queues, `queues`
   * and the counts summed over the queues (a ratio, `*_per_*`, cannot be summed and is left out;
   * other values, `*_seq` included, as queue 0 has them).
   */
  private detail(): PolicyDetail | undefined {
    if (this.queues.length === 1) return this.queues[0]!.policy.detail?.();
    const each = this.queues.map((r) => r.policy.detail?.());
    if (each.every((d) => d === undefined)) return undefined;
    const out: Record<string, PolicyDetail[string]> = { queues: this.queues.length };
    for (const d of each) {
      for (const [k, v] of Object.entries(d ?? {})) {
        if (k.includes('_per_')) continue;
        const had = out[k];
        // A sequence number names an event, not a count: queue 0's is kept.
        out[k] =
          typeof v === 'number' && !k.endsWith('_seq') && (typeof had === 'number' || had === undefined)
            ? roundUs((had ?? 0) + v)
            : (had ?? v);
      }
    }
    return out;
  }

  dispose(): void {
    for (const r of this.queues) r.completions.dispose();
  }
}
