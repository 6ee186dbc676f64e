// Arrow columns built from growing typed arrays (one makeData per column and batch, no per-value
// builders), with a validity bitmap allocated only once a null appears.

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
 * Number columns stage their values in a plain array and copy them into their typed array at
 * `finish` (one builtin copy per batch): a store into the typed array in `push` would see every
 * column's array type at one site (megamorphic, about 100 ns a value, a quarter of a `replay -o`).
 * BigInt columns (two array types) store straight into theirs. Either way a null leaves the slot
 * as the previous batch left it (0 where nothing was written yet), as the bytes always were.
 */
export class NumCol<T extends Numeric, V extends number | bigint = ArrayOf<T> extends BigInt64Array | BigUint64Array ? bigint : number> {
  private buf: ArrayOf<T>;
  /** The staged values of a number column (undefined: a BigInt column, written to `buf`). */
  private readonly vals: V[] | undefined;
  /** Slots the column holds before it grows (as its typed array's length would be). */
  private cap: number;
  private validity = new Validity();
  length = 0;

  constructor(
    readonly type: T,
    private readonly ctor: Ctor<ArrayOf<T>>,
    capacity = 1024,
  ) {
    const big = (ctor as unknown) === BigInt64Array || (ctor as unknown) === BigUint64Array;
    this.buf = new ctor(big ? capacity : 0);
    this.vals = big ? undefined : [];
    this.cap = capacity;
  }

  private grow(): void {
    this.cap *= 2;
    if (this.vals !== undefined) return;
    const next = new this.ctor(this.cap);
    (next as unknown as { set(a: ArrayLike<unknown>): void }).set(this.buf);
    this.buf = next;
  }

  push(v: V): void {
    if (this.length === this.cap) this.grow();
    if (this.vals !== undefined) this.vals[this.length] = v;
    else (this.buf as unknown as V[])[this.length] = v;
    if (this.validity.bits !== undefined) this.validity.set(this.length, true, this.cap);
    this.length++;
  }

  pushNull(): void {
    if (this.length === this.cap) this.grow();
    this.validity.set(this.length, false, this.cap);
    // A slot never written reads 0, as in a fresh typed array.
    if (this.vals !== undefined && this.length >= this.vals.length) this.vals[this.length] = 0 as V;
    this.length++;
  }

  pushMaybe(v: V | undefined | null): void {
    if (v === undefined || v === null) this.pushNull();
    else this.push(v);
  }

  /** The column so far as one Data; the column restarts empty. */
  finish(): Data<T> {
    let data: ArrayOf<T>;
    if (this.vals !== undefined) {
      data = new this.ctor(this.length);
      const vals = this.vals.length === this.length ? this.vals : this.vals.slice(0, this.length);
      (data as unknown as { set(a: ArrayLike<unknown>): void }).set(vals);
    } else data = (this.buf as unknown as { slice(a: number, b: number): ArrayOf<T> }).slice(0, this.length);
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
}

export const u8 = (cap?: number) => new NumCol<Uint8>(new Uint8(), Uint8Array, cap);
export const u16 = (cap?: number) => new NumCol<Uint16>(new Uint16(), Uint16Array, cap);
export const u32 = (cap?: number) => new NumCol<Uint32>(new Uint32(), Uint32Array, cap);
export const u64 = (cap?: number) => new NumCol<Uint64>(new Uint64(), BigUint64Array, cap);
export const i32 = (cap?: number) => new NumCol<Int32>(new Int32(), Int32Array, cap);
export const i64 = (cap?: number) => new NumCol<Int64>(new Int64(), BigInt64Array, cap);
export const f64 = (cap?: number) => new NumCol<Float64>(new Float64(), Float64Array, cap);

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
 * A fixed string dictionary shared by every batch of a file (IPC files allow no replacement
 * dictionaries): one Vector instance, so the writer emits it once.
 */
export class FixedDictionary {
  readonly type: Dictionary<Utf8, Int16>;
  readonly vector: Vector<Utf8>;
  private readonly index = new Map<string, number>();

  constructor(
    readonly id: number,
    readonly values: readonly string[],
  ) {
    if (values.length > 0x7fff) throw new Error('dictionary too large');
    this.type = new Dictionary(new Utf8(), new Int16(), id);
    this.vector = vectorFromArray(values as string[], new Utf8());
    values.forEach((v, i) => this.index.set(v, i));
  }

  indexOf(v: string): number {
    const i = this.index.get(v);
    if (i === undefined) throw new Error(`value ${v} is not in dictionary ${this.id}`);
    return i;
  }
}

/** A dictionary-encoded string column over a FixedDictionary. */
export class DictCol {
  private readonly codes: NumCol<Int16>;

  constructor(
    readonly dict: FixedDictionary,
    cap?: number,
  ) {
    this.codes = new NumCol<Int16>(new Int16(), Int16Array, cap);
  }

  get length(): number {
    return this.codes.length;
  }

  push(v: string): void {
    this.codes.push(this.dict.indexOf(v));
  }

  pushCode(code: number): void {
    this.codes.push(code);
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
