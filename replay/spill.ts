// Fixed-width records spilled to a scratch file and read back in order: how a replay keeps
// per-policy rows (completion points; a parallel replay's host_ops and completions rows) out of
// memory until the tables are written, so memory stays flat however long the trace. `Spill`'s
// records are `width` float64 values; `CompletionsSpill` lays a row out in typed fields (half the
// bytes or less), and `HostOpsSpill` a block of BATCH rows column after column, typed (the merge
// copies runs of rows a column at a time). Writes and reads go through one buffer of BATCH records.

import { closeSync, openSync, readSync, rmSync, writeSync, writevSync } from 'node:fs';
import { writeChunks } from '../formats/atomic.js';
import { StringDecoder } from 'node:string_decoder';

const BATCH = 8192;

/** All of `bytes` written to `fd` (a write may take part of them). */
function writeFully(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/** `bytes` filled from `fd` at `position`; a file that ends first is an Error naming `path`. */
function readFully(fd: number, bytes: Uint8Array, position: number, path: string): void {
  let got = 0;
  while (got < bytes.length) {
    const r = readSync(fd, bytes, got, bytes.length - got, position + got);
    if (r === 0) throw new Error(`${path}: spill file ended early`);
    got += r;
  }
}

export class Spill {
  private readonly buf: Float64Array;
  private used = 0;
  private fd: number;
  /** Records written so far. */
  records = 0;

  constructor(
    private readonly path: string,
    readonly width: number,
  ) {
    this.buf = new Float64Array(BATCH * width);
    this.fd = openSync(path, 'w+');
  }

  /** The slot of the next record (write `width` values at `[i, i + width)`), then `commit`. */
  next(): number {
    if (this.used === BATCH) this.drain();
    return this.used * this.width;
  }

  get buffer(): Float64Array {
    return this.buf;
  }

  commit(): void {
    this.used++;
    this.records++;
  }

  private drain(): void {
    if (this.used === 0) return;
    writeFully(this.fd, new Uint8Array(this.buf.buffer, 0, this.used * this.width * 8));
    this.used = 0;
  }

  /** Every record in order: `visit(values, at)` reads values[at .. at + width). */
  forEach(visit: (values: Float64Array, at: number) => void): void {
    this.drain();
    const bytes = new Uint8Array(this.buf.buffer);
    let pos = 0;
    for (let left = this.records; left > 0;) {
      const n = Math.min(left, BATCH);
      const want = n * this.width * 8;
      readFully(this.fd, bytes.subarray(0, want), pos, this.path);
      pos += want;
      for (let i = 0; i < n; i++) visit(this.buf, i * this.width);
      left -= n;
    }
  }

  /** Finishes writing. */
  close(): void {
    this.drain();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  dispose(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.path, { force: true });
  }
}

/** One buffer of BATCH records of `size` bytes, with the typed views their fields are laid out in. */
abstract class RecordViews {
  protected readonly buf: ArrayBuffer;
  protected readonly f64: Float64Array;
  protected readonly u32: Uint32Array;
  protected readonly i32: Int32Array;
  protected readonly u16: Uint16Array;
  protected readonly u8: Uint8Array;

  constructor(protected readonly size: number) {
    this.buf = new ArrayBuffer(BATCH * size);
    this.f64 = new Float64Array(this.buf);
    this.u32 = new Uint32Array(this.buf);
    this.i32 = new Int32Array(this.buf);
    this.u16 = new Uint16Array(this.buf);
    this.u8 = new Uint8Array(this.buf);
  }
}

/**
 * Fixed-size binary records of mixed field types, written through one reused buffer of BATCH
 * records (the subclasses lay their fields out in typed views of it) and read back in order the
 * same way: half or less of the bytes of `Spill`'s float64 records for the same row, so a parallel
 * replay writes, reads and unlinks half the scratch data. Each field is stored into a typed array
 * of its table column's type (a u32 column's value into a Uint32Array, an i32's into an Int32Array),
 * so the value read back is the one the column would have taken from the original number.
 */
abstract class RecordSpill extends RecordViews {
  protected used = 0;
  private fd: number;
  /** Records written so far. */
  records = 0;

  constructor(
    private readonly path: string,
    size: number,
  ) {
    super(size);
    this.fd = openSync(path, 'w+');
  }

  /** The buffer's index of the next record (its fields at that index times their per-record stride), then `used++`. */
  protected slot(): number {
    if (this.used === BATCH) this.drain();
    this.records++;
    return this.used++;
  }

  private drain(): void {
    if (this.used === 0) return;
    writeFully(this.fd, new Uint8Array(this.buf, 0, this.used * this.size));
    this.used = 0;
  }

  /** Finishes writing and keeps the file (another thread reads it). */
  close(): void {
    this.drain();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Reads a RecordSpill's file in order: `next()`, then the fields of record `at` in the views. */
abstract class RecordReader extends RecordViews {
  /** The current record's index in the buffer. */
  at = -1;
  private inBuf = 0;
  private left: number;
  private offset = 0;
  private readonly fd: number;

  constructor(
    private readonly path: string,
    size: number,
    records: number,
  ) {
    super(size);
    this.left = records;
    this.fd = openSync(path, 'r');
  }

  next(): boolean {
    if (this.at + 1 === this.inBuf) {
      if (this.left === 0) return false;
      const n = Math.min(this.left, BATCH);
      const bytes = new Uint8Array(this.buf, 0, n * this.size);
      readFully(this.fd, bytes, this.offset, this.path);
      this.offset += bytes.length;
      this.left -= n;
      this.inBuf = n;
      this.at = -1;
    }
    this.at++;
    return true;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * A parallel replay's host_ops rows with their place in the serial order, 40 bytes a row, in blocks
 * of BATCH rows laid out column after column (the merge copies a run of rows a column at a time):
 * for a block of n rows, f64 bytes at 0, f64 cost_us at 8n, u32 event ordinal + 1 at 16n (the
 * ordinal may be -1 before the first event), u32 seq at 20n, u32 count at 24n, u32 entries at 28n,
 * i32 iommu at 32n, u16 policy (its index in the share) at 36n, u16 kind (its index in `kinds`)
 * at 38n. Every block has BATCH rows but the last.
 */
const HOST_OP_BYTES = 40;

/** The columns of one block of host_ops rows, as typed views of its bytes. */
export class HostOpsBlock {
  readonly bytes: Float64Array;
  readonly cost: Float64Array;
  readonly key: Uint32Array;
  readonly seq: Uint32Array;
  readonly count: Uint32Array;
  readonly entries: Uint32Array;
  readonly iommu: Int32Array;
  readonly policy: Uint16Array;
  readonly kind: Uint16Array;

  /** The views of a block of `n` rows at the start of `buf`. */
  constructor(buf: ArrayBuffer, n: number) {
    this.bytes = new Float64Array(buf, 0, n);
    this.cost = new Float64Array(buf, 8 * n, n);
    this.key = new Uint32Array(buf, 16 * n, n);
    this.seq = new Uint32Array(buf, 20 * n, n);
    this.count = new Uint32Array(buf, 24 * n, n);
    this.entries = new Uint32Array(buf, 28 * n, n);
    this.iommu = new Int32Array(buf, 32 * n, n);
    this.policy = new Uint16Array(buf, 36 * n, n);
    this.kind = new Uint16Array(buf, 38 * n, n);
  }

  /** Each column's first `n` values, in the file's order (a short last block). */
  prefixes(n: number): Uint8Array[] {
    return [this.bytes, this.cost, this.key, this.seq, this.count, this.entries, this.iommu, this.policy, this.kind].map(
      (c) => new Uint8Array(c.buffer, c.byteOffset, n * c.BYTES_PER_ELEMENT),
    );
  }
}

export class HostOpsSpill {
  private readonly block = new HostOpsBlock(new ArrayBuffer(BATCH * HOST_OP_BYTES), BATCH);
  private used = 0;
  private fd: number;
  /** Records written so far. */
  records = 0;

  /** `kinds`: the host_ops kind dictionary (tables.ts OP_KINDS); a kind outside it is an Error. */
  constructor(
    path: string,
    private readonly kinds: readonly string[],
  ) {
    this.fd = openSync(path, 'w+');
  }

  push(
    event: number,
    policy: number,
    seq: number,
    kind: string,
    iommu: number,
    count: number,
    entries: number,
    bytes: number,
    cost: number,
  ): void {
    if (!(event >= -1 && event < 0xffffffff)) throw new RangeError(`event ordinal ${event} out of range`);
    const code = codeOf(this.kinds, kind);
    if (this.used === BATCH) this.drain();
    const b = this.block;
    const r = this.used++;
    this.records++;
    b.bytes[r] = bytes;
    b.cost[r] = cost;
    b.key[r] = event + 1;
    b.seq[r] = seq;
    b.count[r] = count;
    b.entries[r] = entries;
    b.iommu[r] = iommu;
    b.policy[r] = policy;
    b.kind[r] = code;
  }

  private drain(): void {
    const n = this.used;
    if (n === 0) return;
    const fd = this.fd;
    if (n === BATCH) writeFully(fd, new Uint8Array(this.block.bytes.buffer));
    else writeChunks((bufs) => writevSync(fd, bufs), this.block.prefixes(n));
    this.used = 0;
  }

  /** Finishes writing and keeps the file (another thread reads it). */
  close(): void {
    this.drain();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  static read(path: string, records: number): HostOpsReader {
    return new HostOpsReader(path, records);
  }
}

/** `v`'s index in a small dictionary (an identity compare per entry; the kinds are constants). */
function codeOf(values: readonly string[], v: string): number {
  for (let i = 0; i < values.length; i++) if (values[i] === v) return i;
  throw new Error(`value ${v} is not in the host_ops kinds`);
}

/**
 * Reads a HostOpsSpill's file block by block: `block` holds the current block's columns, rows
 * `[at, length)` of it not yet taken; `take(n)` moves on by `n` rows, to the next block at the end
 * of this one. `next()` and the getters read one row at a time (the row at `at` after `next()`).
 */
export class HostOpsReader {
  private readonly buf = new ArrayBuffer(BATCH * HOST_OP_BYTES);
  private readonly full = new HostOpsBlock(this.buf, BATCH);
  block: HostOpsBlock = this.full;
  /** Rows in the current block. */
  length = 0;
  /** The current row (the next one `take` hands over). */
  at = 0;
  private left: number;
  private offset = 0;
  private readonly fd: number;
  /** `next()` has been called once (the first call stays on the first row). */
  private started = false;

  constructor(
    private readonly path: string,
    records: number,
  ) {
    this.left = records;
    this.fd = openSync(path, 'r');
    this.load();
  }

  /** Whether rows are left (at the current block's row `at`). */
  get live(): boolean {
    return this.at < this.length;
  }

  /** Takes `n` rows of the current block (n <= length - at), loading the next block after its last. */
  take(n: number): void {
    this.at += n;
    if (this.at === this.length) this.load();
  }

  private load(): void {
    const n = Math.min(this.left, BATCH);
    this.at = 0;
    this.length = n;
    if (n === 0) return;
    const bytes = new Uint8Array(this.buf, 0, n * HOST_OP_BYTES);
    readFully(this.fd, bytes, this.offset, this.path);
    this.offset += bytes.length;
    this.left -= n;
    this.block = n === BATCH ? this.full : new HostOpsBlock(this.buf, n);
  }

  /** Moves to the next row (the first, at the first call); false when none is left. */
  next(): boolean {
    if (this.started && this.live) this.take(1);
    this.started = true;
    return this.live;
  }

  /** The current record's event ordinal + 1 (its merge key). */
  get key(): number {
    return this.block.key[this.at]!;
  }
  get bytes(): number {
    return this.block.bytes[this.at]!;
  }
  get cost(): number {
    return this.block.cost[this.at]!;
  }
  get seq(): number {
    return this.block.seq[this.at]!;
  }
  get count(): number {
    return this.block.count[this.at]!;
  }
  get entries(): number {
    return this.block.entries[this.at]!;
  }
  get iommu(): number {
    return this.block.iommu[this.at]!;
  }
  get policy(): number {
    return this.block.policy[this.at]!;
  }
  get kind(): number {
    return this.block.kind[this.at]!;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * A parallel replay's completions row, 32 bytes: f64 latency_us (NaN: null), u32 seq, u32 slot,
 * u32 doorbell_seq, u32 commands, u16 policy (its index in the share), u8 completed, u8 ref_completed.
 */
const COMPLETION_BYTES = 32;

export class CompletionsSpill extends RecordSpill {
  constructor(path: string) {
    super(path, COMPLETION_BYTES);
  }

  push(
    policy: number,
    seq: number,
    slot: number,
    doorbellSeq: number,
    done: boolean,
    refDone: boolean,
    latency: number | null,
    commands: number,
  ): void {
    const r = this.slot();
    this.f64[r * 4] = latency === null ? NaN : latency;
    const w = r * 8;
    this.u32[w + 2] = seq;
    this.u32[w + 3] = slot;
    this.u32[w + 4] = doorbellSeq;
    this.u32[w + 5] = commands;
    this.u16[r * 16 + 12] = policy;
    this.u8[r * 32 + 26] = done ? 1 : 0;
    this.u8[r * 32 + 27] = refDone ? 1 : 0;
  }

  static read(path: string, records: number): CompletionsReader {
    return new CompletionsReader(path, records);
  }
}

export class CompletionsReader extends RecordReader {
  constructor(path: string, records: number) {
    super(path, COMPLETION_BYTES, records);
  }

  /** NaN: null. */
  get latency(): number {
    return this.f64[this.at * 4]!;
  }
  get seq(): number {
    return this.u32[this.at * 8 + 2]!;
  }
  get slot(): number {
    return this.u32[this.at * 8 + 3]!;
  }
  get doorbellSeq(): number {
    return this.u32[this.at * 8 + 4]!;
  }
  get commands(): number {
    return this.u32[this.at * 8 + 5]!;
  }
  get policy(): number {
    return this.u16[this.at * 16 + 12]!;
  }
  get completed(): number {
    return this.u8[this.at * 32 + 26]!;
  }
  get refCompleted(): number {
    return this.u8[this.at * 32 + 27]!;
  }
}

/** Lines of text appended to a scratch file (rows with strings), read back in order. */
export class LineSpill {
  private fd: number;
  private pending: string[] = [];
  private bytes = 0;

  constructor(private readonly path: string) {
    this.fd = openSync(path, 'w+');
  }

  push(line: string): void {
    this.pending.push(line);
    this.bytes += line.length;
    if (this.bytes > 1 << 20) this.drain();
  }

  private drain(): void {
    if (this.pending.length === 0) return;
    writeFully(this.fd, Buffer.from(`${this.pending.join('\n')}\n`));
    this.pending = [];
    this.bytes = 0;
  }

  /** Finishes writing; the file can then be read by path. */
  close(): void {
    this.drain();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Reads the lines of a file in order without holding it whole. */
export class LineReader {
  private readonly fd: number;
  private readonly chunk = Buffer.alloc(1 << 20);
  private readonly text = new StringDecoder('utf8');
  private lines: string[] = [];
  private i = 0;
  private rest = '';
  private done = false;
  line = '';

  constructor(path: string) {
    this.fd = openSync(path, 'r');
  }

  next(): boolean {
    while (this.i >= this.lines.length) {
      if (this.done) return false;
      const n = readSync(this.fd, this.chunk, 0, this.chunk.length, null);
      if (n === 0) {
        this.done = true;
        const last = this.rest + this.text.end();
        this.lines = last === '' ? [] : [last];
        this.rest = '';
      } else {
        const parts = (this.rest + this.text.write(this.chunk.subarray(0, n))).split('\n');
        this.rest = parts.pop()!;
        this.lines = parts;
      }
      this.i = 0;
    }
    this.line = this.lines[this.i++]!;
    return true;
  }

  close(): void {
    closeSync(this.fd);
  }
}
