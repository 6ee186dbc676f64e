// One policy's run through a trace: the guest-visible state the policy produces (consumer
// position, pending error, what is published) and the context it drives it through. Everything
// else is delegated: the host model and its physical units (host.ts), the cost account
// (ledger.ts), the oracle's checks (oracle.ts) and the completion points (completions.ts).

import { ringIndex } from '../formats/ring.js';
import type { Topology } from '../formats/trace/header.js';
import type { CompiledCosts } from './cost/model.js';
import { Completions } from './completions.js';
import type { GuestQueue } from './guest-queue.js';
import type { HostIds, HostModel, HostOp, ReplayKit } from './host.js';
import { Ledger, vmmWork, type HostOpsRowSink } from './ledger.js';
import { GuestStateCheck, StaleOracle, type StaleFinding, type Violation } from './oracle.js';
import type { GuestError, Policy, PolicyContext, VmmOpKind } from './policy.js';
import type { ResolvedPolicy } from './policies/index.js';
import type { BareHardware } from './bare.js';
import { percentile, roundUs, ViolationLog, type PolicySummary } from './summary.js';
import { vmmFor } from './vmm/index.js';

/** What every run of one replay shares. */
export interface RunShared {
  readonly q: GuestQueue;
  readonly ref: BareHardware;
  readonly kit: ReplayKit;
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
  readonly completion?: (policy: string, seq: number, slot: number, doorbellSeq: number, done: boolean, refDone: boolean, latency: number | null, commands: number) => void;
}

const VMM_WORK: Readonly<Record<VmmOpKind, number>> = {
  trap: vmmWork('trap'),
  vmm_cmd: vmmWork('vmm_cmd'),
  trap_kernel: vmmWork('trap_kernel'),
  pt_read: vmmWork('pt_read'),
  pin: vmmWork('pin'),
  map_ioctl: vmmWork('map_ioctl'),
};

export class PolicyRun {
  readonly name: string;
  /** Guest-visible state: consumer position, pending error, published up to. */
  cons: number;
  error: (GuestError & { pos: number }) | undefined;
  published: number;

  readonly policy: Policy;
  readonly host: HostModel;
  readonly ctx: PolicyContext;
  readonly ledger: Ledger;
  readonly violations: ViolationLog;
  private readonly oracle: StaleOracle;
  private readonly checks: GuestStateCheck;
  private readonly completions: Completions;
  /** Sequence number of the doorbell or acknowledgement being handled. */
  private eventSeq = 0;
  /** Invalidations published since the last completion point. */
  private sinceSync = 0;
  /** Inside ctx.inKernel: host invalidations are kernel calls, not ioctls. */
  private kernel = false;
  /** Stale findings made before bare hardware reached the same completion point. */
  private readonly undecided: StaleFinding[] = [];
  /** Host ATS invalidations that timed out, in all and when the last device fault began (docs/oracle.md: who hid a time-out). */
  private hostTimeouts = 0;
  private timeoutsAtFault = 0;
  private readonly rowSink: (seq: number) => HostOpsRowSink | undefined;

  constructor(p: ResolvedPolicy, private readonly s: RunShared, private readonly sinks: RunSinks, spillPath: string, private readonly gate?: HostGate) {
    const q = s.q;
    this.name = p.name;
    this.cons = q.start;
    this.published = q.start;
    this.violations = new ViolationLog(sinks.violation ? (v) => sinks.violation!(p.name, v) : undefined);
    this.checks = new GuestStateCheck(q, q.header.arch, this.violations.add);
    this.completions = new Completions(spillPath);
    const vmm = vmmFor(q.header.arch);
    this.ledger = new Ledger(s.costs, Math.max(0, ...s.topology.iommus.map((m) => m.id)), vmm.entryLen);
    this.host = s.kit.host(s.topology, (op) => this.hostOp(op), undefined, p.arrangement, s.hostIds);
    this.oracle = new StaleOracle(s.topology, q.header.arch, this.host);
    this.policy = p.make();
    const hostOps = sinks.hostOps;
    this.rowSink = hostOps ? (seq) => hostOps(p.name, seq) : () => undefined;
    const run = this;
    this.ctx = {
      arch: q.header.arch,
      header: q.header,
      topology: s.topology,
      host: this.host,
      vmm,
      get cons() {
        return run.cons;
      },
      get error() {
        return run.error;
      },
      command: (pos) => q.decodedAt(pos),
      setCons: (pos) => {
        run.cons = pos;
      },
      raise: (pos, error) => run.raise(pos, error),
      complete: (pos) => run.complete(pos),
      executed: (pos) => run.checks.executed(pos, s.ref.error),
      op: (kind) => run.ledger.vmm(VMM_WORK[kind]),
      cause: (pos) => q.causeAt(pos),
      inKernel: <T>(fn: () => T): T => {
        const was = run.kernel;
        run.kernel = true;
        try {
          return fn();
        } finally {
          run.kernel = was;
        }
      },
      get modeledUs() {
        return run.ledger.clock;
      },
      seqAt: (pos) => q.seqAt(pos),
      traceEvents: s.traceEvents,
      get eventSeq() {
        return run.eventSeq;
      },
    };
  }

  private hostOp(op: HostOp): void {
    if (op.kind === 'ioctl' && this.kernel) return; // kernel-ring: the kernel calls the vIOMMU's invalidation itself
    if (op.kind === 'devtlb_inv' && op.timedOut === true) this.hostTimeouts++;
    this.gate?.before(op, this.ledger);
    this.ledger.host(op);
  }

  /** A device stops (or resumes) answering ATS invalidations. */
  fault(sid: number, timedOut: boolean): void {
    if (timedOut) this.timeoutsAtFault = this.hostTimeouts;
    this.host.setAtcTimeout(sid, timedOut);
  }

  /** A stale finding of this policy: a violation unless bare hardware keeps the same entries. */
  private stale = (f: StaleFinding): void => {
    const r = this.s.ref.reference.judge(f);
    if ('undecided' in r) this.undecided.push(f);
    else if (r.violation) this.violations.add(r.v);
  };

  private raise(pos: number, error: GuestError): void {
    this.cons = pos;
    this.error = { ...error, pos };
    this.oracle.stopped(pos, error, `the queue stopped on ${error.code} at slot ${ringIndex(pos, this.s.q.entries)}`, this.stale);
  }

  private complete(pos: number): void {
    this.completions.complete(pos, this.ledger.clock);
    this.oracle.completedBefore(pos, this.s.q.completedAt(pos), this.stale);
  }

  /** Publishes new entries: the oracle probes what each invalidation covers, before the VMM runs. */
  private publish(prod: number, doorbellSeq: number): void {
    const q = this.s.q;
    for (let pos = this.published; pos < prod; pos++) {
      const seq = q.seqAt(pos);
      const cls = q.classifiedAt(pos);
      // A map flush (caching mode) follows a non-present → present change: no translation of the
      // range existed, so none can be stale; probing it would fill caches with a mapping the
      // guest had not made yet.
      if (q.causeAt(pos) !== 'map') this.oracle.published(pos, seq, q.decodedAt(pos), cls);
      const role = cls.role;
      if (role === 'sync') {
        this.completions.add(pos, seq, ringIndex(pos, q.entries), doorbellSeq, this.ledger.clock, this.sinceSync);
        this.sinceSync = 0;
      } else if (role === 'invalidate') this.sinceSync++;
    }
    this.published = Math.max(this.published, prod);
  }

  /** The guest rewrote the published entry at `pos`: if this policy has not consumed it, it is published again. */
  republish(pos: number): void {
    if (pos < this.cons || pos >= this.published) return;
    const q = this.s.q;
    const cls = q.classifiedAt(pos);
    const seq = q.seqAt(pos);
    this.oracle.published(pos, seq, q.decodedAt(pos), cls, q.causeAt(pos));
    if (cls.role === 'sync') this.completions.replace(pos, seq, ringIndex(pos, q.entries), this.eventSeq, this.ledger.clock);
  }

  doorbell(seq: number, prod: number): void {
    this.eventSeq = seq;
    this.publish(prod, seq);
    this.policy.doorbell(this.ctx, prod);
    this.ledger.flush(this.rowSink(seq));
    this.compare(seq);
  }

  ack(seq: number, prod: number): void {
    this.error = undefined;
    this.eventSeq = seq;
    this.policy.ack(this.ctx, prod);
    this.ledger.flush(this.rowSink(seq));
  }

  /** Compares the guest-visible state with bare hardware after an event. */
  compare(seq: number): void {
    this.checks.compare(this.s.ref, this, this.published, seq, this.hostTimeouts > this.timeoutsAtFault);
  }

  /** The completion points in queue order (rows, never-completed findings); then the summary. */
  finish(): PolicySummary {
    const ref = this.s.ref;
    for (const f of this.undecided) {
      const v = ref.reference.judgeFinal(f);
      if (v !== undefined) this.violations.add(v);
    }
    const sink = this.sinks.completion;
    const sorted = this.completions.rows((c) => {
      const refDone = ref.completed(c.pos);
      const done = c.latency !== undefined;
      this.checks.completion(c.seq, c.slot, done, refDone);
      sink?.(this.name, c.seq, c.slot, c.doorbellSeq, done, refDone, c.latency === undefined ? null : roundUs(c.latency), c.commands);
    });
    const detail = this.policy.detail?.();
    return {
      policy: this.name,
      correct: this.violations.count === 0,
      violations: this.violations.count,
      violations_by_kind: { ...this.violations.byKind },
      ...this.ledger.countsByName(),
      completions: this.completions.completed,
      modeled_us: roundUs(this.ledger.clock),
      p50_us: roundUs(percentile(sorted, 50)),
      p99_us: roundUs(percentile(sorted, 99)),
      max_us: roundUs(sorted.length ? sorted[sorted.length - 1]! : 0),
      first_violations: this.violations.first,
      ...(detail !== undefined ? { detail } : {}),
    };
  }

  dispose(): void {
    this.completions.dispose();
  }
}
