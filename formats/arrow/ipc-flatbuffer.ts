// A flatbuffer builder: the subset of the `flatbuffers` package's JavaScript Builder (v24, the one
// apache-arrow 21 encodes its IPC metadata with) that Arrow's messages and footer use, with the same
// algorithm, so the same calls give the same bytes. A buffer is built back to front: every offset
// counts from its end, alignment pads relative to its end, and a table's vtable is shared with an
// equal one written before in the same buffer (flatbuffers' "vtable deduplication"). A default
// value given to `fieldInt*` is omitted from the table, as the generated code's `addField*` omits it.
// Rules: https://flatbuffers.dev/internals/ ("Encoding", "Vtables"); the code followed:
// node_modules/flatbuffers/mjs/builder.js.

const SIZEOF_SHORT = 2;
const SIZEOF_INT = 4;

export class FlatBuilder {
  private buf: Uint8Array;
  private view: DataView;
  /** Free bytes before the data written so far (which fills buf[space, capacity)). */
  private space: number;
  /** The largest alignment asked for (the root is aligned to it). */
  private minalign = 1;
  /** Per field of the table being built: where its value was written (offset from the end), 0 when absent. */
  private readonly vtable: number[] = [];
  private vtableInUse = 0;
  private nested = false;
  private objectStart = 0;
  /** Offsets (from the end) of the vtables written so far. */
  private readonly vtables: number[] = [];
  private vectorElems = 0;
  private readonly encoder = new TextEncoder();

  constructor(initialSize = 1024) {
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
    this.space = initialSize;
  }

  /** Bytes written so far (the offset of the last thing written, counted from the end). */
  offset(): number {
    return this.buf.length - this.space;
  }

  /**
   * Aligns so that an element of `size` bytes written after `additional` more bytes is aligned to
   * `size` (from the end), growing the buffer when needed.
   */
  prep(size: number, additional: number): void {
    if (size > this.minalign) this.minalign = size;
    const alignSize = (~(this.buf.length - this.space + additional) + 1) & (size - 1);
    while (this.space < alignSize + size + additional) this.grow();
    this.pad(alignSize);
  }

  /** Doubles the buffer, the data moving to the end of the new one. */
  private grow(): void {
    const old = this.buf.length;
    if (old & 0xc0000000) throw new Error('FlatBuilder: cannot grow beyond 2 GB');
    const next = new Uint8Array(old << 1);
    next.set(this.buf, old);
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.space += old;
  }

  pad(bytes: number): void {
    for (let i = 0; i < bytes; i++) this.buf[--this.space] = 0;
  }

  writeInt8(v: number): void {
    this.view.setInt8((this.space -= 1), v);
  }
  writeInt16(v: number): void {
    this.view.setInt16((this.space -= 2), v, true);
  }
  writeInt32(v: number): void {
    this.view.setInt32((this.space -= 4), v, true);
  }
  /** A non-negative integer below 2^53 as a little-endian 64-bit integer. */
  writeInt64(v: number): void {
    this.space -= 8;
    const lo = v % 4294967296;
    this.view.setUint32(this.space, lo, true);
    this.view.setUint32(this.space + 4, (v - lo) / 4294967296, true);
  }

  addInt8(v: number): void {
    this.prep(1, 0);
    this.writeInt8(v);
  }
  addInt16(v: number): void {
    this.prep(2, 0);
    this.writeInt16(v);
  }
  addInt32(v: number): void {
    this.prep(4, 0);
    this.writeInt32(v);
  }
  addInt64(v: number): void {
    this.prep(8, 0);
    this.writeInt64(v);
  }

  /** An offset to `target` (a value `offset()` returned), relative to where it is written. */
  addOffset(target: number): void {
    this.prep(SIZEOF_INT, 0);
    this.writeInt32(this.offset() - target + SIZEOF_INT);
  }

  /** Table field `slot` (its index in the schema) as an 8-bit integer, omitted when `v` is `dflt`. */
  fieldInt8(slot: number, v: number, dflt: number): void {
    if (v === dflt) return;
    this.addInt8(v);
    this.slot(slot);
  }
  fieldInt16(slot: number, v: number, dflt: number): void {
    if (v === dflt) return;
    this.addInt16(v);
    this.slot(slot);
  }
  fieldInt32(slot: number, v: number, dflt: number): void {
    if (v === dflt) return;
    this.addInt32(v);
    this.slot(slot);
  }
  fieldInt64(slot: number, v: number, dflt: number): void {
    if (v === dflt) return;
    this.addInt64(v);
    this.slot(slot);
  }
  /** Table field `slot` as an offset to `target` (0: absent). */
  fieldOffset(slot: number, target: number): void {
    if (target === 0) return;
    this.addOffset(target);
    this.slot(slot);
  }

  private slot(slot: number): void {
    this.vtable[slot] = this.offset();
  }

  startObject(fields: number): void {
    if (this.nested) throw new Error('FlatBuilder: object serialization must not be nested');
    this.vtableInUse = fields;
    for (let i = 0; i < fields; i++) this.vtable[i] = 0;
    this.nested = true;
    this.objectStart = this.offset();
  }

  /** Ends the table: writes its vtable (or points it at an equal one written before); returns the table's offset. */
  endObject(): number {
    if (!this.nested) throw new Error('FlatBuilder: endObject without startObject');
    this.addInt32(0);
    const vtableloc = this.offset();
    let i = this.vtableInUse - 1;
    while (i >= 0 && this.vtable[i] === 0) i--;
    const trimmed = i + 1;
    for (; i >= 0; i--) this.addInt16(this.vtable[i] !== 0 ? vtableloc - this.vtable[i]! : 0);
    this.addInt16(vtableloc - this.objectStart);
    const len = (trimmed + 2) * SIZEOF_SHORT;
    this.addInt16(len);
    let existing = 0;
    const vt1 = this.space;
    outer: for (const v of this.vtables) {
      const vt2 = this.buf.length - v;
      if (len !== this.view.getInt16(vt2, true)) continue;
      for (let j = SIZEOF_SHORT; j < len; j += SIZEOF_SHORT) {
        if (this.view.getInt16(vt1 + j, true) !== this.view.getInt16(vt2 + j, true)) continue outer;
      }
      existing = v;
      break;
    }
    if (existing !== 0) {
      this.space = this.buf.length - vtableloc;
      this.view.setInt32(this.space, existing - vtableloc, true);
    } else {
      this.vtables.push(this.offset());
      this.view.setInt32(this.buf.length - vtableloc, this.offset() - vtableloc, true);
    }
    this.nested = false;
    return vtableloc;
  }

  /** Starts a vector of `count` elements of `elemSize` bytes aligned to `alignment`; the caller writes them last to first. */
  startVector(elemSize: number, count: number, alignment: number): void {
    if (this.nested) throw new Error('FlatBuilder: object serialization must not be nested');
    this.vectorElems = count;
    this.prep(SIZEOF_INT, elemSize * count);
    this.prep(alignment, elemSize * count);
  }

  endVector(): number {
    this.writeInt32(this.vectorElems);
    return this.offset();
  }

  /** A vector of offsets (tables, strings), in order. */
  offsetVector(targets: readonly number[]): number {
    this.startVector(SIZEOF_INT, targets.length, SIZEOF_INT);
    for (let i = targets.length - 1; i >= 0; i--) this.addOffset(targets[i]!);
    return this.endVector();
  }

  /** A UTF-8 string (zero-terminated, length-prefixed). */
  createString(s: string): number {
    const utf8 = this.encoder.encode(s);
    this.addInt8(0);
    this.startVector(1, utf8.length, 1);
    this.space -= utf8.length;
    this.buf.set(utf8, this.space);
    return this.endVector();
  }

  /** Ends the buffer with its root table (no file identifier, no size prefix); returns its bytes. */
  finish(root: number): Uint8Array {
    this.prep(this.minalign, SIZEOF_INT);
    this.addOffset(root);
    return this.buf.subarray(this.space);
  }
}
