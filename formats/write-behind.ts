// Writing behind: a file's pieces written at their offsets by asynchronous writes on the libuv
// thread pool while the caller goes on (the kernel's copy into the page cache, ~10-70 ms for one
// 10.8 MB trace batch on this VM, then runs beside the parsing of the next batch instead of before
// it). The caller's buffers are first copied into a staging buffer of ours, so the caller may
// reuse its own as soon as `write` returns (the trace builder writes the next batch into the same
// column arrays, formats/arrow/fixed-columns.ts); only views of a buffer the caller promises never
// to write (`shared`: the builder's zeros) are written from where they are. One staging buffer,
// reused, made on the pool (`prepare`) when a large piece is first written (that one is written at
// once): while it is in flight or being made, the next pieces are written with blocking writes
// (memory stays one batch; on a disk slower than the parsing, writing behind degrades to blocking
// writes), and small pieces always are (`least`). Partial writes go on where they stopped, IOV_MAX
// buffers a call (`advance`).

import { close, open, read, writev, writevSync } from 'node:fs';

/** Buffers one `writev` takes at most (IOV_MAX on Linux). */
export const IOV_MAX = 1024;

/**
 * After a writev of `bufs` wrote `n` bytes: how many of the buffers it wrote whole (`whole`), and
 * what is left of the next one when it wrote part of it (`rest`; undefined: none written of it).
 */
export function advance(bufs: readonly Uint8Array[], n: number): { whole: number; rest: Uint8Array | undefined } {
  let k = 0;
  while (k < bufs.length && n >= bufs[k]!.byteLength) n -= bufs[k++]!.byteLength;
  return { whole: k, rest: k < bufs.length && n > 0 ? bufs[k]!.subarray(n) : undefined };
}

/** `writev` at `position` as a promise of the bytes written. */
function writevAt(fd: number, bufs: Uint8Array[], position: number): Promise<number> {
  return new Promise((resolve, reject) => writev(fd, bufs, position, (e, n) => (e ? reject(e) : resolve(n))));
}

/** The bytes of `chunks`. */
function sizeOf(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  return n;
}

export class WriteBehind {
  /** The staging buffer when no write uses it (undefined: in flight, being made, or none yet). */
  private spare: Buffer | undefined;
  /** Whether the staging buffer is in flight or being made (`prepare`). */
  private staged = false;
  /** Writes (and the staging buffer's making) in flight. */
  private inFlight = 0;
  /** The first failed write's error: thrown by the next `write` and by `settled`. */
  private failure: Error | undefined;
  private readonly waiting: (() => void)[] = [];
  /** Pieces written with a blocking write (small ones, the first, or the staging buffer in flight). */
  blocking = 0;

  constructor(
    private readonly fd: number,
    /** Pieces copying fewer bytes than this are written at once (a small file needs no staging buffer). */
    private readonly least = 1 << 20,
  ) {}

  /** Whether writes are in flight. */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  /**
   * Writes `chunks`, in order, from `position` on; returns their bytes. The chunks may be changed
   * once this returns, except views of `shared`.
   */
  write(chunks: readonly Uint8Array[], position: number, shared?: ArrayBufferLike): number {
    this.check();
    const total = sizeOf(chunks);
    let copied = 0;
    for (const c of chunks) if (shared === undefined || c.buffer !== shared) copied += c.byteLength;
    const staging = this.spare;
    if (staging === undefined || staging.byteLength < copied || copied < this.least) {
      // A staging buffer too small or none: one is made on the pool while this piece is written.
      if (!this.staged && copied >= this.least && (staging === undefined || staging.byteLength < copied)) this.prepare(copied);
      this.blocking++;
      this.writeNow(chunks, position);
      return total;
    }
    this.spare = undefined;
    this.staged = true;
    // The copied chunks run together in the staging buffer; a shared view is written where it is.
    const iov: Uint8Array[] = [];
    let at = 0;
    let from = 0;
    for (const c of chunks) {
      if (shared !== undefined && c.buffer === shared) {
        if (at > from) iov.push(staging.subarray(from, at));
        if (c.byteLength > 0) iov.push(c);
        from = at;
      } else {
        staging.set(c, at);
        at += c.byteLength;
      }
    }
    if (at > from) iov.push(staging.subarray(from, at));
    this.inFlight++;
    void this.send(iov, position, staging);
    return total;
  }

  /**
   * Pieces copying up to `bytes` will follow: a staging buffer that large is made on the pool now
   * (unless one is, or one is being made), so that the first of them need not be written at once.
   */
  reserve(bytes: number): void {
    if (this.staged || bytes < this.least || (this.spare !== undefined && this.spare.byteLength >= bytes)) return;
    this.prepare(bytes);
  }

  /** Resolves when no write is in flight; rejects with the first failed write's error. */
  async settled(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.check();
  }

  /** Throws the first failed write's error, if any. */
  check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** `chunks` written with blocking writes from `position`. */
  private writeNow(chunks: readonly Uint8Array[], position: number): void {
    let i = 0;
    let rest: Uint8Array | undefined;
    while (i < chunks.length) {
      const bufs = chunks.slice(i, i + IOV_MAX);
      if (rest !== undefined) bufs[0] = rest;
      const n = writevSync(this.fd, bufs, position);
      position += n;
      const a = advance(bufs, n);
      i += a.whole;
      rest = a.rest;
    }
  }

  /**
   * Makes a staging buffer of `bytes` on the pool: its pages are first touched by a read of
   * /dev/zero there, not by the first copy on this thread (a fresh page costs a fault, ~10-16 us on
   * this VM: ~2,100 for a trace batch). Without /dev/zero the pieces stay blocking writes.
   */
  private prepare(bytes: number): void {
    const staging = Buffer.allocUnsafeSlow(bytes);
    this.staged = true;
    this.inFlight++;
    const done = (made: boolean) => {
      if (made) this.spare = staging;
      this.staged = false;
      this.settle();
    };
    open('/dev/zero', 'r', (e, zero) => {
      if (e) return done(false);
      const fill = (at: number): void =>
        read(zero, staging, at, bytes - at, null, (e2, n) => {
          if (e2 || n === 0) return close(zero, () => done(false));
          if (at + n < bytes) return fill(at + n);
          close(zero, () => done(true));
        });
      fill(0);
    });
  }

  /** `iov` written on the pool from `position`; then the staging buffer is free again. */
  private async send(iov: Uint8Array[], position: number, staging: Buffer): Promise<void> {
    try {
      let i = 0;
      let rest: Uint8Array | undefined;
      while (i < iov.length) {
        const bufs = iov.slice(i, i + IOV_MAX);
        if (rest !== undefined) bufs[0] = rest;
        const n = await writevAt(this.fd, bufs, position);
        position += n;
        const a = advance(bufs, n);
        i += a.whole;
        rest = a.rest;
      }
    } catch (e) {
      if (this.failure === undefined) this.failure = e instanceof Error ? e : new Error(String(e));
    } finally {
      this.spare = staging;
      this.staged = false;
      this.settle();
    }
  }

  /** One thing in flight is done. */
  private settle(): void {
    if (--this.inFlight === 0) for (const wake of this.waiting.splice(0)) wake();
  }
}
