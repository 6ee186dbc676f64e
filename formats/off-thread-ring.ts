// The ring of a OffThreadFile (off-thread-file.ts) and the loop of its thread (off-thread-worker.ts).
//
// In shared memory: SLOTS slots of SLOT_BYTES; the control words are
//   PUBLISHED  slots the writer has filled (slot k of the ring holds number k % SLOTS)
//   CONSUMED   slots the thread has written to the file
//   STATE      RUNNING, END (the writer published its last slot), FINISHED (the thread wrote
//              every slot and closed the file), FAILED (a write failed: the message is on the
//              port first), ABORT (the writer gave up: the thread stops)
//   STARTED    1 once the thread runs (a thread that cannot start fails the writer's wait)
// The writer waits (Atomics.wait) only when every slot is full, and at `commit` for the thread to
// finish; the thread waits when there is nothing to write.

import { writeSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';

export const PUBLISHED = 0;
export const CONSUMED = 1;
export const STATE = 2;
export const STARTED = 3;
export const CONTROL_WORDS = 4;

export const RUNNING = 0;
export const END = 1;
export const FINISHED = 2;
export const FAILED = 3;
export const ABORT = 4;

/** What the thread is given. */
export interface OffThreadData {
  /** The temporary file, opened by the thread for writing from its start. */
  readonly path: string;
  readonly slots: SharedArrayBuffer;
  readonly slotBytes: number;
  /** Each slot's length in bytes (Int32, one per slot). */
  readonly lengths: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly port: MessagePort;
}

/** The thread's loop: every published slot to the file at `path`, in order (off-thread-worker.ts). */
export function writeSlots(fd: number, d: Omit<OffThreadData, 'path' | 'port'>): void {
  const control = new Int32Array(d.control);
  const lengths = new Int32Array(d.lengths);
  const slots = new Uint8Array(d.slots);
  const count = lengths.length;
  let consumed = 0;
  Atomics.store(control, STARTED, 1);
  for (;;) {
    let published = Atomics.load(control, PUBLISHED);
    while (published === consumed) {
      const s = Atomics.load(control, STATE);
      if (s === END) return;
      if (s === ABORT) return;
      Atomics.wait(control, PUBLISHED, consumed);
      published = Atomics.load(control, PUBLISHED);
    }
    if (Atomics.load(control, STATE) === ABORT) return;
    const k = consumed % count;
    const len = lengths[k]!;
    const at = k * d.slotBytes;
    let off = 0;
    while (off < len) off += writeSync(fd, slots, at + off, len - off);
    Atomics.store(control, CONSUMED, ++consumed);
    Atomics.notify(control, CONSUMED);
  }
}

/** The writing thread's end state, after `writeSlots` returned or threw. */
export function settle(control: Int32Array, port: MessagePort, error: unknown): void {
  if (error !== undefined) {
    port.postMessage({ message: error instanceof Error ? error.message : 'the writing thread failed' });
    Atomics.store(control, STATE, FAILED);
  } else if (Atomics.load(control, STATE) !== ABORT) Atomics.store(control, STATE, FINISHED);
  Atomics.notify(control, STATE);
  Atomics.notify(control, CONSUMED);
}
