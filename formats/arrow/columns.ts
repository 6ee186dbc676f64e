// Arrow columns built from growing typed arrays (one makeData per column and batch, no per-value
// builders), with a validity bitmap allocated only once a null appears.
//
// With `reuse`, for a consumer that is done with a batch's buffers once it has taken the batch (the
// result tables' file sink writes each batch out before it returns), a finished batch's values go
// into an array the column keeps and overwrites at the next finish, instead of a fresh one: at
// 32,768 rows a host_ops batch is 1.2 MB, and fresh pages cost a fault each (~10-16 us on a PVM
// guest) plus the kernel's zeroing. The bytes are the same either way.

import { StringDictionary } from './dictionary.js';
import {
  Data,
  Dictionary,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
  Vector,
  makeData,
  vectorFromArray,
  type DataType,
} from 'apache-arrow';

type Numeric = Int8 | Int16 | Int32 | Int64 | Uint8 | Uint16 | Uint32 | Uint64 | Float64;
type ArrayOf<T extends Numeric> = T['TArray'];
type Ctor<A> = { new (n: number): A };

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Validity bitmap that starts absent (all valid) and grows with its column. */
class Validity {
  bits: Uint8Array | undefined;
  nulls = 0;

  set(i: number, valid: boolean, capacity: number): void {
    if (valid && this.bits === undefined) return;
    if (this.bits === undefined) {
      this.bits = new Uint8Array(Math.ceil(capacity / 8)).fill(0xff);
    } else if (this.bits.length * 8 < capacity) {
      const next = new Uint8Array(Math.ceil(capacity / 8)).fill(0xff);
      next.set(this.bits);
      this.bits = next;
    }
    if (valid) this.bits[i >> 3]! |= 1 << (i & 7);
    else {
      this.bits[i >> 3]! &= ~(1 << (i & 7));
      this.nulls++;
    }
  }

  slice(n: number): Uint8Array | undefined {
    return this.nulls === 0 || this.bits === undefined ? undefined : this.bits.slice(0, Math.ceil(n / 8));
  }
}

/**
 * A numeric column: push values (or null), then `finish()` one Data and start over.
 *
 * Number columns stage their values in a Float64Array (one array type at the store site) and copy
 * them into their typed array at `finish` (one typed-array copy per batch, converting as a store
 * would): a store into the column's own typed array in `push` would see every column's array type
 * at one site (megamorphic, about 100 ns a value, a quarter of a `replay -o`). A staged NaN is
 * V8's canonical one, as a plain array (the stage before) stored it. BigInt columns (two array
 * types) store straight into theirs. Either way a null leaves the slot as the previous batch left
 * it (0 where nothing was written yet), as the bytes always were.
 */
export class NumCol<T extends Numeric, V extends number | bigint = ArrayOf<T> extends BigInt64Array | BigUint64Array ? bigint : number> {
  private buf: ArrayOf<T>;
  /** A BigInt column's memory as 32-bit halves (`pushU64`). */
  private halves: Uint32Array | undefined;
  /** The staged values of a number column (undefined: a BigInt column, written to `buf`). */
  private vals: Float64Array | undefined;
  /** With `reuse`: the array a number column's finished batches are copied into. */
  private out: ArrayOf<T> | undefined;
  /** Slots the column holds before it grows (as its typed array's length would be). */
  private cap: number;
  private validity = new Validity();
  length = 0;

  constructor(
    readonly type: T,
    private readonly ctor: Ctor<ArrayOf<T>>,
    capacity = 1024,
    /** Hand out arrays that the next `finish` overwrites (see the header). */
    private readonly reuse = false,
  ) {
    const big = (ctor as unknown) === BigInt64Array || (ctor as unknown) === BigUint64Array;
    this.buf = new ctor(big ? capacity : 0);
    if (big) this.halves = new Uint32Array((this.buf as unknown as BigUint64Array).buffer);
    this.vals = big ? undefined : new Float64Array(capacity);
    this.cap = capacity;
  }

  private grow(): void {
    this.cap *= 2;
    if (this.vals !== undefined) {
      const vals = new Float64Array(this.cap);
      vals.set(this.vals);
      this.vals = vals;
      return;
    }
    const next = new this.ctor(this.cap);
    (next as unknown as { set(a: ArrayLike<unknown>): void }).set(this.buf);
    this.buf = next;
    this.halves = new Uint32Array((next as unknown as BigUint64Array).buffer);
  }

  /**
   * A Uint64 column's value given as a number, as `push(BigInt(v))` stores it: through its 32-bit
   * halves, without a BigInt, when it is a safe non-negative integer.
   */
  pushU64(v: number): void {
    if (this.halves === undefined || !(v >= 0 && v <= Number.MAX_SAFE_INTEGER && Number.isInteger(v))) {
      this.push(BigInt(v) as V);
      return;
    }
    if (this.length === this.cap) this.grow();
    const h = this.halves;
    const lo = v >>> 0;
    const hi = (v - lo) / 4294967296;
    if (LITTLE_ENDIAN) {
      h[2 * this.length] = lo;
      h[2 * this.length + 1] = hi;
    } else {
      h[2 * this.length] = hi;
      h[2 * this.length + 1] = lo;
    }
    if (this.validity.bits !== undefined) this.validity.set(this.length, true, this.cap);
    this.length++;
  }

  push(v: V): void {
    if (this.length === this.cap) this.grow();
    if (this.vals !== undefined) this.vals[this.length] = (v === v ? v : NaN) as number;
    else (this.buf as unknown as V[])[this.length] = v;
    if (this.validity.bits !== undefined) this.validity.set(this.length, true, this.cap);
    this.length++;
  }

  pushNull(): void {
    if (this.length === this.cap) this.grow();
    this.validity.set(this.length, false, this.cap);
    this.length++;
  }

  /**
   * `src[from, to)` appended, each value as `push` stores it (`map[v]` instead of v when given: a
   * dictionary's codes). A loop a column rather than a call a cell: a parallel replay's merge
   * copies runs of rows from its spills (replay/parallel.ts). A BigInt column takes its values as
   * `pushU64` does.
   */
  appendFrom(src: ArrayLike<number>, from: number, to: number, map?: ArrayLike<number>): void {
    const n = to - from;
    if (n <= 0) return;
    if (this.validity.bits !== undefined || this.vals === undefined) {
      // Nulls in this batch (valid bits to set) or a BigInt column: a value at a time.
      for (let i = from; i < to; i++) {
        const v = map === undefined ? src[i]! : map[src[i]!]!;
        if (this.vals === undefined) this.pushU64(v);
        else this.push(v as V);
      }
      return;
    }
    while (this.length + n > this.cap) this.grow();
    const vals = this.vals;
    let k = this.length;
    if (map === undefined)
      for (let i = from; i < to; i++) {
        const v = src[i]!;
        vals[k++] = v === v ? v : NaN;
      }
    else for (let i = from; i < to; i++) vals[k++] = map[src[i]!]!;
    this.length = k;
  }

  pushMaybe(v: V | undefined | null): void {
    if (v === undefined || v === null) this.pushNull();
    else this.push(v);
  }

  /** The column so far as one Data; the column restarts empty. */
  finish(): Data<T> {
    let data: ArrayOf<T>;
    if (this.vals !== undefined) {
      data = this.reuse ? this.kept(this.length) : new this.ctor(this.length);
      (data as unknown as { set(a: ArrayLike<unknown>): void }).set(this.vals.subarray(0, this.length));
    } else {
      // With reuse, the column's own array (the next batch writes over it, as it writes over the
      // staged values of a number column: a null slot keeps what the previous batch left there).
      const b = this.buf as unknown as { slice(a: number, b: number): ArrayOf<T>; subarray(a: number, b: number): ArrayOf<T> };
      data = this.reuse ? b.subarray(0, this.length) : b.slice(0, this.length);
    }
    const out = makeData({
      type: this.type,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.slice(this.length),
      data,
    } as never) as unknown as Data<T>;
    this.length = 0;
    this.validity = new Validity();
    return out;
  }

  /** The kept output array's first `n` slots (made, at the column's capacity, when too small). */
  private kept(n: number): ArrayOf<T> {
    if (this.out === undefined || (this.out as unknown as { length: number }).length < n) this.out = new this.ctor(Math.max(n, this.cap));
    return (this.out as unknown as { subarray(a: number, b: number): ArrayOf<T> }).subarray(0, n);
  }
}

export const u8 = (cap?: number, reuse?: boolean) => new NumCol<Uint8>(new Uint8(), Uint8Array, cap, reuse);
export const u16 = (cap?: number, reuse?: boolean) => new NumCol<Uint16>(new Uint16(), Uint16Array, cap, reuse);
export const u32 = (cap?: number, reuse?: boolean) => new NumCol<Uint32>(new Uint32(), Uint32Array, cap, reuse);
export const u64 = (cap?: number, reuse?: boolean) => new NumCol<Uint64>(new Uint64(), BigUint64Array, cap, reuse);
export const i32 = (cap?: number, reuse?: boolean) => new NumCol<Int32>(new Int32(), Int32Array, cap, reuse);
export const i64 = (cap?: number, reuse?: boolean) => new NumCol<Int64>(new Int64(), BigInt64Array, cap, reuse);
export const f64 = (cap?: number, reuse?: boolean) => new NumCol<Float64>(new Float64(), Float64Array, cap, reuse);

/** A UTF-8 string column: offsets and bytes in growing typed arrays. */
export class StrCol {
  private offsets = new Int32Array(1024);
  private bytes = new Uint8Array(16 * 1024);
  private used = 0;
  private readonly enc = new TextEncoder();
  length = 0;

  push(v: string): void {
    if (this.length + 1 >= this.offsets.length) {
      const o = new Int32Array(this.offsets.length * 2);
      o.set(this.offsets);
      this.offsets = o;
    }
    const need = this.used + v.length * 3;
    if (need > this.bytes.length) {
      const b = new Uint8Array(Math.max(need, this.bytes.length * 2));
      b.set(this.bytes.subarray(0, this.used));
      this.bytes = b;
    }
    this.used += this.enc.encodeInto(v, this.bytes.subarray(this.used)).written;
    this.offsets[++this.length] = this.used;
  }

  finish(): Data<Utf8> {
    const data = makeData({
      type: new Utf8(),
      length: this.length,
      nullCount: 0,
      valueOffsets: this.offsets.slice(0, this.length + 1),
      data: this.bytes.slice(0, this.used),
    });
    this.length = 0;
    this.used = 0;
    this.offsets = new Int32Array(1024);
    return data;
  }
}

/**
 * A fixed string dictionary (StringDictionary: its id, values and codes) with apache-arrow's view
 * of it: one Vector instance, so apache-arrow's writer emits it once.
 */
export class FixedDictionary extends StringDictionary {
  readonly type: Dictionary<Utf8, Int16>;
  readonly vector: Vector<Utf8>;

  constructor(id: number, values: readonly string[]) {
    super(id, values);
    this.type = new Dictionary(new Utf8(), new Int16(), id);
    this.vector = vectorFromArray(values as string[], new Utf8());
  }
}

/** A dictionary-encoded string column over a FixedDictionary. */
export class DictCol {
  private readonly codes: NumCol<Int16>;
  /** The last value pushed and its code (a policy's rows come in runs). */
  private last: string | undefined;
  private lastCode = 0;

  constructor(
    readonly dict: FixedDictionary,
    cap?: number,
    reuse?: boolean,
  ) {
    this.codes = new NumCol<Int16>(new Int16(), Int16Array, cap, reuse);
  }

  get length(): number {
    return this.codes.length;
  }

  push(v: string): void {
    if (v !== this.last) {
      this.lastCode = this.codeOf(v);
      this.last = v;
    }
    this.codes.push(this.lastCode);
  }

  /**
   * `dict.indexOf(v)`: a small dictionary (host_ops kinds, policies) by compares, from the end as
   * the dictionary's map keeps the last index of a value listed twice; the values are constants
   * or the same string objects, so each compare is a pointer compare mostly.
   */
  private codeOf(v: string): number {
    const values = this.dict.values;
    if (values.length <= 16) for (let i = values.length - 1; i >= 0; i--) if (values[i] === v) return i;
    return this.dict.indexOf(v);
  }

  pushCode(code: number): void {
    this.codes.push(code);
  }

  /** The codes `src[from, to)` (through `map` when given) appended, as `pushCode` would (NumCol.appendFrom). */
  appendCodes(src: ArrayLike<number>, from: number, to: number, map?: ArrayLike<number>): void {
    this.codes.appendFrom(src, from, to, map);
  }

  pushNull(): void {
    this.codes.pushNull();
  }

  finish(): Data<Dictionary<Utf8, Int16>> {
    const idx = this.codes.finish();
    return makeData({
      type: this.dict.type,
      length: idx.length,
      nullCount: idx.nullCount,
      nullBitmap: idx.nullBitmap,
      data: idx.values,
      dictionary: this.dict.vector,
    });
  }
}

export type AnyCol = NumCol<Numeric, number | bigint> | DictCol;
export type { DataType };
