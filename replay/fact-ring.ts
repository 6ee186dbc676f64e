// A bounded ring of numbers from one writing thread to one or more reading threads (each reads
// every word), in a SharedArrayBuffer: what bare hardware's thread hands the policy runs
// (bare-facts.ts). The writer blocks (Atomics.wait) when the slowest reader is a ring behind, and a
// reader when it has read everything: memory stays flat however far ahead the writer could run.
// Positions are 32-bit counters that wrap; the ring holds a power of two of words, so a counter's
// slot is its low bits and the words in flight are the difference of two counters (wrap-around
// included).
// Both sides publish their counter in batches (the writer at an event's end once FLUSH words are
// waiting, a reader once an eighth of the ring is read), so a word costs a plain array access and
// an event at most one atomic load. A waiting side wakes in bulk, not word by word: a full ring is
// written again once half of it is free (a reader wakes the writer only then), and a waiting reader
// is woken once a sixteenth of the ring waits for it or the writer pauses (a trace batch's end, its
// own wait for room, the end). Otherwise the side that runs ahead would be woken, at the cost of a
// system call and a thread switch, every few events of the other.
// Either side can end the ring: the writer when it is done (DONE) or failed (FAILED), a reader when
// it stops early (ABORTED: every other reader stops too); a side waiting then wakes and sees it.

/** Control words (Int32). */
const HEAD = 0;
const STATE = 1;
const WRITER_WAITS = 2;
/** The counter every reader must reach for a waiting writer to have the room it waits for. */
const WRITER_WANTS = 3;
/** Readers waiting for words (a count). */
const READERS_WAIT = 4;
/** Bumped by a reader that gives a waiting writer its room: what the writer waits on. */
const ROOM = 5;
const READERS = 6;
/** Each reader's counter, from here. */
const TAILS = 8;
export const MAX_READERS = 8;
const CONTROL_BYTES = (TAILS + MAX_READERS) * 4;

export const RING_OPEN = 0;
export const RING_DONE = 1;
export const RING_FAILED = 2;
export const RING_ABORTED = 3;

/** Words the writer lets wait before it publishes them (and wakes a waiting reader). */
const FLUSH = 256;
/** How long one wait lasts before the waiting side looks at the ring's state again (ms). */
const WAIT_MS = 200;

/** A ring's shared memory for `readers` readers: `words` (a power of two) Float64 slots after the control words (default 2 MB). */
export function factRing(words = 1 << 18, readers = 1): SharedArrayBuffer {
  if (words < 16 || (words & (words - 1)) !== 0) throw new Error(`fact ring: ${words} words is not a power of two of at least 16`);
  if (!(readers >= 1 && readers <= MAX_READERS)) throw new Error(`fact ring: ${readers} readers (1 to ${MAX_READERS})`);
  const sab = new SharedArrayBuffer(CONTROL_BYTES + words * 8);
  new Int32Array(sab, 0, CONTROL_BYTES / 4)[READERS] = readers;
  return sab;
}

/** A reader stopped: the writer has nothing left to do. */
export class RingAborted extends Error {
  constructor() {
    super('fact ring: a reader stopped');
  }
}

/** The writing side. */
export class FactWriter {
  private readonly ctl: Int32Array;
  private readonly data: Float64Array;
  /** The same slots as pairs of 32-bit halves (putHalves): slot i is halves[2i], halves[2i + 1]. */
  private readonly halves: Uint32Array;
  private readonly mask: number;
  private readonly size: number;
  private readonly readers: number;
  /** A full ring is written to again once this much of it is free. */
  private readonly resume: number;
  /** A waiting reader is woken once this many words wait for it (or the writer pauses). */
  private readonly wake: number;
  /** Next word to write, the last counter published, and the counter last woken for. */
  private head = 0;
  private published = 0;
  private woken = 0;
  /** The slowest reader's counter as last read: space is free up to it. */
  private tail = 0;

  constructor(sab: SharedArrayBuffer) {
    this.ctl = new Int32Array(sab, 0, CONTROL_BYTES / 4);
    this.data = new Float64Array(sab, CONTROL_BYTES);
    this.halves = new Uint32Array(sab, CONTROL_BYTES);
    this.size = this.data.length;
    this.mask = this.size - 1;
    this.resume = this.size >> 1;
    this.wake = this.size >> 4;
    this.readers = this.ctl[READERS]!;
  }

  /** Appends one word (waits while the ring is full). */
  put(x: number): void {
    if (((this.head - this.tail) | 0) >= this.size) this.waitForSpace();
    this.data[this.head & this.mask] = x;
    this.head = (this.head + 1) | 0;
  }

  /**
   * Appends 32-bit numbers two to a word, as they are (an even count; read back by takeHalves): a
   * command's words cost half the slots a number each would, and the ring's traffic between the
   * two cores is most of what reading it costs.
   */
  putHalves(h: Uint32Array): void {
    for (let i = 0; i < h.length; i += 2) {
      if (((this.head - this.tail) | 0) >= this.size) this.waitForSpace();
      const at = (this.head & this.mask) * 2;
      this.halves[at] = h[i]!;
      this.halves[at + 1] = h[i + 1]!;
      this.head = (this.head + 1) | 0;
    }
  }

  /** An event's words are all written: published once FLUSH of them wait; waiting readers woken once `wake` do. */
  endEvent(): void {
    if (((this.head - this.published) | 0) >= FLUSH) this.publish(false);
  }

  /** Publishes every word written and wakes the readers that wait (the writer may pause now: at a trace batch's end, say). */
  flush(): void {
    this.publish(true);
  }

  private publish(wakeAlways: boolean): void {
    if (this.head !== this.published) {
      this.published = this.head;
      Atomics.store(this.ctl, HEAD, this.head);
    }
    // A reader that waits is woken in bulk, not every FLUSH words: each wake is a system call and,
    // on a busy machine, a thread switch.
    if (
      this.woken !== this.head &&
      (wakeAlways || ((this.head - this.woken) | 0) >= this.wake) &&
      Atomics.load(this.ctl, READERS_WAIT) !== 0
    ) {
      this.woken = this.head;
      Atomics.notify(this.ctl, HEAD);
    }
  }

  /** Ends the ring (DONE or FAILED) after publishing what is written. */
  close(state: typeof RING_DONE | typeof RING_FAILED): void {
    this.flush();
    Atomics.compareExchange(this.ctl, STATE, RING_OPEN, state);
    Atomics.notify(this.ctl, HEAD);
  }

  /** The slowest reader's counter now. */
  private slowest(): number {
    let behind = 0;
    for (let i = 0; i < this.readers; i++) behind = Math.max(behind, (this.head - Atomics.load(this.ctl, TAILS + i)) | 0);
    return (this.head - behind) | 0;
  }

  private waitForSpace(): void {
    // Whatever is written must be visible first, or a reader would wait for it while we wait for it.
    this.flush();
    const full = this.size - this.resume;
    for (;;) {
      const room = Atomics.load(this.ctl, ROOM);
      this.tail = this.slowest();
      if (((this.head - this.tail) | 0) <= full) return;
      if (Atomics.load(this.ctl, STATE) === RING_ABORTED) throw new RingAborted();
      Atomics.store(this.ctl, WRITER_WANTS, (this.head - full) | 0);
      Atomics.store(this.ctl, WRITER_WAITS, 1);
      // Read again after saying so: a release between the two is seen here or changes ROOM.
      if (((this.head - this.slowest()) | 0) <= full) {
        Atomics.store(this.ctl, WRITER_WAITS, 0);
        continue;
      }
      Atomics.wait(this.ctl, ROOM, room, WAIT_MS);
      Atomics.store(this.ctl, WRITER_WAITS, 0);
    }
  }
}

/**
 * A reading side (`index`: which of the ring's readers). `onEnd(state)` is called when the writer
 * has ended the ring and this reader has read everything (DONE or FAILED), or at once when a reader
 * aborted it (ABORTED): it must throw. `stalled()` is asked after each wait that saw no word arrive
 * (the writer's thread may have died without a word): true ends the wait with FAILED.
 */
export class FactReader {
  private readonly ctl: Int32Array;
  private readonly data: Float64Array;
  private readonly halves: Uint32Array;
  private readonly mask: number;
  private readonly mine: number;
  /** Words read before their space goes back to the writer. */
  private readonly batch: number;
  /** Next word to read, the writer's counter as last read, and the last counter released. */
  private tail = 0;
  private head = 0;
  private released = 0;

  constructor(
    sab: SharedArrayBuffer,
    private readonly onEnd: (state: number) => never,
    private readonly stalled: (waitedMs: number) => boolean = () => false,
    index = 0,
  ) {
    this.ctl = new Int32Array(sab, 0, CONTROL_BYTES / 4);
    this.data = new Float64Array(sab, CONTROL_BYTES);
    this.halves = new Uint32Array(sab, CONTROL_BYTES);
    this.mask = this.data.length - 1;
    this.batch = this.data.length >> 3;
    if (!(index >= 0 && index < this.ctl[READERS]!)) throw new Error(`fact ring: no reader ${index}`);
    this.mine = TAILS + index;
  }

  /** The next word (waits until the writer publishes one). */
  take(): number {
    if (this.tail === this.head) this.waitForWords();
    const x = this.data[this.tail & this.mask]!;
    this.tail = (this.tail + 1) | 0;
    return x;
  }

  /** The next `out.length` (even) 32-bit numbers, written by putHalves, into `out`. */
  takeHalves(out: Uint32Array): void {
    for (let i = 0; i < out.length; i += 2) {
      if (this.tail === this.head) this.waitForWords();
      const at = (this.tail & this.mask) * 2;
      out[i] = this.halves[at]!;
      out[i + 1] = this.halves[at + 1]!;
      this.tail = (this.tail + 1) | 0;
    }
  }

  /** An event's words are read: their space goes back once an eighth of the ring is read. */
  endEvent(): void {
    if (((this.tail - this.released) | 0) >= this.batch) this.release();
  }

  /** Stops reading: the writer and every other reader stop too. */
  abort(): void {
    Atomics.compareExchange(this.ctl, STATE, RING_OPEN, RING_ABORTED);
    Atomics.add(this.ctl, ROOM, 1);
    Atomics.notify(this.ctl, ROOM);
    Atomics.notify(this.ctl, HEAD);
  }

  private release(): void {
    if (this.released === this.tail) return;
    this.released = this.tail;
    Atomics.store(this.ctl, this.mine, this.tail);
    // Wake a waiting writer only once this reader gives it the room it waits for.
    if (Atomics.load(this.ctl, WRITER_WAITS) !== 0 && ((this.tail - Atomics.load(this.ctl, WRITER_WANTS)) | 0) >= 0) {
      Atomics.add(this.ctl, ROOM, 1);
      Atomics.notify(this.ctl, ROOM);
    }
  }

  private waitForWords(): void {
    this.release();
    let waited = 0;
    for (;;) {
      this.head = Atomics.load(this.ctl, HEAD);
      if (this.head !== this.tail) return;
      const state = Atomics.load(this.ctl, STATE);
      if (state === RING_ABORTED) this.onEnd(state);
      if (state === RING_DONE || state === RING_FAILED) {
        // The writer publishes before it ends the ring: read the counter once more.
        this.head = Atomics.load(this.ctl, HEAD);
        if (this.head !== this.tail) return;
        this.onEnd(state);
      }
      Atomics.add(this.ctl, READERS_WAIT, 1);
      if (Atomics.load(this.ctl, HEAD) !== this.tail) {
        Atomics.sub(this.ctl, READERS_WAIT, 1);
        continue;
      }
      const r = Atomics.wait(this.ctl, HEAD, this.tail, WAIT_MS);
      Atomics.sub(this.ctl, READERS_WAIT, 1);
      if (r === 'timed-out') {
        waited += WAIT_MS;
        if (this.stalled(waited)) this.onEnd(RING_FAILED);
      }
    }
  }
}
