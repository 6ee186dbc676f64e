// Queue ring arithmetic, written once for every layer: the emulators' register views (SmmuRing,
// VtdRing, mirroring QEMU's and Linux's queue helpers down to `consumed`), positions as small pure
// functions on numbers (the replayer's absolute positions, the trace's index plus wrap bit, the TUI's
// ring), and the cursor that places commands one after another.
//
// Two periods (the one subtle rule here):
// - SMMUv3 (spec/smmuv3.md §1.2): a PROD/CONS value holds an index in bits [N-1:0] and a wrap bit N,
//   for E = 2^N entries; increments keep N+1 bits, so a pointer tells 2E positions apart and full
//   (indices equal, wraps differ) from empty. The queue holds E entries.
// - VT-d (spec/vtd.md §1.1-1.2): IQH/IQT hold byte offsets (index << 4, or << 5 for 256-bit
//   descriptors) with no wrap bit, so a pointer tells only E positions apart; IQH == IQT is empty and
//   one slot stays free, so the queue holds E - 1.
// A trace records a wrap bit for both (docs/trace-format.md: VT-d's is the lap parity ingest writes),
// so trace positions live on 2E whatever the architecture; only the hardware's own pointers differ.

/** An SMMUv3-style pointer: index plus wrap bit. */
export interface RingPos {
  readonly index: number;
  readonly wrap: number;
}

/** Positions a pointer tells apart: 2E with a wrap bit (SMMUv3 PROD/CONS, trace positions), E without (VT-d IQH/IQT). */
export function period(entries: number, wrapBit: boolean): number {
  return wrapBit ? 2 * entries : entries;
}

/** Entries a queue holds: E when a wrap bit tells full from empty (SMMUv3), E - 1 when one slot stays free (VT-d). */
export function capacity(entries: number, wrapBit: boolean): number {
  return wrapBit ? entries : entries - 1;
}

/** (index, wrap) as one position on the ring of 2E: the wrap bit above the index, as a PROD value holds it. */
export function wrapValue(index: number, wrap: number, entries: number): number {
  return (wrap & 1) * entries + index;
}

/** The slot of a position (ring or absolute). */
export function ringIndex(pos: number, entries: number): number {
  return pos % entries;
}

/** The wrap bit of a position: the parity of its lap. */
export function ringWrap(pos: number, entries: number): number {
  return Math.floor(pos / entries) & 1;
}

/** Entries from `prev` forward to `next` on a ring of `period` positions (both in [0, period)): what a doorbell published. */
export function published(prev: number, next: number, period: number): number {
  return modAbove(next - prev + period, period);
}

/** The position `n` entries after `pos` (before it, for -period <= n < 0) on a ring of `period` positions. */
export function step(pos: number, n: number, period: number): number {
  return modAbove(pos + n + period, period);
}

/**
 * `x % period`, by compares where `x` lies in [0, 2 * period), as `published` and `step` give it
 * for positions on the ring; any other `x` takes `%` itself. The same value for every input: in
 * [period, 2 * period) `x - period` is exact (Sterbenz). V8 compiles a `%` whose operands it cannot
 * prove int32 to a call to the C library's fmod (x87 `fprem`), which took 16-44% of the samples of
 * the replay engine's per-doorbell methods that inline these (perf annotate, session 14).
 */
function modAbove(x: number, period: number): number {
  if (x >= 0 && x < period) return x;
  if (x >= period && x < 2 * period) return x - period;
  return x % period;
}

/** Position `p` lies in [from, to) going forward round a ring of `period` positions. */
export function between(p: number, from: number, to: number, period: number): boolean {
  return published(from, p, period) < published(from, to, period);
}

/** Publishing `n` entries after position `prev` passes the end of the ring (the producer wraps). */
export function wrapped(prev: number, n: number, entries: number): boolean {
  return (prev % entries) + n >= entries;
}

/**
 * The absolute position (lap * E + index) of a pointer (index, wrap), the nearest at or after the
 * absolute position `from`. With a wrap bit the pointer repeats every 2E positions, without one
 * every E (the wrap is then ignored); a pointer that moves further between two reads is ambiguous.
 */
export function unwrap(index: number, wrap: number, from: number, entries: number, wrapBit: boolean): number {
  const p = period(entries, wrapBit);
  // Without a wrap bit the wrap term is a multiple of the period E, so it drops out.
  return from + published(from % p, wrapValue(index, wrap, entries), p);
}

/** The wrap bit after an index moves forward (by less than a lap) from `prev` to `next`: it flips when the index passes the end. */
export function nextWrap(prev: number, next: number, wrap: number): number {
  return next < prev ? wrap ^ 1 : wrap;
}

/** The next slot commands go to and its wrap bit, placing them one after another round the ring. */
export class RingCursor {
  slot: number;
  wrap = 0;
  constructor(
    readonly entries: number,
    start = 0,
  ) {
    this.slot = start;
  }
  advance(): void {
    // Without a branch around the wrap's store: every operation runs on every call, so the row
    // paths this is inlined into have feedback for it when TurboFan compiles them; the first wrap
    // of a 65,536-entry SMMUv3 queue, long after, made the guest reader's `batch` bail out.
    const next = this.slot + 1;
    const wrapped = next === this.entries ? 1 : 0;
    this.slot = wrapped === 1 ? 0 : next;
    this.wrap ^= wrapped;
  }
}

/** SMMUv3 CMDQ_PROD / CMDQ_CONS values (spec/smmuv3.md §1.2), as QEMU's and Linux's queue helpers read them. */
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

  // The comparisons below read index and wrap as numbers (no RingPos object): the emulators ask
  // them once per command.

  empty(prod: number, cons: number): boolean {
    return ((prod ^ cons) & ((this.entries << 1) - 1)) === 0; // same index, same wrap
  }

  full(prod: number, cons: number): boolean {
    return ((prod ^ cons) & ((this.entries << 1) - 1)) === this.entries; // same index, other wrap
  }

  /** Entries between cons and prod (published, not yet consumed). */
  used(prod: number, cons: number): number {
    const pi = prod & this.mask;
    const ci = cons & this.mask;
    return ((prod ^ cons) & this.entries) === 0 ? pi - ci : this.entries - ci + pi;
  }

  free(prod: number, cons: number): number {
    return this.entries - this.used(prod, cons);
  }

  /** Linux `queue_consumed`: whether the entry at `pos` has been consumed by `cons`. */
  consumed(cons: number, pos: number): boolean {
    const ci = cons & this.mask;
    const pi = pos & this.mask;
    return ((cons ^ pos) & this.entries) === 0 ? ci > pi : ci <= pi;
  }
}

/** VT-d IQH / IQT byte offsets (spec/vtd.md §1.1): no wrap bit, one slot stays free. */
export class VtdRing {
  /** Byte shift of IQH/IQT: 4 for 128-bit descriptors, 5 for 256-bit (IQA.DW=1). */
  readonly shift: 4 | 5;

  constructor(
    readonly entries: number,
    descBytes: 16 | 32,
  ) {
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
    return step(index, 1, this.entries);
  }

  used(tail: number, head: number): number {
    return published(head, tail, this.entries);
  }

  /** Linux keeps one slot free: the queue holds at most entries - 1 descriptors. */
  free(tail: number, head: number): number {
    return capacity(this.entries, false) - this.used(tail, head);
  }
}
