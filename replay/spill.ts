// Fixed-width numeric records spilled to a scratch file and read back in order: how a replay keeps
// per-policy rows (completion points) out of memory until the tables are written, so memory stays
// flat however long the trace. Records are `width` float64 values; writes and reads go through
// one buffer of BATCH records.

import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const BATCH = 8192;

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
    const bytes = new Uint8Array(this.buf.buffer, 0, this.used * this.width * 8);
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
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
      let got = 0;
      while (got < want) {
        const r = readSync(this.fd, bytes, got, want - got, pos + got);
        if (r === 0) throw new Error(`${this.path}: spill file ended early`);
        got += r;
      }
      pos += want;
      for (let i = 0; i < n; i++) visit(this.buf, i * this.width);
      left -= n;
    }
  }

  /** Finishes writing and keeps the file (another thread reads it with `Spill.read`). */
  close(): void {
    this.drain();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** A reader over a closed spill file of `records` records. */
  static read(path: string, width: number, records: number): SpillReader {
    return new SpillReader(openSync(path, 'r'), width, records, path);
  }

  dispose(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.path, { force: true });
  }
}

/** Reads a spill's records one at a time: `next()` then values[at .. at + width). */
export class SpillReader {
  readonly values: Float64Array;
  at = -1;
  private inBuf = 0;
  private used = 0;
  private left: number;
  private offset = 0;

  constructor(
    private readonly fd: number,
    private readonly width: number,
    records: number,
    private readonly path: string,
  ) {
    this.values = new Float64Array(BATCH * width);
    this.left = records;
  }

  next(): boolean {
    if (this.used === this.inBuf) {
      if (this.left === 0) return false;
      const n = Math.min(this.left, BATCH);
      const bytes = new Uint8Array(this.values.buffer, 0, n * this.width * 8);
      let got = 0;
      while (got < bytes.length) {
        const r = readSync(this.fd, bytes, got, bytes.length - got, this.offset + got);
        if (r === 0) throw new Error(`${this.path}: spill file ended early`);
        got += r;
      }
      this.offset += bytes.length;
      this.left -= n;
      this.inBuf = n;
      this.used = 0;
    }
    this.at = this.used++ * this.width;
    return true;
  }

  close(): void {
    closeSync(this.fd);
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
    const buf = Buffer.from(`${this.pending.join('\n')}\n`);
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
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
