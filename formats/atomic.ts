// Atomic outputs: every file is written under a temporary name beside its target and renamed into
// place when complete, so no stage ever reads a half-written file.

import { closeSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;

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
  }

  write(chunk: Uint8Array): void {
    if (this.fd === undefined) throw new Error(`write after close: ${this.target}`);
    let off = 0;
    while (off < chunk.byteLength) off += writeSync(this.fd, chunk, off);
    this.bytes += chunk.byteLength;
  }

  commit(): void {
    this.close();
    renameSync(this.tmp, this.target);
  }

  abort(): void {
    this.close();
    rmSync(this.tmp, { force: true });
  }

  private close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
