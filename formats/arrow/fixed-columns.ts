// Fixed-capacity columns for batch builders on hot paths: each batch preallocates its arrays once
// (no growth checks), a validity bitmap starts all-null so a null costs nothing, and each class
// stores into one typed-array type only (monomorphic writes). Small integer columns are kept as
// Uint32 and narrowed when the batch is finished.

import {
  Data,
  Int16,
  Int32,
  Int64,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  makeData,
  type DataType,
  type Dictionary,
  type Utf8,
  type Vector,
} from 'apache-arrow';

function bitmap(valid: Uint8Array | undefined, n: number, nonNull: number): Uint8Array | undefined {
  return valid === undefined || nonNull === n ? undefined : valid.slice(0, (n + 7) >> 3);
}

abstract class Fixed {
  protected valid: Uint8Array | undefined;
  nonNull = 0;
  constructor(
    readonly capacity: number,
    nullable: boolean,
  ) {
    if (nullable) this.valid = new Uint8Array((capacity + 7) >> 3);
  }
  protected mark(row: number): void {
    if (this.valid !== undefined) this.valid[row >> 3]! |= 1 << (row & 7);
    this.nonNull++;
  }
  protected reset(n: number): void {
    this.valid?.fill(0, 0, (n + 7) >> 3);
    this.nonNull = 0;
  }
  /**
   * Zeroes the values of the first `n` rows. A finished batch leaves its values behind (a null row
   * of the next batch carries them under its null bit); a column that must write zeros there, as a
   * fresh one does, clears them after `finish`.
   */
  abstract clear(n: number): void;
}

/** Unsigned integers up to 32 bits (narrowed to the column's type at finish), or Int32. */
export class SmallCol extends Fixed {
  private readonly values: Uint32Array | Int32Array;
  constructor(
    readonly type: Uint8 | Uint16 | Uint32 | Int32,
    capacity: number,
    nullable = true,
  ) {
    super(capacity, nullable);
    this.values = type instanceof Int32 ? new Int32Array(capacity) : new Uint32Array(capacity);
  }
  set(row: number, v: number): void {
    this.values[row] = v;
    this.mark(row);
  }
  clear(n: number): void {
    this.values.fill(0, 0, n);
  }
  finish(n: number): Data {
    const src = this.values.subarray(0, n);
    // Narrowed by a typed-array copy: each value taken mod 2^8 / 2^16 as `from` takes it, without its iteration.
    let data: Uint8Array | Uint16Array | Uint32Array | Int32Array;
    if (this.type instanceof Uint8) (data = new Uint8Array(n)).set(src);
    else if (this.type instanceof Uint16) (data = new Uint16Array(n)).set(src);
    else data = src.slice();
    const d = makeData({
      type: this.type as DataType,
      length: n,
      nullCount: n - this.nonNull,
      nullBitmap: bitmap(this.valid, n, this.nonNull),
      data,
    } as never) as Data;
    this.reset(n);
    return d;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** 64-bit integers. */
export class BigCol extends Fixed {
  private readonly values: BigUint64Array | BigInt64Array;
  /** The values' memory as 32-bit halves (`setHalves`). */
  private readonly halves: Uint32Array;
  constructor(
    readonly type: Uint64 | Int64,
    capacity: number,
    nullable = true,
  ) {
    super(capacity, nullable);
    this.values = type instanceof Int64 ? new BigInt64Array(capacity) : new BigUint64Array(capacity);
    this.halves = new Uint32Array(this.values.buffer);
  }
  set(row: number, v: bigint): void {
    this.values[row] = v;
    this.mark(row);
  }
  /** The value whose bits 63..32 are `hi` and 31..0 `lo` (two's complement for Int64), without a BigInt. */
  setHalves(row: number, hi: number, lo: number): void {
    const h = this.halves;
    if (LITTLE_ENDIAN) {
      h[2 * row] = lo;
      h[2 * row + 1] = hi;
    } else {
      h[2 * row] = hi;
      h[2 * row + 1] = lo;
    }
    this.mark(row);
  }
  clear(n: number): void {
    this.values.fill(0n, 0, n);
  }
  finish(n: number): Data {
    const d = makeData({
      type: this.type as DataType,
      length: n,
      nullCount: n - this.nonNull,
      nullBitmap: bitmap(this.valid, n, this.nonNull),
      data: this.values.slice(0, n),
    } as never) as Data;
    this.reset(n);
    return d;
  }
}

/** Dictionary codes (Int16) over a fixed dictionary shared by every batch. */
export class CodeCol extends Fixed {
  private readonly values: Int16Array;
  constructor(
    readonly type: Dictionary<Utf8, Int16>,
    readonly dictionary: Vector<Utf8>,
    capacity: number,
    nullable = true,
  ) {
    super(capacity, nullable);
    this.values = new Int16Array(capacity);
  }
  set(row: number, code: number): void {
    this.values[row] = code;
    this.mark(row);
  }
  clear(n: number): void {
    this.values.fill(0, 0, n);
  }
  finish(n: number): Data {
    const d = makeData({
      type: this.type,
      length: n,
      nullCount: n - this.nonNull,
      nullBitmap: bitmap(this.valid, n, this.nonNull),
      data: this.values.slice(0, n),
      dictionary: this.dictionary,
    });
    this.reset(n);
    return d;
  }
}

export { Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64 };
