// Queue index arithmetic, written once. SMMUv3 (spec/smmuv3.md §1.2): a PROD/CONS value holds an
// index in bits [N-1:0] and a wrap bit N, for 2^N entries; increments keep N+1 bits so the wrap
// bit flips each lap. VT-d (spec/vtd.md §1.1): IQH/IQT hold byte offsets (index << 4, or << 5
// for 256-bit descriptors); the queue is empty when IQH == IQT and one slot stays free.

/** An SMMUv3-style pointer: index plus wrap bit. */
export interface RingPos {
  readonly index: number;
  readonly wrap: number;
}

export class SmmuRing {
  readonly entries: number;
  readonly mask: number;

  constructor(readonly log2size: number) {
    if (!Number.isInteger(log2size) || log2size < 0 || log2size > 19) throw new Error(`LOG2SIZE ${log2size} outside 0..19`);
    this.entries = 1 << log2size;
    this.mask = this.entries - 1;
  }

  /** Index and wrap of a register value (bits above N, like CONS.ERR, are ignored). */
  pos(value: number): RingPos {
    return { index: value & this.mask, wrap: (value >>> this.log2size) & 1 };
  }

  value(p: RingPos): number {
    return ((p.wrap & 1) << this.log2size) | (p.index & this.mask);
  }

  /** Adds 1 to the (wrap|index) value, keeping N+1 bits. */
  inc(value: number): number {
    return (((value & ((this.entries << 1) - 1)) + 1) & ((this.entries << 1) - 1)) >>> 0;
  }

  empty(prod: number, cons: number): boolean {
    const p = this.pos(prod);
    const c = this.pos(cons);
    return p.index === c.index && p.wrap === c.wrap;
  }

  full(prod: number, cons: number): boolean {
    const p = this.pos(prod);
    const c = this.pos(cons);
    return p.index === c.index && p.wrap !== c.wrap;
  }

  /** Entries between cons and prod (published, not yet consumed). */
  used(prod: number, cons: number): number {
    const p = this.pos(prod);
    const c = this.pos(cons);
    return p.wrap === c.wrap ? p.index - c.index : this.entries - c.index + p.index;
  }

  free(prod: number, cons: number): number {
    return this.entries - this.used(prod, cons);
  }

  /** Linux `queue_consumed`: whether the entry at `pos` has been consumed by `cons`. */
  consumed(cons: number, pos: number): boolean {
    const c = this.pos(cons);
    const p = this.pos(pos);
    return (c.wrap === p.wrap && c.index > p.index) || (c.wrap !== p.wrap && c.index <= p.index);
  }
}

export class VtdRing {
  /** Byte shift of IQH/IQT: 4 for 128-bit descriptors, 5 for 256-bit (IQA.DW=1). */
  readonly shift: 4 | 5;

  constructor(readonly entries: number, descBytes: 16 | 32) {
    if (entries < 2 || (entries & (entries - 1)) !== 0) throw new Error(`VT-d queue of ${entries} entries`);
    this.shift = descBytes === 32 ? 5 : 4;
  }

  /** Entries from IQA.QS and IQA.DW: 2^(QS + 8 - DW) (spec/vtd.md §1.1). */
  static entriesOf(qs: number, dw: 0 | 1): number {
    return 2 ** (qs + 8 - dw);
  }

  index(reg: number): number {
    return reg >>> this.shift;
  }

  reg(index: number): number {
    return index << this.shift;
  }

  next(index: number): number {
    return (index + 1) % this.entries;
  }

  used(tail: number, head: number): number {
    return (tail - head + this.entries) % this.entries;
  }

  /** Linux keeps one slot free: the queue holds at most entries - 1 descriptors. */
  free(tail: number, head: number): number {
    return this.entries - 1 - this.used(tail, head);
  }
}
