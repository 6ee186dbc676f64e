// Bare hardware computed once, on a thread of its own, ahead of the policy runs: what the runs read
// from it (docs/replayer.md "Threads"), as facts through a bounded ring (fact-ring.ts) and, for the
// rare variable ones, a message port read synchronously (receiveMessageOnPort).
// Each fact is one word, (arg * 256 + queue) * 16 + code (`fact`): exact in a double for positions
// and ordinals below 2^41. Per event, in the order bare hardware made them, then the event's end
// with its ordinal (so a dropped or reordered event is caught):
//   CONS queue pos          the queue's consumer position changed
//   ERROR queue + message   a pending error appeared or changed ({code, value, sid?, pos})
//   CLEAR queue             the pending error went away
//   REPUB queue pos         the command written replaced a published entry not yet consumed
//   PENDING queue pos       the reference oracle holds an invalidation at pos (isPending true)
//   SETTLED queue pos       ... and no longer does
//   STALE queue + message   the entries bare hardware left stale at a position ({pos, keys})
//   FAILED queue + message  why bare hardware told the guest the invalidation at a position failed
//   END ordinal
// and once after the last event FINISH + message (each queue's completion bitset and totals).
// BarePublisher makes them in bare hardware's thread; BareFacts reads one event's worth before the
// policies see that event, into MirroredBare (one per guest queue), which answers a policy's run as
// bare hardware itself would after the same event: the tables are the serial run's bytes.

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { InputError } from '../formats/result.js';
import { InputFault } from '../formats/result.js';
import type { Topology } from '../formats/trace/header.js';
import type { BareHardware, BareSide } from './bare.js';
import type { TraceHandlers } from './feed.js';
import type { FactReader, FactWriter } from './fact-ring.js';
import { RING_ABORTED, RING_DONE } from './fact-ring.js';
import type { GuestQueue } from './guest-queue.js';
import type { StaleFinding, Violation } from './oracle.js';
import type { GuestError } from './policy.js';
import { ProbePlans } from './probe-plan.js';
import { finalVerdict, judgeStale, type GuestFinding, type GuestFindingKind, type Verdict } from './reference.js';

export const END = 0;
export const CONS = 1;
export const ERROR = 2;
export const CLEAR = 3;
export const REPUB = 4;
export const PENDING = 5;
export const SETTLED = 6;
export const STALE = 7;
export const FAILED = 8;
export const FINISH = 9;

/** Guest queues a fact can name. */
export const MAX_QUEUES = 256;

/** One fact as one word: `code` about `queue`, with `arg` (a position, an ordinal; 0 if none). */
export const fact = (code: number, queue: number, arg: number): number => (arg * MAX_QUEUES + queue) * 16 + code;

/** What one guest queue's bare hardware did over the whole trace, sent once at the end. */
export interface LaneTotals {
  readonly done: Uint8Array;
  readonly completions: number;
  readonly errors: number;
  readonly findings: readonly GuestFinding[];
  readonly byKind: Partial<Record<GuestFindingKind, number>>;
}

/** The port's messages, each announced by a fact in the ring (the last: the thread's failure). */
export type FactMessage =
  | { readonly type: 'error'; readonly error: GuestError & { pos: number } }
  | { readonly type: 'stale'; readonly pos: number; readonly keys: readonly string[] }
  | { readonly type: 'failed'; readonly pos: number; readonly reason: string }
  | { readonly type: 'finish'; readonly lanes: readonly LaneTotals[] }
  | { readonly type: 'fail'; readonly input?: InputError; readonly message?: string };

/** One guest queue of bare hardware as its thread drives it. */
export interface BareLane {
  readonly q: GuestQueue;
  readonly ref: BareHardware;
}

/** Bare hardware's thread: every event of the trace to bare hardware, and what it did as facts. */
export class BarePublisher {
  private ordinal = 0;
  private readonly lastCons: number[];
  private readonly lastError: ((GuestError & { pos: number }) | undefined)[];

  constructor(
    private readonly lanes: readonly BareLane[],
    laneOfSid: ReadonlyMap<number, number>,
    private readonly out: FactWriter,
    private readonly post: (m: FactMessage) => void,
  ) {
    if (lanes.length > MAX_QUEUES) throw new Error(`bare hardware's facts name at most ${MAX_QUEUES} guest queues, not ${lanes.length}`);
    this.lastCons = lanes.map((l) => l.ref.cons);
    this.lastError = lanes.map(() => undefined);
    lanes.forEach((l, k) => {
      l.ref.reference.oracle.watchPending((pos, pending) => out.put(fact(pending ? PENDING : SETTLED, k, pos)));
      l.ref.reference.watch = {
        stale: (pos, keys) => {
          post({ type: 'stale', pos, keys: [...keys] });
          out.put(fact(STALE, k, 0));
        },
        failed: (pos, reason) => {
          post({ type: 'failed', pos, reason });
          out.put(fact(FAILED, k, 0));
        },
      };
    });
    const lanesOf = this.lanes;
    this.handlers = {
      command: (seq, slot, halves, cause, queue) => {
        const { q, ref } = lanesOf[queue]!;
        ref.write(seq, slot);
        q.write(seq, slot, halves, cause);
        const pos = ref.republished(slot);
        if (pos !== undefined) out.put(fact(REPUB, queue, pos));
        this.end();
      },
      doorbell: (seq, index, wrap, queue) => {
        const { q, ref } = lanesOf[queue]!;
        const from = q.prod;
        const prod = q.doorbell(index, wrap);
        ref.doorbell(seq, index, wrap, from, prod);
        this.state(queue);
        this.end();
      },
      ack: (seq, queue) => {
        lanesOf[queue]!.ref.ack(seq);
        this.state(queue);
        this.end();
      },
      fault: (_seq, sid, timedOut) => {
        lanesOf[laneOfSid.get(sid) ?? 0]!.ref.fault(sid, timedOut);
        this.end();
      },
    };
  }

  /** The trace's events to bare hardware, each followed by its facts. */
  readonly handlers: TraceHandlers;

  /** The queue's consumer position and error, when they changed. */
  private state(k: number): void {
    const ref = this.lanes[k]!.ref;
    if (ref.cons !== this.lastCons[k]) {
      this.lastCons[k] = ref.cons;
      this.out.put(fact(CONS, k, ref.cons));
    }
    const e = ref.error;
    const was = this.lastError[k];
    if (e === undefined) {
      if (was !== undefined) {
        this.lastError[k] = undefined;
        this.out.put(fact(CLEAR, k, 0));
      }
    } else if (was === undefined || was.code !== e.code || was.value !== e.value || was.sid !== e.sid || was.pos !== e.pos) {
      this.lastError[k] = e;
      this.post({ type: 'error', error: e });
      this.out.put(fact(ERROR, k, 0));
    }
  }

  private end(): void {
    this.out.put(fact(END, 0, this.ordinal++));
    this.out.endEvent();
  }

  /** After the last event: each queue's completion bitset and totals. */
  finish(): void {
    this.post({
      type: 'finish',
      lanes: this.lanes.map(({ ref }) => ({
        done: ref.completedBits,
        completions: ref.completions,
        errors: ref.errors,
        findings: ref.findings,
        byKind: { ...ref.byKind },
      })),
    });
    this.out.put(fact(FINISH, 0, 0));
    this.out.close(RING_DONE);
  }
}

/** Bare hardware on one guest queue, as the policy runs of this thread see it: from its thread's facts. */
export class MirroredBare implements BareSide {
  readonly plans: ProbePlans;
  cons: number;
  error: (GuestError & { pos: number }) | undefined = undefined;
  /** Positions the reference oracle holds an invalidation at, after the last event read. */
  readonly pending = new Set<number>();
  readonly stale = new Map<number, ReadonlySet<string>>();
  readonly failed = new Map<number, string>();
  private done: Uint8Array = new Uint8Array(0);
  completions = 0;
  errors = 0;
  findings: readonly GuestFinding[] = [];
  byKind: Partial<Record<GuestFindingKind, number>> = {};

  constructor(topology: Topology, q: GuestQueue) {
    this.plans = new ProbePlans(topology, q.header.arch);
    this.cons = q.start;
  }

  judge(f: StaleFinding): Verdict {
    return judgeStale(f, this.pending.has(f.pos), this.stale.get(f.pos), this.failed.get(f.pos));
  }

  judgeFinal(f: StaleFinding): Violation | undefined {
    return finalVerdict(f, this.judge(f));
  }

  completed(pos: number): boolean {
    const byte = pos >> 3;
    return byte < this.done.length && (this.done[byte]! & (1 << (pos & 7))) !== 0;
  }

  /** Bare hardware's totals at the end. */
  settle(t: LaneTotals): void {
    this.done = t.done;
    this.completions = t.completions;
    this.errors = t.errors;
    this.findings = t.findings;
    this.byKind = t.byKind;
  }
}

/** The facts are not what this reader expects: the ring dropped, reordered or garbled an event. */
export class FactsOutOfStep extends Error {}

/** Another reader of bare hardware's facts failed and aborted them: its error is the one to report. */
export class BareStopped extends Error {
  constructor() {
    super("bare hardware's thread stopped: another share of the replay failed");
  }
}

/** How long receiveMessageOnPort is retried for a message its fact announced (ms). */
const MESSAGE_WAIT_MS = 5000;

/** The policy side: reads bare hardware's facts event by event into its mirrors. */
export class BareFacts {
  /** Ordinal of the next event expected. */
  private next = 0;
  private readonly pause = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    private readonly ring: FactReader,
    private readonly port: MessagePort,
    readonly lanes: readonly MirroredBare[],
  ) {}

  /**
   * One event's facts into the mirrors, before the policies see that event; returns the position
   * a command write republished, or -1.
   */
  step(): number {
    const r = this.ring;
    let repub = -1;
    for (;;) {
      const w = r.take();
      const high = Math.floor(w / 16);
      const code = w - high * 16;
      const arg = Math.floor(high / MAX_QUEUES);
      const queue = high - arg * MAX_QUEUES;
      switch (code) {
        case END:
          if (arg !== this.next) throw new FactsOutOfStep(`bare hardware's facts are out of step: event ${arg} where ${this.next} was due`);
          this.next++;
          r.endEvent();
          return repub;
        case CONS:
          this.lane(queue).cons = arg;
          break;
        case ERROR:
          this.lane(queue).error = this.message('error').error;
          break;
        case CLEAR:
          this.lane(queue).error = undefined;
          break;
        case REPUB:
          repub = arg;
          break;
        case PENDING:
          this.lane(queue).pending.add(arg);
          break;
        case SETTLED:
          this.lane(queue).pending.delete(arg);
          break;
        case STALE: {
          const lane = this.lane(queue);
          const m = this.message('stale');
          lane.stale.set(m.pos, new Set(m.keys));
          break;
        }
        case FAILED: {
          const lane = this.lane(queue);
          const m = this.message('failed');
          lane.failed.set(m.pos, m.reason);
          break;
        }
        default:
          throw new FactsOutOfStep(`bare hardware's facts are out of step: fact ${code} inside event ${this.next}`);
      }
    }
  }

  /** After the last event: bare hardware's totals (`events`: how many the policies saw). */
  finish(events: number): void {
    if (events !== this.next)
      throw new FactsOutOfStep(`bare hardware's facts are out of step: ${this.next} events where ${events} were replayed`);
    const w = this.ring.take();
    if (w !== fact(FINISH, 0, 0)) throw new FactsOutOfStep(`bare hardware's facts are out of step: fact ${w % 16} after the last event`);
    const m = this.message('finish');
    m.lanes.forEach((t, k) => this.lane(k).settle(t));
  }

  private lane(k: number): MirroredBare {
    const lane = this.lanes[k];
    if (lane === undefined) throw new FactsOutOfStep(`bare hardware's facts are out of step: queue ${k} of ${this.lanes.length}`);
    return lane;
  }

  /** The port's next message, which a fact announced: of type `type`. */
  private message<T extends FactMessage['type']>(type: T): Extract<FactMessage, { type: T }> {
    const m = this.receive();
    if (m === undefined) throw new FactsOutOfStep(`bare hardware's facts are out of step: no ${type} message`);
    if (m.type !== type) throw new FactsOutOfStep(`bare hardware's facts are out of step: a ${m.type} message where ${type} was due`);
    return m as Extract<FactMessage, { type: T }>;
  }

  /** The port's next message (posted before the fact that announces it, so due at once: waited for briefly). */
  private receive(): FactMessage | undefined {
    for (let waited = 0; waited < MESSAGE_WAIT_MS; waited++) {
      const got = receiveMessageOnPort(this.port);
      if (got !== undefined) return got.message as FactMessage;
      Atomics.wait(this.pause, 0, 0, 1);
    }
    return undefined;
  }

  /**
   * The ring ended with nothing left to read: bare hardware's thread failed (its error, as the
   * serial run would report it: bad input one line, else an internal error), or ended early.
   */
  ended(state: number): never {
    if (state === RING_ABORTED) throw new BareStopped();
    for (;;) {
      const got = receiveMessageOnPort(this.port);
      if (got === undefined) break;
      const m = got.message as FactMessage;
      if (m.type !== 'fail') continue;
      if (m.input !== undefined) throw new InputFault(m.input);
      throw new Error(`bare hardware's thread: ${m.message ?? 'failed'}`);
    }
    throw new FactsOutOfStep(
      state === RING_DONE
        ? `bare hardware's thread ended after ${this.next} events: the facts of the rest are missing`
        : "bare hardware's thread failed without a word",
    );
  }
}
