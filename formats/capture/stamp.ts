// The time and thread of a queue event as plain numbers, for readers that write trace columns
// directly (formats/capture/queue-rows.ts): host time in ns as two 32-bit halves, modulo 2^64 as the
// trace's Int64 `ts_ns` column stores it (docs/trace-format.md), so no BigInt is made per row. A
// reader keeps one Stamp per open event and copies a line's prefix into it; an event object
// (`CaptureEvent`) gets its `ts_ns` from the halves only when one is made.

import type { LineMeta } from './queue-reader.js';

const HALVES = new Uint32Array(2);
const SIGNED = new BigInt64Array(HALVES.buffer);
const UNSIGNED = new BigUint64Array(HALVES.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;

/** The unsigned 64-bit value of two 32-bit halves (one BigInt made, through a typed array). */
export function unsigned64(hi: number, lo: number): bigint {
  HALVES[LO] = lo;
  HALVES[HI] = hi;
  return UNSIGNED[0]!;
}

/** The signed 64-bit value of two 32-bit halves (what an Int64 column holds for them). */
export function signed64(hi: number, lo: number): bigint {
  HALVES[LO] = lo;
  HALVES[HI] = hi;
  return SIGNED[0]!;
}

/**
 * A number that is no small integer, stored first into a field that will hold numbers of 2^31 or
 * more: V8 lays a field out by the first value stored (a small integer: Smi), and the first larger
 * one changes the layout of every object of that shape (the old map is deprecated, each object
 * migrated when next touched, code compiled against the old layout dropped). A guest trace's times
 * pass 2^31 ns 2.1 s after boot, mid-trace (`node --log-maps`: the scanner's records, this class,
 * GuestVtdRows; docs/ingest.md, twenty-fifth pass). The value is overwritten before anything reads it.
 */
export const DOUBLE_FIELD = 0.5;

export class Stamp {
  /** Host thread id, when printed. */
  tid: number | undefined = undefined;
  /** Whether the line printed a time. */
  timed = false;
  /** Time in ns since the Unix epoch, mod 2^64: bits 63..32 and 31..0. */
  declare hi: number;
  declare lo: number;

  constructor() {
    // Fields laid out for doubles from the start (`DOUBLE_FIELD`), then zero.
    this.hi = this.lo = DOUBLE_FIELD;
    this.hi = this.lo = 0;
  }

  set(tid: number | undefined, timed: boolean, hi: number, lo: number): void {
    this.tid = tid;
    this.timed = timed;
    this.hi = hi;
    this.lo = lo;
  }

  copy(s: Stamp): void {
    this.set(s.tid, s.timed, s.hi, s.lo);
  }

  /** The prefix of a line parsed as text (its time a BigInt). */
  setMeta(l: LineMeta): void {
    const t = l.ts_ns;
    if (t === undefined) return this.set(l.tid, false, 0, 0);
    const u = BigInt.asUintN(64, t);
    this.set(l.tid, true, Number(u >> 32n), Number(u & 0xffffffffn));
  }

  /**
   * `ts_ns` of an event object made from this stamp: the Int64 value of the halves. A time that
   * does not fit (a prefix of 15-digit seconds) is the value the column stores for it, not the
   * exact one; nothing but the column reads an event's time.
   */
  get ts_ns(): bigint | undefined {
    return this.timed ? signed64(this.hi, this.lo) : undefined;
  }
}
