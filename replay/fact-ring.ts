// A bounded ring of numbers between two threads, one writing and one reading, in a
// SharedArrayBuffer: what bare hardware's thread hands the policy runs (bare-facts.ts). The writer
// blocks (Atomics.wait) when the ring is full and the reader when it is empty: memory stays flat
// however far ahead the writer could run. Positions are 32-bit counters that wrap; the ring holds a
// power of two of words, so a counter's slot is its low bits and the words in flight are the
// difference of two counters (wrap-around included).
// Both sides publish their counter in batches (the writer at an event's end once FLUSH words are
// waiting, the reader once an eighth of the ring is read), so a word costs a plain array access and
// an event at most one atomic load. A waiting side wakes in bulk, not word by word: a full ring is
// written again once half of it is free (the reader wakes the writer only then), and the reader
// waits for the writer's next batch. Otherwise the side that runs ahead (bare hardware, mostly)
// would be woken, at the cost of a system call and a thread switch, every few events of the other.
// Either side can end the ring: the writer when it is done (DONE) or failed (FAILED), the reader
// when it stops early (ABORTED); a side waiting on the other then wakes and sees it.

/** Control words (Int32): the two counters, who waits, and the ring's state. */
const HEAD = 0;
const TAIL = 1;
const READER_WAITS = 2;
const WRITER_WAITS = 3;
const STATE = 4;
/** The reader's counter at which a waiting writer has the room it waits for. */
const WRITER_WANTS = 5;
const CONTROL_BYTES = 64;

export const RING_OPEN = 0;
export const RING_DONE = 1;
export const RING_FAILED = 2;
export const RING_ABORTED = 3;

/** Words the writer lets wait before it publishes them (and wakes a waiting reader). */
const FLUSH = 256;
/** How long one wait lasts before the waiting side looks at the ring's state again (ms). */
const WAIT_MS = 200;

/** A ring's shared memory: `words` (a power of two) Float64 slots after the control words (default 2 MB). */
export function factRing(words = 1 << 18): SharedArrayBuffer {
  if (words < 16 || (words & (words - 1)) !== 0) throw new Error(`fact ring: ${words} words is not a power of two of at least 16`);
  return new SharedArrayBuffer(CONTROL_BYTES + words * 8);
}

/** The reader stopped: the writer has nothing left to do. */
export class RingAborted extends Error {
  constructor() {
    super('fact ring: the reader stopped');
  }
}

/** The writing side. */
export class FactWriter {
  private readonly ctl: Int32Array;
  private readonly data: Float64Array;
  private readonly mask: number;
  private readonly size: number;
  /** A full ring is written to again once this much of it is free. */
  private readonly resume: number;
  /** Next word to write, and the last counter published. */
  private head = 0;
  private published = 0;
  /** The reader's counter as last read: space is free up to it. */
  private tail = 0;

  constructor(sab: SharedArrayBuffer) {
    this.ctl = new Int32Array(sab, 0, CONTROL_BYTES / 4);
    this.data = new Float64Array(sab, CONTROL_BYTES);
    this.size = this.data.length;
    this.mask = this.size - 1;
    this.resume = this.size >> 1;
  }

  /** Appends one word (waits while the ring is full). */
  put(x: number): void {
    if (((this.head - this.tail) | 0) >= this.size) this.waitForSpace();
    this.data[this.head & this.mask] = x;
    this.head = (this.head + 1) | 0;
  }

  /** An event's words are all written: published once FLUSH of them wait. */
  endEvent(): void {
    if (((this.head - this.published) | 0) >= FLUSH) this.flush();
  }

  /** Publishes every word written, and wakes the reader if it waits. */
  flush(): void {
    if (this.head === this.published) return;
    this.published = this.head;
    Atomics.store(this.ctl, HEAD, this.head);
    if (Atomics.load(this.ctl, READER_WAITS) !== 0) Atomics.notify(this.ctl, HEAD);
  }

  /** Ends the ring (DONE or FAILED) after publishing what is written. */
  close(state: typeof RING_DONE | typeof RING_FAILED): void {
    this.flush();
    Atomics.compareExchange(this.ctl, STATE, RING_OPEN, state);
    Atomics.notify(this.ctl, HEAD);
  }

  private waitForSpace(): void {
    // Whatever is written must be visible first, or the reader would wait for it while we wait for it.
    this.flush();
    const full = this.size - this.resume;
    for (;;) {
      this.tail = Atomics.load(this.ctl, TAIL);
      if (((this.head - this.tail) | 0) <= full) return;
      if (Atomics.load(this.ctl, STATE) === RING_ABORTED) throw new RingAborted();
      Atomics.store(this.ctl, WRITER_WANTS, (this.head - full) | 0);
      Atomics.store(this.ctl, WRITER_WAITS, 1);
      // Read again after saying so: a release between the two is seen here or wakes the wait.
      if (((this.head - Atomics.load(this.ctl, TAIL)) | 0) <= full) {
        Atomics.store(this.ctl, WRITER_WAITS, 0);
        continue;
      }
      Atomics.wait(this.ctl, TAIL, this.tail, WAIT_MS);
      Atomics.store(this.ctl, WRITER_WAITS, 0);
    }
  }
}

/**
 * The reading side. `onEnd(state)` is called when the ring is empty and the writer has ended it
 * (DONE with nothing left, or FAILED): it must throw. `stalled()` is asked after each wait that saw
 * no word arrive (the writer's thread may have died without a word): true ends the wait with an error.
 */
export class FactReader {
  private readonly ctl: Int32Array;
  private readonly data: Float64Array;
  private readonly mask: number;
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
  ) {
    this.ctl = new Int32Array(sab, 0, CONTROL_BYTES / 4);
    this.data = new Float64Array(sab, CONTROL_BYTES);
    this.mask = this.data.length - 1;
    this.batch = this.data.length >> 3;
  }

  /** The next word (waits until the writer publishes one). */
  take(): number {
    if (this.tail === this.head) this.waitForWords();
    const x = this.data[this.tail & this.mask]!;
    this.tail = (this.tail + 1) | 0;
    return x;
  }

  /** An event's words are read: their space goes back once an eighth of the ring is read. */
  endEvent(): void {
    if (((this.tail - this.released) | 0) >= this.batch) this.release();
  }

  /** Stops reading: a writer waiting for space wakes and stops too. */
  abort(): void {
    Atomics.compareExchange(this.ctl, STATE, RING_OPEN, RING_ABORTED);
    Atomics.notify(this.ctl, TAIL);
  }

  private release(): void {
    if (this.released === this.tail) return;
    this.released = this.tail;
    Atomics.store(this.ctl, TAIL, this.tail);
    // Wake a waiting writer only once it has the room it waits for.
    if (Atomics.load(this.ctl, WRITER_WAITS) !== 0 && ((this.tail - Atomics.load(this.ctl, WRITER_WANTS)) | 0) >= 0)
      Atomics.notify(this.ctl, TAIL);
  }

  private waitForWords(): void {
    this.release();
    let waited = 0;
    for (;;) {
      this.head = Atomics.load(this.ctl, HEAD);
      if (this.head !== this.tail) return;
      const state = Atomics.load(this.ctl, STATE);
      if (state === RING_DONE || state === RING_FAILED) {
        // The writer publishes before it ends the ring: read the counter once more.
        this.head = Atomics.load(this.ctl, HEAD);
        if (this.head !== this.tail) return;
        this.onEnd(state);
      }
      Atomics.store(this.ctl, READER_WAITS, 1);
      if (Atomics.load(this.ctl, HEAD) !== this.tail) {
        Atomics.store(this.ctl, READER_WAITS, 0);
        continue;
      }
      const r = Atomics.wait(this.ctl, HEAD, this.tail, WAIT_MS);
      Atomics.store(this.ctl, READER_WAITS, 0);
      if (r === 'timed-out') {
        waited += WAIT_MS;
        if (this.stalled(waited)) this.onEnd(RING_FAILED);
      }
    }
  }
}
