// Atomic outputs: every file is written under a temporary name beside its target and renamed into
// place when complete, so no stage ever reads a half-written file. A command that writes one for
// long (ingest) removes the temporary files still open when a signal ends it (`removeTempsOnSignal`):
// the one process-wide record here is of those files, since a signal ends the whole process.

import { closeSync, openSync, renameSync, rmSync, writeFileSync, writeSync, writevSync } from 'node:fs';
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

export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(target);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** A file written in pieces and published by `commit()`; `abort()` leaves nothing behind. */
export class AtomicFile {
  readonly tmp: string;
  private fd: number | undefined;
  bytes = 0;

  constructor(readonly target: string) {
    this.tmp = tempPathFor(target);
    this.fd = openSync(this.tmp, 'w');
    openTemps.add(this.tmp);
  }

  write(chunk: Uint8Array): void {
    if (this.fd === undefined) throw new Error(`write after close: ${this.target}`);
    let off = 0;
    while (off < chunk.byteLength) off += writeSync(this.fd, chunk, off);
    this.bytes += chunk.byteLength;
  }

  /** The chunks in order, in as few system calls as they allow (`writeChunks`). */
  writeAll(chunks: readonly Uint8Array[]): void {
    const fd = this.fd;
    if (fd === undefined) throw new Error(`write after close: ${this.target}`);
    this.bytes += writeChunks((bufs) => writevSync(fd, bufs), chunks);
  }

  commit(): void {
    this.close();
    renameSync(this.tmp, this.target);
    openTemps.delete(this.tmp);
  }

  abort(): void {
    this.close();
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
