// One guest queue under one policy: the guest-visible state the policy produces on that queue
// (consumer position, pending error, what is published), the policy instance that emulates it
// (the VMM runs one emulation per vIOMMU instance) and the context it drives it through, the
// oracle's checks of that queue against bare hardware on the same queue, and its completion
// points. A trace with one queue has one of these per policy; with several (one vSMMU per pSMMU),
// one per queue, all feeding the policy's one host model and cost ledger (policy-run.ts).

import { ringIndex } from '../formats/ring.js';
import type { Topology } from '../formats/trace/header.js';
import type { BareSide } from './bare.js';
import { Completions, type Latencies } from './completions.js';
import type { GuestQueue } from './guest-queue.js';
import type { HostModel } from './host.js';
import type { Ledger } from './ledger.js';
import { GuestStateCheck, MAX_OPEN_EPOCHS, StaleOracle, type StaleFinding, type Violation } from './oracle.js';
import type { GuestError, Policy, PolicyContext, VmmOpKind } from './policy.js';
import type { VmmArch } from './vmm/arch.js';
import { memoVmm } from './vmm/memo.js';

/** One guest queue of the replay, shared by every policy: the ring, its bare unit, its devices. */
export interface QueueLane {
  readonly q: GuestQueue;
  readonly ref: BareSide;
  /** The devices behind this queue's vIOMMU (one queue: the whole topology). */
  readonly topology: Topology;
}

/** What a queue's run needs from the policy run that owns it. */
export interface RunOwner {
  readonly ledger: Ledger;
  /** Rows in the whole trace, when a policy asked for it. */
  readonly traceEvents: number | undefined;
  /** Runs `fn` as host-kernel code (ctx.inKernel). */
  inKernel<T>(fn: () => T): T;
  /** A host ATS invalidation timed out since the last device fault began. */
  hostTimedOut(): boolean;
  vmmWork(kind: VmmOpKind): void;
}

/**
 * The context a policy drives one queue run through. A class, not an object literal: a literal
 * with getters (`get cons() {...}`) is made in dictionary mode (`%HasFastProperties` false), so
 * every `ctx.x` in a policy's walk was a dictionary look-up in the generic LoadIC, which
 * optimized code cannot inline. Here the fields are own data properties of one shape and the
 * getters sit on the prototype. The functions stay own arrow fields: a policy may call them
 * unbound, and migrate overrides one on an `Object.create(ctx)`.
 */
class RunContext implements PolicyContext {
  readonly arch: PolicyContext['arch'];
  readonly header: PolicyContext['header'];
  readonly topology: Topology;
  readonly host: HostModel;
  /** Host entries kept per decoded command for this run's host (vmm/memo.ts). */
  readonly vmm: VmmArch;
  readonly command: PolicyContext['command'];
  readonly setCons: PolicyContext['setCons'];
  readonly raise: PolicyContext['raise'];
  readonly complete: PolicyContext['complete'];
  readonly executed: PolicyContext['executed'];
  readonly op: PolicyContext['op'];
  readonly cause: PolicyContext['cause'];
  readonly inKernel: PolicyContext['inKernel'];
  readonly seqAt: PolicyContext['seqAt'];
  readonly traceEvents: number | undefined;

  constructor(
    private readonly run: QueueRun,
    private readonly owner: RunOwner,
    lane: QueueLane,
    host: HostModel,
    vmm: VmmArch,
  ) {
    const q = lane.q;
    this.arch = q.header.arch;
    this.header = q.header;
    this.topology = lane.topology;
    this.host = host;
    this.vmm = vmm;
    this.command = (pos) => q.decodedAt(pos);
    this.setCons = (pos) => {
      run.cons = pos;
    };
    this.raise = (pos, error) => run.raise(pos, error);
    this.complete = (pos) => run.complete(pos);
    this.executed = (pos) => run.executed(pos);
    this.op = (kind) => owner.vmmWork(kind);
    this.cause = (pos) => q.causeAt(pos);
    this.inKernel = (fn) => owner.inKernel(fn);
    this.seqAt = (pos) => q.seqAt(pos);
    this.traceEvents = owner.traceEvents;
  }

  get cons(): number {
    return this.run.cons;
  }

  get error(): GuestError | undefined {
    return this.run.error;
  }

  get modeledUs(): number {
    return this.owner.ledger.clock;
  }

  get eventSeq(): number {
    return this.run.eventSeq;
  }
}

export class QueueRun {
  /** Guest-visible state: consumer position, pending error, published up to. */
  cons: number;
  error: (GuestError & { pos: number }) | undefined;
  published: number;
  readonly policy: Policy;
  readonly ctx: PolicyContext;
  private readonly oracle: StaleOracle;
  private readonly checks: GuestStateCheck;
  readonly completions: Completions;
  /** Sequence number of the doorbell or acknowledgement being handled. */
  eventSeq = 0;
  /** Invalidations published since the last completion point. */
  private sinceSync = 0;
  /** Stale findings made before bare hardware reached the same completion point. */
  private readonly undecided: StaleFinding[] = [];

  constructor(
    private readonly owner: RunOwner,
    readonly lane: QueueLane,
    host: HostModel,
    vmm: VmmArch,
    policy: Policy,
    private readonly violation: (v: Violation) => void,
    spillPath: string,
  ) {
    const q = lane.q;
    this.cons = q.start;
    this.published = q.start;
    this.checks = new GuestStateCheck(q, q.header.arch, violation);
    this.completions = new Completions(spillPath);
    // Probe plans are bare hardware's, shared by every oracle of this queue (probe-plan.ts).
    this.oracle = new StaleOracle(lane.topology, q.header.arch, host, MAX_OPEN_EPOCHS, lane.ref.plans);
    this.policy = policy;
    this.ctx = new RunContext(this, owner, lane, host, memoVmm(vmm, host));
  }

  /** A stale finding on this queue: a violation unless bare hardware keeps the same entries. */
  private stale = (f: StaleFinding): void => {
    const r = this.lane.ref.judge(f);
    if ('undecided' in r) this.undecided.push(f);
    else if (r.violation) this.violation(r.v);
  };

  /** ctx.raise: the queue stops on `error` at `pos`. */
  raise(pos: number, error: GuestError): void {
    this.cons = pos;
    this.error = { ...error, pos };
    this.oracle.stopped(pos, error, `the queue stopped on ${error.code} at slot ${ringIndex(pos, this.lane.q.entries)}`, this.stale);
  }

  /** ctx.executed: the command at `pos` took effect. */
  executed(pos: number): void {
    this.checks.executed(pos, this.lane.ref.error);
  }

  /** ctx.complete: the completion point at `pos` completed. */
  complete(pos: number): void {
    this.completions.complete(pos, this.owner.ledger.clock);
    this.oracle.completedBefore(pos, this.lane.q.completedAt(pos), this.stale);
  }

  /** Publishes new entries: the oracle probes what each invalidation covers, before the VMM runs. */
  private publish(prod: number, doorbellSeq: number): void {
    const q = this.lane.q;
    for (let pos = this.published; pos < prod; pos++) {
      const seq = q.seqAt(pos);
      const cls = q.classifiedAt(pos);
      // A map flush (caching mode) follows a non-present → present change: no translation of the
      // range existed, so none can be stale; probing it would fill caches with a mapping the
      // guest had not made yet.
      if (!q.mapFlushAt(pos)) this.oracle.published(pos, seq, q.decodedAt(pos), cls);
      const role = cls.role;
      if (role === 'sync') {
        this.completions.add(pos, seq, ringIndex(pos, q.entries), doorbellSeq, this.owner.ledger.clock, this.sinceSync);
        this.sinceSync = 0;
      } else if (role === 'invalidate') this.sinceSync++;
    }
    this.published = Math.max(this.published, prod);
  }

  /** The guest rewrote the published entry at `pos`: if this policy has not consumed it, it is published again. */
  republish(pos: number): void {
    if (pos < this.cons || pos >= this.published) return;
    const q = this.lane.q;
    const cls = q.classifiedAt(pos);
    const seq = q.seqAt(pos);
    this.oracle.published(pos, seq, q.decodedAt(pos), cls, q.causeAt(pos));
    if (cls.role === 'sync') this.completions.replace(pos, seq, ringIndex(pos, q.entries), this.eventSeq, this.owner.ledger.clock);
  }

  /** The guest rang this queue's doorbell: publish, then the policy runs (the owner flushes the ledger). */
  doorbell(seq: number, prod: number): void {
    this.eventSeq = seq;
    this.publish(prod, seq);
    this.policy.doorbell(this.ctx, prod);
  }

  ack(seq: number, prod: number): void {
    this.error = undefined;
    this.eventSeq = seq;
    this.policy.ack(this.ctx, prod);
  }

  /** Compares the guest-visible state with bare hardware on this queue after an event. */
  compare(seq: number): void {
    this.checks.compare(this.lane.ref, this, this.published, seq, this.owner.hostTimedOut());
  }

  /** Findings bare hardware had not decided on before the end. */
  judgeUndecided(): void {
    for (const f of this.undecided) {
      const v = this.lane.ref.judgeFinal(f);
      if (v !== undefined) this.violation(v);
    }
  }

  /** The completion points in queue order, checked against bare hardware; appends the measured latencies to `latencies`. */
  completionRows(
    visit: (
      seq: number,
      slot: number,
      doorbellSeq: number,
      done: boolean,
      refDone: boolean,
      latency: number | undefined,
      commands: number,
    ) => void,
    latencies: Latencies,
  ): void {
    const ref = this.lane.ref;
    this.completions.rows((c) => {
      const refDone = ref.completed(c.pos);
      const done = c.latency !== undefined;
      this.checks.completion(c.seq, c.slot, done, refDone);
      visit(c.seq, c.slot, c.doorbellSeq, done, refDone, c.latency, c.commands);
    }, latencies);
  }
}
