// Bare hardware on the guest's own queue: what every policy is held to. It is fed the same
// doorbells, acknowledgements and device faults as the policies, and after each event exposes what
// the guest would read from a real unit — consumer position, pending error — and which completion
// points it completed (a bitset by absolute position: flat memory). The oracle's side of the
// reference (its own stale checks and the guest findings) is reference.ts, driven from here.

import { published, ringIndex, unwrap } from '../formats/ring.js';
import type { Topology } from '../formats/trace/header.js';
import type { ReplayKit } from './host.js';
import type { GuestError } from './policy.js';
import type { GuestQueue } from './guest-queue.js';
import { ProbePlans } from './probe-plan.js';
import { overrunOnDoorbell, overrunOnWrite, Reference, type GuestFinding, type GuestFindingKind, type Verdict } from './reference.js';
import type { StaleFinding, Violation } from './oracle.js';
import type { QueueUnit, UnitEvent } from './unit.js';

/** What bare hardware did over the whole trace, for the replay's output (replayer.ts bareOutput). */
export interface BareTotals {
  /** Completion points completed. */
  readonly completions: number;
  /** Queue errors raised. */
  readonly errors: number;
  /** Guest findings kept in full (the first ones) and counted by kind. */
  readonly findings: readonly GuestFinding[];
  readonly byKind: Partial<Record<GuestFindingKind, number>>;
}

/**
 * What a policy's run on one guest queue reads from bare hardware on that queue (queue-run.ts):
 * after each event its consumer position and pending error, at a stale finding the reference's
 * verdict, at the end which completion points it completed. BareHardware answers in this thread;
 * bare-facts.ts MirroredBare answers from what bare hardware's own thread published.
 */
export interface BareSide extends BareTotals {
  /** What each invalidation scope of this queue probes, shared by every oracle of the queue in this thread. */
  readonly plans: ProbePlans;
  /** Consumer position after the last event. */
  readonly cons: number;
  /** Pending error after the last event, with the position it stopped at. */
  readonly error: (GuestError & { pos: number }) | undefined;
  /** A policy's stale finding against bare hardware's record at the same position, now. */
  judge(f: StaleFinding): Verdict;
  /** The same at the end: a finding bare hardware never decided is the policy's own. */
  judgeFinal(f: StaleFinding): Violation | undefined;
  /** Whether bare hardware completed the completion point at `pos`. */
  completed(pos: number): boolean;
}

/** Whether the completion point at `pos` is set in a bitset of completed points (a bit per absolute position). */
export function completedIn(done: Uint8Array, pos: number): boolean {
  const byte = pos >> 3;
  return byte < done.length && (done[byte]! & (1 << (pos & 7))) !== 0;
}

export class BareHardware implements BareSide {
  private readonly unit: QueueUnit;
  /**
   * The unit's events since the last absorb: the first `eventCount` (a count, not the array's
   * length: an array cut to length 0 drops its storage and reallocates it on the next push).
   */
  private readonly events: UnitEvent[] = [];
  private eventCount = 0;
  /** The differential oracle's reference side: bare hardware's own findings. */
  readonly reference: Reference;
  /** What each invalidation scope of this queue probes: worked out once, for every oracle of the queue (probe-plan.ts). */
  readonly plans: ProbePlans;
  /** Consumer position after the last event. */
  cons: number;
  /** Pending error after the last event, with the position it stopped at. */
  error: (GuestError & { pos: number }) | undefined;
  /** Queue errors raised. */
  errors = 0;
  /** Completion points completed. */
  completions = 0;
  /** Sequence number of the last doorbell or acknowledgement. */
  private lastSeq = 0;
  private done = new Uint8Array(1024);

  constructor(
    kit: ReplayKit,
    topology: Topology,
    private readonly q: GuestQueue,
  ) {
    this.unit = kit.guestUnit(
      topology,
      q.mem,
      (e) => {
        this.events[this.eventCount++] = e;
      },
      false,
    );
    // A trace that starts mid-ring: both sides begin with an empty queue at `start`.
    this.unit.configureQueue(q.base, q.entries, q.descBytes, q.start);
    this.plans = new ProbePlans(topology, q.header.arch);
    this.reference = new Reference(topology, q.header.arch, this.unit, this.plans);
    this.cons = q.start;
  }

  /** Before the guest writes `slot`: a published entry not yet consumed is a ring overrun. */
  write(seq: number, slot: number): void {
    const over = overrunOnWrite(seq, slot, this.q.prod, this.cons, this.error !== undefined, this.q.entries);
    if (over !== undefined) this.reference.add(over);
  }

  /**
   * After the guest wrote `slot`: when that slot holds an entry published and not yet consumed by
   * bare hardware, the new command takes its place; the reference probes it, and its position is
   * returned for the policies to do the same.
   */
  republished(slot: number): number | undefined {
    const q = this.q;
    const offset = published(ringIndex(this.cons, q.entries), slot, q.entries);
    if (offset >= q.prod - this.cons) return undefined;
    const pos = this.cons + offset;
    this.reference.published(pos, q.seqAt(pos), q.decodedAt(pos), q.classifiedAt(pos), q.causeAt(pos));
    return pos;
  }

  /** The guest published [from, prod): the reference oracle probes, then the unit consumes. */
  doorbell(seq: number, index: number, wrap: number, from: number, prod: number): void {
    const q = this.q;
    this.lastSeq = seq;
    for (let pos = from; pos < prod; pos++)
      this.reference.published(pos, q.seqAt(pos), q.decodedAt(pos), q.classifiedAt(pos), q.causeAt(pos));
    const over = overrunOnDoorbell(seq, prod, this.cons, q.entries, q.header.arch);
    if (over !== undefined) this.reference.add(over);
    this.unit.writeProducer(index, wrap);
    this.absorb();
  }

  ack(seq: number): void {
    this.lastSeq = seq;
    this.unit.acknowledge();
    this.absorb();
  }

  fault(sid: number, timedOut: boolean): void {
    this.unit.setAtcTimeout(sid, timedOut);
  }

  get findings(): readonly GuestFinding[] {
    return this.reference.findings;
  }

  get byKind(): Partial<Record<GuestFindingKind, number>> {
    return this.reference.byKind;
  }

  judge(f: StaleFinding): Verdict {
    return this.reference.judge(f);
  }

  judgeFinal(f: StaleFinding): Violation | undefined {
    return this.reference.judgeFinal(f);
  }

  /** Completion points completed so far, a bit per absolute position (bare-facts.ts hands them over at the end). */
  get completedBits(): Uint8Array {
    return this.done;
  }

  /** Whether bare hardware completed the completion point at `pos`. */
  completed(pos: number): boolean {
    return completedIn(this.done, pos);
  }

  private markCompleted(pos: number): void {
    const byte = pos >> 3;
    if (byte >= this.done.length) {
      const next = new Uint8Array(Math.max(byte + 1, this.done.length * 2));
      next.set(this.done);
      this.done = next;
    }
    const bit = 1 << (pos & 7);
    if ((this.done[byte]! & bit) === 0) {
      this.done[byte]! |= bit;
      this.completions++;
    }
  }

  /** State after an event: consumer position, error, completions. */
  private absorb(): void {
    const q = this.q;
    const from = this.cons;
    const c = this.unit.consumerNow(); // reused by the unit: read at once
    const cons = unwrap(c.index, c.wrap, from, q.entries, q.smmu);
    const error = c.error;
    for (let i = 0; i < this.eventCount; i++) {
      const ev = this.events[i]!;
      if (ev.kind === 'complete') {
        const pos = unwrap(ev.slot, 0, from, q.entries, false);
        this.markCompleted(pos);
        this.reference.completed(pos, q.completedAt(pos));
      } else if (ev.kind === 'error') {
        this.errors++;
        this.reference.stopped(
          cons,
          cons < q.prod ? q.seqAt(cons) : this.lastSeq,
          ev.error,
          `the queue stopped on ${ev.error.code} at slot ${ringIndex(cons, q.entries)}`,
        );
      }
    }
    this.eventCount = 0;
    this.cons = cons;
    this.error = error
      ? { code: error.code, value: error.value, ...(error.sid !== undefined ? { sid: error.sid } : {}), pos: cons }
      : undefined;
  }
}
