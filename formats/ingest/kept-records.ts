// A growable buffer of fixed-size records of numbers, each addressed by its position: a count that
// only grows, so a position stays valid while its record is kept. A pair's two sides keep in one
// what the aligner has not yet handed on (qemu-items.ts QemuKeptItems: QEMU's events until the
// aligner's output reaches them; guest-items.ts GuestKeptCommands: the guest's commands until
// paired). The records before `firstLive` are dropped when a new one needs room; if that frees too
// little, the buffer doubles.

/** Records a buffer holds at first. */
const FIRST_RECORDS = 1024;

export abstract class KeptRecords {
  /** The records, `stride` numbers each; `base` is the position of the first. */
  buf: Float64Array;
  base = 0;
  /** Position after the last record. */
  protected end = 0;
  /** Position of the first record still needed (those before it go at the next `room`). */
  protected firstLive = 0;

  constructor(private readonly stride: number) {
    this.buf = new Float64Array(stride * FIRST_RECORDS);
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
