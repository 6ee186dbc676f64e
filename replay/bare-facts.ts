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
//   END ordinal            then the event itself, for the readers to replay without reading the
//                          trace: EVENT kind queue seq, then a command's slot * 4 + cause and its
//                          words (two 32-bit halves a slot, FactWriter.putHalves), a doorbell's
//                          index * 256 + wrap, a fault's SID and state
//   BATCH count            after the last event of each trace batch (progress, and the share's
//                          stop flag, are checked there as in a serial run)
// and once after the last event FINISH + message (each queue's completion bitset and totals).
// Bare hardware's thread is the only one that reads the trace: a reader's events come from here.
// BarePublisher makes them in bare hardware's thread; BareFacts reads one event's worth before the
// policies see that event, into MirroredBare (one per guest queue), which answers a policy's run as
// bare hardware itself would after the same event: the tables are the serial run's bytes.

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { InputError } from '../formats/result.js';
import { InputFault } from '../formats/result.js';
import type { Topology } from '../formats/trace/header.js';
import { completedIn, type BareHardware, type BareSide } from './bare.js';
import type { TraceHandlers } from './feed.js';
import type { FactReader, FactWriter } from './fact-ring.js';
import { RING_ABORTED, RING_DONE } from './fact-ring.js';
import type { GuestQueue } from './guest-queue.js';
import type { StaleFinding, Violation } from './oracle.js';
import type { Cause, GuestError } from './policy.js';
import type { FeedCounts } from './feed.js';
import { PageSet } from './page-index.js';
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
export const BATCH = 10;
/** Event kinds, in the EVENT word's code. */
const CMD = 0;
const DOORBELL = 1;
const ACK = 2;
const FAULT = 3;
const CAUSE_CODES: readonly (Cause | undefined)[] = [undefined, 'map', 'unmap'];
const causeCode = (c: Cause | undefined): number => (c === 'map' ? 1 : c === 'unmap' ? 2 : 0);

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
        this.end(CMD, queue, seq);
        out.put(slot * 4 + causeCode(cause));
        out.putHalves(halves);
        out.endEvent();
      },
      doorbell: (seq, index, wrap, queue) => {
        const { q, ref } = lanesOf[queue]!;
        const from = q.prod;
        const prod = q.doorbell(index, wrap);
        ref.doorbell(seq, index, wrap, from, prod);
        this.state(queue);
        this.end(DOORBELL, queue, seq);
        out.put(index * 256 + wrap);
        out.endEvent();
      },
      ack: (seq, queue) => {
        lanesOf[queue]!.ref.ack(seq);
        this.state(queue);
        this.end(ACK, queue, seq);
        out.endEvent();
      },
      fault: (seq, sid, timedOut) => {
        lanesOf[laneOfSid.get(sid) ?? 0]!.ref.fault(sid, timedOut);
        this.end(FAULT, 0, seq);
        out.put(sid);
        out.put(timedOut ? 1 : 0);
        out.endEvent();
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

  /** The event's facts are all written: its end, then the event itself (its payload follows). */
  private end(kind: number, queue: number, seq: number): void {
    this.out.put(fact(END, 0, this.ordinal++));
    this.out.put(fact(kind, queue, seq));
  }

  /** After the last event of a trace batch (`events` so far): published at once. */
  batch(events: number): void {
    this.out.put(fact(BATCH, 0, events));
    this.out.flush();
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
  /**
   * Positions the reference oracle holds an invalidation at, after the last event read: a set of
   * numbers in typed arrays (PageSet, device slot 0), since a position goes in and out at every
   * invalidation, and a JS Set's delete shrinks and reallocates its table (half of `step`'s time).
   */
  private readonly pending = new PageSet();
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

  /** Whether the reference oracle held an invalidation at `pos` after the last event read. */
  isPending(pos: number): boolean {
    return this.pending.has(0, pos);
  }

  /** PENDING (`pending`) or SETTLED read for `pos`. */
  setPending(pos: number, pending: boolean): void {
    if (pending) this.pending.add(0, pos);
    else this.pending.delete(0, pos);
  }

  judge(f: StaleFinding): Verdict {
    return judgeStale(f, this.isPending(f.pos), this.stale.get(f.pos), this.failed.get(f.pos));
  }

  judgeFinal(f: StaleFinding): Violation | undefined {
    return finalVerdict(f, this.judge(f));
  }

  completed(pos: number): boolean {
    return completedIn(this.done, pos);
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

/** A reader's events, as bare hardware's thread replays them (`republished`: REPUB's position, or -1). */
export interface FactEvents {
  command(seq: number, slot: number, halves: Uint32Array, cause: Cause | undefined, queue: number, republished: number): void;
  doorbell(seq: number, index: number, wrap: number, queue: number): void;
  ack(seq: number, queue: number): void;
  fault(seq: number, sid: number, timedOut: boolean): void;
}

/** step()'s answer once the trace has ended (FINISH read, the mirrors settled). */
export const TRACE_END = -2;

/** The policy side: reads bare hardware's facts event by event into its mirrors. */
export class BareFacts {
  /** Ordinal of the next event expected. */
  private next = 0;
  private readonly pause = new Int32Array(new SharedArrayBuffer(4));
  private onBatch: ((events: number) => void) | undefined = undefined;

  constructor(
    private readonly ring: FactReader,
    private readonly port: MessagePort,
    readonly lanes: readonly MirroredBare[],
  ) {}

  /**
   * Every event of the trace, as bare hardware's thread read it, each after its facts are in the
   * mirrors; `onBatch` after each trace batch with the events so far.
   */
  dispatch(h: FactEvents, halvesPerCommand: number, onBatch?: (events: number) => void): FeedCounts {
    this.onBatch = onBatch;
    const r = this.ring;
    const halves = new Uint32Array(halvesPerCommand);
    let events = 0;
    let commands = 0;
    let doorbells = 0;
    let acks = 0;
    for (;;) {
      const repub = this.step();
      if (repub === TRACE_END) break;
      const w = r.take();
      const high = Math.floor(w / 16);
      const kind = w - high * 16;
      const seq = Math.floor(high / MAX_QUEUES);
      const queue = high - seq * MAX_QUEUES;
      switch (kind) {
        case CMD: {
          const sc = r.take();
          const slot = Math.floor(sc / 4);
          r.takeHalves(halves);
          h.command(seq, slot, halves, CAUSE_CODES[sc - slot * 4], queue, repub);
          commands++;
          break;
        }
        case DOORBELL: {
          const iw = r.take();
          const index = Math.floor(iw / 256);
          h.doorbell(seq, index, iw - index * 256, queue);
          doorbells++;
          break;
        }
        case ACK:
          h.ack(seq, queue);
          acks++;
          break;
        case FAULT: {
          const sid = r.take();
          h.fault(seq, sid, r.take() === 1);
          break;
        }
        default:
          throw new FactsOutOfStep(`bare hardware's facts are out of step: event kind ${kind} at event ${this.next - 1}`);
      }
      events++;
    }
    if (events !== this.next) throw new FactsOutOfStep(`bare hardware's facts are out of step: ${events} events replayed of ${this.next}`);
    return { events, commands, doorbells, acks };
  }

  /**
   * One event's facts into the mirrors, before the policies see that event; returns the position
   * a command write republished, or -1 (TRACE_END after the last event: the mirrors hold bare
   * hardware's totals). The event itself follows (dispatch reads it).
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
          this.lane(queue).setPending(arg, true);
          break;
        case SETTLED:
          this.lane(queue).setPending(arg, false);
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
        case BATCH:
          this.onBatch?.(arg);
          break;
        case FINISH: {
          const m = this.message('finish');
          m.lanes.forEach((t, k) => this.lane(k).settle(t));
          return TRACE_END;
        }
        default:
          throw new FactsOutOfStep(`bare hardware's facts are out of step: fact ${code} inside event ${this.next}`);
      }
    }
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
