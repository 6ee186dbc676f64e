// Atomic outputs: every file is written under a temporary name beside its target and renamed into
// place when complete, so no stage ever reads a half-written file. A command that writes one for
// long (ingest) removes the temporary files still open when a signal ends it (`removeTempsOnSignal`):
// the one process-wide record here is of those files, since a signal ends the whole process.
// A long run of buffers that hold only zeros is not written when the caller allows holes (`writeAll`'s
// `zero`): the file gets a hole there, which reads as the same zeros, and the kernel neither
// allocates nor copies its pages.
// A target that exists and is neither a regular file nor a folder (/dev/null, a FIFO, a terminal)
// is written in place, in order: renaming a file over it would replace the device or the pipe.

import { closeSync, ftruncateSync, openSync, renameSync, rmSync, statSync, writeFileSync, writevSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/** Temporary files of AtomicFiles neither committed nor aborted (what a signal leaves behind). */
const openTemps = new Set<string>();

/** The signals that end a process by default and that `removeTempsOnSignal` catches. */
const ENDING_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Until the returned function is called: on SIGINT, SIGTERM or SIGHUP, the temporary files of the
 * AtomicFiles still open are removed and the process then ends by the same signal, as it would have
 * without this (when nothing else listens for it). A handler runs when the event loop turns, so the
 * work in between must yield now and then (formats/lines.ts does, reading a file with blocking reads).
 */
export function removeTempsOnSignal(): () => void {
  const stop = () => {
    for (const s of ENDING_SIGNALS) process.removeListener(s, on);
  };
  const on = (signal: NodeJS.Signals) => {
    for (const t of openTemps) rmSync(t, { force: true });
    openTemps.clear();
    stop();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  for (const s of ENDING_SIGNALS) process.on(s, on);
  return stop;
}

export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${counter++}.tmp`);
}

/**
 * Whether `target` exists and is neither a regular file nor a folder (a character device such as
 * /dev/null, a FIFO, a socket): what is written to it goes in place.
 */
export function inPlace(target: string): boolean {
  const s = statSync(target, { throwIfNoEntry: false });
  return s !== undefined && !s.isFile() && !s.isDirectory();
}

export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  if (inPlace(target)) return writeFileSync(target, data);
  const tmp = tempPathFor(target);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * The least run of zero buffers `writeAll` leaves as a hole: 16 pages, so that a hole spares whole
 * pages and a file is not cut into many small extents.
 */
export const HOLE_MIN = 64 * 1024;

/** Zeros a chunk is compared with, HOLE_MIN bytes at a time. */
const ZEROS = new Uint8Array(HOLE_MIN);

/** Whether `chunk` holds only zeros: memcmp, which stops at the first byte that is not. */
export function allZero(chunk: Uint8Array): boolean {
  const n = chunk.byteLength;
  for (let at = 0; at < n; at += HOLE_MIN) {
    const end = Math.min(n, at + HOLE_MIN);
    if (Buffer.compare(chunk.subarray(at, end), ZEROS.subarray(0, end - at)) !== 0) return false;
  }
  return true;
}

/**
 * A file written in pieces and published by `commit()`; `abort()` leaves nothing behind. A target
 * that is a device or a pipe (`inPlace`) is written in place, without holes, and `tmp` is the target.
 */
export class AtomicFile {
  readonly tmp: string;
  /** The target itself is written (`inPlace`): no temporary file, no rename, no position. */
  readonly direct: boolean;
  private fd: number | undefined;
  /** The file's length so far, and where the next piece goes (every write to a file is positioned). */
  bytes = 0;
  /** The end of the last piece written (below `bytes` when the file ends in a hole). */
  private written = 0;

  constructor(readonly target: string) {
    this.direct = inPlace(target);
    this.tmp = this.direct ? target : tempPathFor(target);
    this.fd = openSync(this.tmp, 'w');
    if (!this.direct) openTemps.add(this.tmp);
  }

  write(chunk: Uint8Array): void {
    if (this.fd === undefined) throw new Error(`write after close: ${this.target}`);
    this.writeRun([chunk]);
  }

  /**
   * The chunks in order, in as few system calls as they allow (`writeChunks`). `zero`: an
   * ArrayBuffer that holds only zeros, given when the file may have holes. A run of chunks,
   * HOLE_MIN bytes or more, each viewing `zero` or holding only zeros (`allZero`: a trace's columns
   * whose every row is 0, such as a VT-d descriptor's unused words), is then skipped, leaving a
   * hole (the same bytes when read). Without `zero` every byte is written.
   */
  writeAll(chunks: readonly Uint8Array[], zero?: ArrayBufferLike): void {
    if (this.fd === undefined) throw new Error(`write after close: ${this.target}`);
    let from = 0;
    if (zero !== undefined && !this.direct) {
      for (let i = 0; i < chunks.length;) {
        let j = i;
        let run = 0;
        while (j < chunks.length && (chunks[j]!.buffer === zero || allZero(chunks[j]!))) run += chunks[j++]!.byteLength;
        if (run >= HOLE_MIN) {
          this.writeRun(chunks.slice(from, i));
          this.bytes += run;
          from = j;
        }
        // chunks[j], if there is one, ended the run (a byte set): no run starts there, and it is
        // not compared again.
        i = j + 1;
      }
    }
    this.writeRun(from === 0 ? chunks : chunks.slice(from));
  }

  /** `chunks` at `bytes`, with positioned writevs (in order, for a target written in place). */
  private writeRun(chunks: readonly Uint8Array[]): void {
    const fd = this.fd!;
    if (chunks.length === 0) return;
    // A target written in place has no position (a pipe): it takes the bytes where it is.
    const direct = this.direct;
    let at = this.bytes;
    this.bytes += writeChunks((bufs) => {
      const n = writevSync(fd, bufs, direct ? undefined : at);
      at += n;
      return n;
    }, chunks);
    this.written = this.bytes;
  }

  commit(): void {
    // A file that ends in a hole: its length is set, as the zeros would have set it.
    if (this.fd !== undefined && this.written < this.bytes) ftruncateSync(this.fd, this.bytes);
    this.close();
    if (this.direct) return;
    renameSync(this.tmp, this.target);
    openTemps.delete(this.tmp);
  }

  abort(): void {
    this.close();
    if (this.direct) return;
    rmSync(this.tmp, { force: true });
    openTemps.delete(this.tmp);
  }

  private close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Buffers one `writev` takes at most (IOV_MAX on Linux). */
const IOV_MAX = 1024;

/**
 * Writes `chunks` in order through `writev` (which writes a prefix of the buffers it is given and
 * returns its length), IOV_MAX buffers a call, going on after a partial write where it stopped.
 * One call for an Arrow batch's ~200 buffers and paddings instead of one each. Returns the bytes.
 */
export function writeChunks(writev: (bufs: Uint8Array[]) => number, chunks: readonly Uint8Array[]): number {
  let total = 0;
  let i = 0;
  /** What is left of chunks[i] after a partial write (undefined: all of it). */
  let rest: Uint8Array | undefined;
  while (i < chunks.length) {
    const bufs = chunks.slice(i, i + IOV_MAX);
    if (rest !== undefined) bufs[0] = rest;
    let n = writev(bufs);
    total += n;
    let k = 0;
    while (k < bufs.length && n >= bufs[k]!.byteLength) n -= bufs[k++]!.byteLength;
    i += k;
    rest = k < bufs.length ? bufs[k]!.subarray(n) : undefined;
  }
  return total;
}
