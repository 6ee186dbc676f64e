// Fixed-capacity columns for batch builders on hot paths: a column's arrays are allocated for
// `room` rows and only grow when the builder asks (`grow`, up to the batch's capacity; writes make
// no growth checks), a validity bitmap starts all-null so a null costs nothing, and each class
// stores into one typed-array type only (monomorphic writes), except the small integer columns,
// each in its type's array (Uint8, Uint16, Uint32, Int32). Starting small keeps a small input from
// allocating (and zeroing) every column at the full batch size; rows past the room were never
// written, so a grown array holds zeros there as a full-size one would: the same bytes. Columns
// grown together can take their arrays from one ColumnMemory (one ArrayBuffer for all): a large
// allocation comes from pages the kernel hands out zeroed, which fault (and take memory) only
// where a row is written, where column-sized ones partly come from the heap, which calloc zeroes
// with a memset that touches every page, of columns written later or never. A column no row has
// written is not copied when it grows (its arrays hold zeros), so its pages stay untouched.
//
// A finished batch gets copies of the values and bitmap (the column goes on writing into its own).
// With `reuse`, for a consumer that is done with a batch's buffers when it has taken the batch (the
// trace file writer writes them out at once), the batch is handed the column's own arrays instead
// (views of their first rows), and the column is cleared for the next batch by `release`, once
// the consumer has taken it: at 65,536 rows a batch is ~10 MB, which copied would cost as many
// fresh pages again (each a page fault) and the copy, and fresh copies the old-space collections
// external memory triggers. The bytes are the same: a copy of the first rows is those rows.
//
// Many rows that take one value (a trace builder's row template) can be written at once, `fill`:
// the rows listed, each as `set` would write it (value, valid bit, count), in a loop over one
// column's arrays; three code columns in one walk of the rows (`CodeCol.fillTriple`: a trace's op,
// role and cache), the second's valid bits copied from the first's at the end (`nullsOf`). A
// column without nulls whose rows mostly hold one value (a trace's kind, origin, inferred) can be
// preset to it for the batch's rows (`preset`), the others written by `put` (value only), and its
// count set once the batch is complete (`counted`); a row number column is written at the end,
// `sequence` (in pieces, its count set by `counted`).
//
// A finished batch is plain data (formats/arrow/ipc-model.ts ColumnChunk: length, null count,
// bitmap, values), written by formats/arrow/ipc-file-sink.ts or made apache-arrow Data by
// formats/arrow/to-arrow.ts: nothing here loads apache-arrow.

import { I32, I64, U8, U16, U32, U64, type ColumnChunk, type IntType } from './ipc-model.js';

/**
 * The first `n` values of `a` for a finished batch: a view of the column's own array with `reuse`
 * (cleared by `release` once the batch is taken), else a copy of its own.
 */
function firstRows<T extends { subarray(begin: number, end: number): T; slice(begin: number, end: number): T }>(
  a: T,
  n: number,
  reuse: boolean,
): T {
  return reuse ? a.subarray(0, n) : a.slice(0, n);
}

/** Bytes rounded up to a multiple of 8 (every array's offset in a ColumnMemory is aligned to 8). */
const aligned8 = (bytes: number) => (bytes + 7) & ~7;

/**
 * One ArrayBuffer the arrays of several columns are views of, handed out front to back in pieces
 * aligned to 8 bytes: the columns a builder grows at once (see the header).
 */
export class ColumnMemory {
  readonly buffer: ArrayBuffer;
  private at = 0;
  constructor(bytes: number) {
    this.buffer = new ArrayBuffer(bytes);
  }
  /** The byte offset of the next `bytes` bytes. */
  take(bytes: number): number {
    const o = this.at;
    this.at += aligned8(bytes);
    if (this.at > this.buffer.byteLength) throw new Error(`ColumnMemory: ${this.at} bytes taken of ${this.buffer.byteLength}`);
    return o;
  }
}

interface ArrayType<T> {
  new (length: number): T;
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** A new zeroed array of `length` of type `C`: its own, or from `mem`. */
function fresh<T>(C: ArrayType<T>, length: number, mem: ColumnMemory | undefined): T {
  return mem === undefined ? new C(length) : new C(mem.buffer, mem.take(length * C.BYTES_PER_ELEMENT), length);
}

/** `a`'s values in `b` (longer, zeroed) when `keep`; else `b` as it is (`a` holds only zeros). */
function grown<T extends { set(a: T): void }>(a: T, b: T, keep: boolean): T {
  if (keep) b.set(a);
  return b;
}

abstract class Fixed {
  protected valid: Uint8Array | undefined;
  nonNull = 0;
  /** Rows the arrays hold now (`grow`); rows from here on may not be written. */
  room: number;
  constructor(
    readonly capacity: number,
    nullable: boolean,
    /** Hand a finished batch the column's own arrays, cleared by `release` (see the header). */
    protected readonly reuse: boolean,
    /** Rows allocated at first (at most the capacity). */
    room: number,
  ) {
    this.room = Math.min(room, capacity);
    if (nullable) this.valid = new Uint8Array((this.room + 7) >> 3);
  }
  /** The room `grow(rows)` makes: at least twice the room, at most the capacity. */
  private roomFor(rows: number): number {
    return Math.min(Math.max(rows, 2 * this.room), this.capacity);
  }
  /** The bytes `grow(rows, mem)` takes from `mem` (0: it makes no room). */
  bytesToGrow(rows: number): number {
    if (rows <= this.room) return 0;
    const room = this.roomFor(rows);
    return (this.valid !== undefined ? aligned8((room + 7) >> 3) : 0) + aligned8(room * this.valueBytes());
  }
  /**
   * Makes room for `rows` rows (`roomFor`): the arrays grow, keeping what they hold, into arrays of
   * their own or views of `mem` (`bytesToGrow` bytes of it).
   */
  grow(rows: number, mem?: ColumnMemory): void {
    if (rows <= this.room) return;
    this.room = this.roomFor(rows);
    // A column with nulls that no row has written holds zeros only (values and bits): nothing to copy.
    const keep = this.valid === undefined || this.nonNull > 0 || this.held;
    if (this.valid !== undefined) this.valid = grown(this.valid, fresh(Uint8Array, (this.room + 7) >> 3, mem), keep);
    this.growValues(this.room, keep, mem);
  }
  /** Bytes per value. */
  protected abstract valueBytes(): number;
  /** The values' array grown to `rows` (`keep`: copying what it holds), its own or from `mem`. */
  protected abstract growValues(rows: number, keep: boolean, mem: ColumnMemory | undefined): void;
  /**
   * The validity bitmap of the first `n` rows, or undefined when none is null. With `reuse` and
   * `zeros`, a batch whose rows are all null gets a view of `zeros` (its bits were cleared after
   * the last batch and none was set since: the same bytes).
   */
  protected bitmap(n: number, zeros: ArrayBuffer | undefined): Uint8Array | undefined {
    const valid = this.valid;
    if (valid === undefined || this.nonNull === n) return undefined;
    const bytes = (n + 7) >> 3;
    if (this.reuse && zeros !== undefined && this.nonNull === 0) return new Uint8Array(zeros, 0, bytes);
    return firstRows(valid, bytes, this.reuse);
  }
  /** Whether a row of this or an earlier batch held a value (`blank`). */
  protected held = false;
  /**
   * Whether a batch (with `reuse` and `zeros`) gets views of `zeros` for its values: when no row
   * has ever held a value, the column's values are all zeros (as allocated, grown or cleared). A
   * column that is never written (w2, w3 of a 128-bit queue, known0/1 of whole words) then has
   * pages nobody touches: the output's write reads the shared zeros instead of faulting in each
   * column's own pages. Called once per finish, before the values are taken.
   */
  protected blank(zeros: ArrayBuffer | undefined): zeros is ArrayBuffer {
    if (this.nonNull > 0) this.held = true;
    return this.reuse && zeros !== undefined && !this.held;
  }
  /**
   * The batch of the first `n` rows has been taken: with `reuse` its arrays were the column's own,
   * which are now cleared for the next batch (valid bits, count). Without, `finish` did that.
   */
  release(n: number): void {
    if (this.reuse) this.reset(n);
  }
  /** After `finish(n)`: without `reuse` the batch has copies and the column is cleared at once. */
  protected finished(n: number): void {
    if (!this.reuse) this.reset(n);
  }
  /**
   * Every one of the first `n` rows holds a value (preset or put): the count `set` would have made.
   * Only for a column without nulls (no validity bitmap to set).
   */
  counted(n: number): void {
    if (this.valid !== undefined) throw new Error('counted: a column with nulls');
    this.nonNull = n;
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

/** Unsigned integers up to 32 bits, or Int32, each in an array of its type. */
export class SmallCol extends Fixed {
  private values: SmallArray;
  /** The array type of the column's type. */
  private readonly array: ArrayType<SmallArray>;
  constructor(
    /** U8, U16, U32 or I32. */
    readonly type: IntType,
    capacity: number,
    nullable = true,
    reuse = false,
    room = capacity,
  ) {
    super(capacity, nullable, reuse, room);
    if (type.bitWidth === 64 || (type.signed && type.bitWidth !== 32)) throw new Error('SmallCol: U8, U16, U32 or I32');
    this.array = type.bitWidth === 8 ? Uint8Array : type.bitWidth === 16 ? Uint16Array : type.signed ? Int32Array : Uint32Array;
    this.values = new this.array(this.room);
  }
  protected valueBytes(): number {
    return this.values.BYTES_PER_ELEMENT;
  }
  protected growValues(rows: number, keep: boolean, mem: ColumnMemory | undefined): void {
    this.values = grown<SmallArray>(this.values, fresh(this.array, rows, mem), keep);
  }
  /** `n` values of the column's type over `buf`. */
  private view(buf: ArrayBuffer, n: number): SmallArray {
    const v = this.values;
    return v instanceof Uint8Array
      ? new Uint8Array(buf, 0, n)
      : v instanceof Uint16Array
        ? new Uint16Array(buf, 0, n)
        : v instanceof Int32Array
          ? new Int32Array(buf, 0, n)
          : new Uint32Array(buf, 0, n);
  }
  /** Row `row` holds `v` (taken mod 2^8, 2^16 or 2^32 as the column's typed array stores it). */
  set(row: number, v: number): void {
    this.values[row] = v;
    const valid = this.valid;
    if (valid !== undefined) valid[row >> 3]! |= 1 << (row & 7);
    this.nonNull++;
  }
  /** `set(rows[i], v)` for i in [from, to). */
  fill(rows: Int32Array, from: number, to: number, v: number): void {
    this.nonNull += fillNumbers(this.values, this.valid, rows, from, to, v);
  }
  /** Row `row`'s value, not counted (`counted`; no valid bit). */
  put(row: number, v: number): void {
    this.values[row] = v;
  }
  /** The value `v` in rows [from, to), not counted (`counted`). */
  preset(v: number, from: number, to: number): void {
    this.values.fill(v, from, to);
  }
  /** `first + r` in row r of rows [from, to), not counted (`counted`; a column without nulls). */
  sequence(first: number, from: number, to: number): void {
    countUp(this.values, first, from, to);
  }
  clear(n: number): void {
    this.values.fill(0, 0, n);
  }
  /** The batch of the first `n` rows (see `release`); `zeros`: at least 8 bytes a row of zeros (see `blank`). */
  finish(n: number, zeros?: ArrayBuffer): ColumnChunk {
    const values = this.blank(zeros) ? this.view(zeros, n) : firstRows<SmallArray>(this.values, n, this.reuse);
    const d: ColumnChunk = { length: n, nullCount: n - this.nonNull, nullBitmap: this.bitmap(n, zeros), values };
    this.finished(n);
    return d;
  }
}

/**
 * A SmallCol's values. Stored straight into its type's array: a value taken mod 2^8 or 2^16 there
 * is the one a Uint32 array narrowed by a typed-array copy holds (ToUint8 of a number is ToUint8 of
 * its ToUint32), and a Uint8 column takes a quarter of the memory (every page of it a fault).
 */
type SmallArray = Uint8Array | Uint16Array | Uint32Array | Int32Array;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Bits 63..32 of `v`'s 64 bits (a negative value's two's complement, as an Int64 column stores it). */
export const hi32 = (v: bigint): number => Number(BigInt.asUintN(64, v) >> 32n);
/** Bits 31..0 of `v`'s 64 bits. */
export const lo32 = (v: bigint): number => Number(BigInt.asUintN(64, v) & 0xffffffffn);

/** Words' halves into `out` (word i: low half at 2i, high half at 2i + 1). */
export function halvesOf(words: readonly bigint[], out: Uint32Array): void {
  for (let i = 0; i < words.length; i++) {
    out[2 * i] = lo32(words[i]!);
    out[2 * i + 1] = hi32(words[i]!);
  }
}

/** Where a 64-bit value's low and high 32-bit halves are in a Uint32Array over it (`setHalves`). */
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;

/**
 * `values[r] = v` with r's valid bit for r in rows[from, to); returns the rows written. SmallCol's
 * four array types only (CodeCol has `fillCodes`): a fifth would make the store megamorphic.
 */
function fillNumbers(values: SmallArray, valid: Uint8Array | undefined, rows: Int32Array, from: number, to: number, v: number): number {
  for (let i = from; i < to; i++) {
    const r = rows[i]!;
    values[r] = v;
    if (valid !== undefined) valid[r >> 3]! |= 1 << (r & 7);
  }
  return to - from;
}

/**
 * `fillNumbers` for a BigCol's values as 32-bit halves, `hi` and `lo` of each row where the
 * platform keeps them (LO, HI). A loop of its own: inside `fill`, V8 compiled it on stack before the
 * code after it had run, and the code deoptimized there (docs/ingest.md, seventeenth pass).
 */
function fillHalves(
  h: Uint32Array,
  valid: Uint8Array | undefined,
  rows: Int32Array,
  from: number,
  to: number,
  hi: number,
  lo: number,
): number {
  for (let i = from; i < to; i++) {
    const r = rows[i]!;
    h[2 * r + LO] = lo;
    h[2 * r + HI] = hi;
    if (valid !== undefined) valid[r >> 3]! |= 1 << (r & 7);
  }
  return to - from;
}

/** `values[r] = first + r` for r in [from, to) (each value mod the array's range, as `set` stores it). */
function countUp(values: SmallArray, first: number, from: number, to: number): void {
  for (let r = from; r < to; r++) values[r] = first + r;
}

/** `fillNumbers` for a CodeCol's Int16 codes (a loop of its own: see there). */
function fillCodes(values: Int16Array, valid: Uint8Array | undefined, rows: Int32Array, from: number, to: number, v: number): number {
  for (let i = from; i < to; i++) {
    const r = rows[i]!;
    values[r] = v;
    if (valid !== undefined) valid[r >> 3]! |= 1 << (r & 7);
  }
  return to - from;
}

/**
 * `fillCodes` of `va` (with valid bits), the values of `vb` in the same rows, and, when `c >= 0`,
 * `fillCodes` of `vc` (`CodeCol.fillTriple`).
 */
function fillCodeTriple(
  va: Int16Array,
  valid: Uint8Array | undefined,
  vb: Int16Array,
  vc: Int16Array,
  validC: Uint8Array | undefined,
  rows: Int32Array,
  from: number,
  to: number,
  a: number,
  b: number,
  c: number,
): number {
  for (let i = from; i < to; i++) {
    const r = rows[i]!;
    va[r] = a;
    vb[r] = b;
    const bit = 1 << (r & 7);
    if (valid !== undefined) valid[r >> 3]! |= bit;
    if (c >= 0) {
      vc[r] = c;
      if (validC !== undefined) validC[r >> 3]! |= bit;
    }
  }
  return to - from;
}

/** 64-bit integers. */
export class BigCol extends Fixed {
  private values: BigUint64Array | BigInt64Array;
  /** The values' memory as 32-bit halves (`setHalves`). */
  private halves: Uint32Array;
  constructor(
    /** U64 or I64. */
    readonly type: IntType,
    capacity: number,
    nullable = true,
    reuse = false,
    room = capacity,
  ) {
    super(capacity, nullable, reuse, room);
    if (type.bitWidth !== 64) throw new Error('BigCol: U64 or I64');
    this.values = type.signed ? new BigInt64Array(this.room) : new BigUint64Array(this.room);
    this.halves = new Uint32Array(this.values.buffer);
  }
  protected valueBytes(): number {
    return 8;
  }
  protected growValues(rows: number, keep: boolean, mem: ColumnMemory | undefined): void {
    const v = this.values;
    const w = (this.values =
      v instanceof BigInt64Array ? grown(v, fresh(BigInt64Array, rows, mem), keep) : grown(v, fresh(BigUint64Array, rows, mem), keep));
    this.halves = new Uint32Array(w.buffer, w.byteOffset, 2 * rows);
  }
  set(row: number, v: bigint): void {
    this.values[row] = v;
    const valid = this.valid;
    if (valid !== undefined) valid[row >> 3]! |= 1 << (row & 7);
    this.nonNull++;
  }
  /** The value whose bits 63..32 are `hi` and 31..0 `lo` (two's complement for Int64), without a BigInt. */
  setHalves(row: number, hi: number, lo: number): void {
    const h = this.halves;
    h[2 * row + LO] = lo;
    h[2 * row + HI] = hi;
    const valid = this.valid;
    if (valid !== undefined) valid[row >> 3]! |= 1 << (row & 7);
    this.nonNull++;
  }
  /** `set(rows[i], v)` for i in [from, to). */
  fill(rows: Int32Array, from: number, to: number, v: bigint): void {
    this.fillHalves(rows, from, to, hi32(v), lo32(v));
  }
  /** `setHalves(rows[i], hi, lo)` for i in [from, to): `fill` of the value with those halves, without a BigInt. */
  fillHalves(rows: Int32Array, from: number, to: number, hi: number, lo: number): void {
    this.nonNull += fillHalves(this.halves, this.valid, rows, from, to, hi, lo);
  }
  clear(n: number): void {
    this.values.fill(0n, 0, n);
  }
  /** The batch of the first `n` rows (see `release`); `zeros`: at least 8 bytes a row of zeros (see `blank`). */
  finish(n: number, zeros?: ArrayBuffer): ColumnChunk {
    const values = this.blank(zeros)
      ? this.values instanceof BigInt64Array
        ? new BigInt64Array(zeros, 0, n)
        : new BigUint64Array(zeros, 0, n)
      : firstRows<BigUint64Array | BigInt64Array>(this.values, n, this.reuse);
    const d: ColumnChunk = { length: n, nullCount: n - this.nonNull, nullBitmap: this.bitmap(n, zeros), values };
    this.finished(n);
    return d;
  }
}

/** Dictionary codes (Int16) over a fixed dictionary shared by every batch (the field names it). */
export class CodeCol extends Fixed {
  private values: Int16Array;
  constructor(capacity: number, nullable = true, reuse = false, room = capacity) {
    super(capacity, nullable, reuse, room);
    this.values = new Int16Array(this.room);
  }
  protected valueBytes(): number {
    return 2;
  }
  protected growValues(rows: number, keep: boolean, mem: ColumnMemory | undefined): void {
    this.values = grown(this.values, fresh(Int16Array, rows, mem), keep);
  }
  set(row: number, code: number): void {
    this.values[row] = code;
    const valid = this.valid;
    if (valid !== undefined) valid[row >> 3]! |= 1 << (row & 7);
    this.nonNull++;
  }
  /** `set(rows[i], code)` for i in [from, to). */
  fill(rows: Int32Array, from: number, to: number, code: number): void {
    this.nonNull += fillCodes(this.values, this.valid, rows, from, to, code);
  }
  /**
   * `a.fill(rows, from, to, codeA)`, the values of `b.fill(rows, from, to, codeB)` and, when
   * `codeC >= 0`, `c.fill(rows, from, to, codeC)`: one walk of the rows for a trace's op, role and
   * cache. `a` and `b` must be written in the same rows only (every row template writes op and
   * role): `b`'s valid bits are `a`'s, copied once the batch is written (`nullsOf`); its count is
   * added here.
   */
  static fillTriple(
    a: CodeCol,
    b: CodeCol,
    c: CodeCol,
    rows: Int32Array,
    from: number,
    to: number,
    codeA: number,
    codeB: number,
    codeC: number,
  ): void {
    const n = to - from;
    a.nonNull += fillCodeTriple(a.values, a.valid, b.values, c.values, c.valid, rows, from, to, codeA, codeB, codeC);
    b.nonNull += n;
    if (codeC >= 0) c.nonNull += n;
  }
  /**
   * The first `n` rows' valid bits copied from `a`'s: when `fillTriple(a, this, ...)` wrote every
   * row either holds, this column's bits are `a`'s (one copy of the bytes instead of a bit per row).
   */
  nullsOf(a: CodeCol, n: number): void {
    const mine = this.valid;
    const theirs = a.valid;
    if (mine === undefined || theirs === undefined) throw new Error('nullsOf: columns without nulls');
    mine.set(theirs.subarray(0, (n + 7) >> 3));
  }
  /** Row `row`'s code, not counted (`counted`; no valid bit). */
  put(row: number, code: number): void {
    this.values[row] = code;
  }
  /** The code in rows [from, to), not counted (`counted`). */
  preset(code: number, from: number, to: number): void {
    this.values.fill(code, from, to);
  }
  clear(n: number): void {
    this.values.fill(0, 0, n);
  }
  /** The batch of the first `n` rows (see `release`); `zeros`: at least 8 bytes a row of zeros (see `blank`). */
  finish(n: number, zeros?: ArrayBuffer): ColumnChunk {
    const values = this.blank(zeros) ? new Int16Array(zeros, 0, n) : firstRows<Int16Array>(this.values, n, this.reuse);
    const d: ColumnChunk = { length: n, nullCount: n - this.nonNull, nullBitmap: this.bitmap(n, zeros), values };
    this.finished(n);
    return d;
  }
}

export { I32, I64, U8, U16, U32, U64 };
