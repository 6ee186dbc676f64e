// A growable buffer of fixed-size records of numbers, each addressed by its position: a count that
// only grows, so a position stays valid while its record is kept. A pair's two sides keep in one
// what the aligner has not yet handed on (qemu-items.ts QemuKeptItems: QEMU's events until the
// aligner's output reaches them; guest-items.ts GuestKeptCommands: the guest's commands until
// paired). The records before `firstLive` are dropped when a new one needs room; if that frees too
// little, the buffer doubles.

/** Records a buffer holds at first. */
const FIRST_RECORDS = 1024;
/** What `buf` holds before its first records (the constructor). */
const NO_RECORDS = new Float64Array(0);

export abstract class KeptRecords {
  /** The records, `stride` numbers each; `base` is the position of the first. */
  declare buf: Float64Array;
  declare base: number;
  /** Position after the last record. */
  protected end = 0;
  /** Position of the first record still needed (those before it go at the next `room`). */
  declare protected firstLive: number;

  constructor(private readonly stride: number) {
    // `buf`, `base` and `firstLive` change when records are dropped or the buffer grows, which
    // may come first mid-run: each is written a first value, then its own, so that V8 never takes
    // it for a constant. A field written once is one; optimized code that relied on it (`add`
    // inlined in both sides' readers) was thrown away when it first changed (docs/ingest.md,
    // twenty-fifth pass).
    this.buf = NO_RECORDS;
    this.base = this.firstLive = -1;
    this.buf = new Float64Array(stride * FIRST_RECORDS);
    this.base = this.firstLive = 0;
  }

  /** The index in `buf` of the record at position `p`. */
  index(p: number): number {
    return (p - this.base) * this.stride;
  }

  /** A new record at position `end` (which then moves on): its index in `buf`. */
  protected add(): number {
    let i = (this.end - this.base) * this.stride;
    if (i === this.buf.length) i = this.room();
    this.end++;
    return i;
  }

  /** Drops the records before `firstLive` and, if that frees too little, doubles the buffer; the next index. */
  private room(): number {
    const live = this.end - this.firstLive;
    const from = (this.firstLive - this.base) * this.stride;
    if (live * 2 > this.end - this.base) {
      const b = new Float64Array(this.buf.length * 2);
      b.set(this.buf.subarray(from));
      this.buf = b;
    } else this.buf.copyWithin(0, from);
    this.base = this.firstLive;
    return live * this.stride;
  }
}
