// Fixed-width numeric records spilled to a scratch file and read back in order: how a replay keeps
// per-policy rows (completion points) out of memory until the tables are written, so memory stays
// flat however long the trace. Records are `width` float64 values; writes and reads go through
// one buffer of BATCH records.

import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';

const BATCH = 8192;

export class Spill {
  private readonly buf: Float64Array;
  private used = 0;
  private fd: number;
  /** Records written so far. */
  records = 0;

  constructor(private readonly path: string, readonly width: number) {
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
    for (let left = this.records; left > 0; ) {
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

  dispose(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.path, { force: true });
  }
}
