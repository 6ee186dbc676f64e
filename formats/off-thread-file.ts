// A file written off its writer's thread: the writer copies each chunk into a ring of shared slots
// and goes on; a thread of its own (off-thread-worker.ts) writes the slots to the file in order. The
// kernel's half of a write (the copy into the page cache and, on this PVM guest, a page fault per
// fresh page, ~10-16 us each) then runs on another core. For a large output made by a loop that
// has work of its own and never yields to the event loop (a replay's result tables, built in a
// synchronous loop: host_ops is ~900 MB at 1M commands), so asynchronous writes on the libuv pool,
// whose completions wait for the event loop to turn, would not do. Nothing is started for a file
// smaller than one slot: it is written in the writer's thread when committed.
// Atomic as AtomicFile: written under its temporary name, renamed into place by `commit`.
//
// The ring and its protocol: off-thread-ring.ts.

import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { AtomicFile } from './atomic.js';
import { workerScript } from './worker-job.js';
import { ABORT, CONSUMED, CONTROL_WORDS, END, FAILED, PUBLISHED, RUNNING, STARTED, STATE, type OffThreadData } from './off-thread-ring.js';

export interface OffThreadOptions {
  /** Slots in the ring (default 8). */
  readonly slots?: number;
  /** Bytes per slot (default 1 MiB). */
  readonly slotBytes?: number;
}

/** How long the writer waits for a thread that has not started before it gives up. */
const START_TIMEOUT_MS = 30_000;

interface Thread {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly control: Int32Array;
  readonly lengths: Int32Array;
}

export class OffThreadFile {
  readonly file: AtomicFile;
  /** Bytes written so far (handed over, not necessarily on disk yet). */
  bytes = 0;
  private readonly slotBytes: number;
  private readonly count: number;
  private readonly data: Uint8Array;
  /** Bytes in the slot being filled. */
  private fill = 0;
  private published = 0;
  private thread: Thread | undefined;
  private closed = false;

  constructor(
    readonly target: string,
    opts: OffThreadOptions = {},
  ) {
    this.count = opts.slots ?? 8;
    this.slotBytes = opts.slotBytes ?? 1 << 20;
    if (!(this.count >= 2 && this.slotBytes >= 8)) throw new RangeError('off-thread file: at least 2 slots of 8 bytes');
    this.file = new AtomicFile(target);
    this.data = new Uint8Array(new SharedArrayBuffer(this.count * this.slotBytes));
  }

  /** Whether a thread writes this file (it started when the first slot was full). */
  get threaded(): boolean {
    return this.thread !== undefined;
  }

  write(chunk: Uint8Array): void {
    if (this.closed) throw new Error(`write after close: ${this.target}`);
    let off = 0;
    while (off < chunk.byteLength) {
      if (this.fill === this.slotBytes) this.publish();
      const n = Math.min(this.slotBytes - this.fill, chunk.byteLength - off);
      const at = (this.published % this.count) * this.slotBytes + this.fill;
      this.data.set(n === chunk.byteLength ? chunk : chunk.subarray(off, off + n), at);
      this.fill += n;
      off += n;
    }
    this.bytes += chunk.byteLength;
  }

  /** The chunks in order (AtomicFile's signature). */
  writeAll(chunks: readonly Uint8Array[]): void {
    for (const c of chunks) this.write(c);
  }

  /** Writes what is left, waits for the thread to finish and publishes the file. */
  commit(): void {
    if (this.closed) throw new Error(`commit after close: ${this.target}`);
    this.closed = true;
    const t = this.thread;
    if (t === undefined) {
      // Never a full slot: written here, as AtomicFile would.
      if (this.fill > 0) this.file.write(this.data.subarray(0, this.fill));
      this.file.commit();
      return;
    }
    try {
      if (this.fill > 0) this.publish();
      // RUNNING -> END; a thread that failed meanwhile left FAILED, which must not be overwritten.
      if (Atomics.compareExchange(t.control, STATE, RUNNING, END) === FAILED) throw this.failure(t);
      Atomics.notify(t.control, PUBLISHED);
      while (Atomics.load(t.control, STATE) === END) this.wait(t, STATE, END);
      if (Atomics.load(t.control, STATE) === FAILED) throw this.failure(t);
    } catch (e) {
      this.file.abort();
      void t.worker.terminate();
      throw e;
    }
    this.file.commit();
  }

  /** Stops the thread and removes the temporary file. */
  abort(): void {
    this.closed = true;
    const t = this.thread;
    if (t !== undefined) {
      Atomics.store(t.control, STATE, ABORT);
      Atomics.notify(t.control, PUBLISHED);
      void t.worker.terminate();
    }
    this.file.abort();
  }

  /** Hands the full slot to the thread (started at the first), then waits until a slot is free. */
  private publish(): void {
    const t = (this.thread ??= this.start());
    t.lengths[this.published % this.count] = this.fill;
    this.published++;
    this.fill = 0;
    Atomics.store(t.control, PUBLISHED, this.published);
    Atomics.notify(t.control, PUBLISHED);
    let consumed: number;
    while (this.published - (consumed = Atomics.load(t.control, CONSUMED)) >= this.count) {
      if (Atomics.load(t.control, STATE) === FAILED) throw this.failure(t);
      this.wait(t, CONSUMED, consumed);
    }
    if (Atomics.load(t.control, STATE) === FAILED) throw this.failure(t);
  }

  /** Atomics.wait on a control word, failing if the thread has not started after START_TIMEOUT_MS. */
  private wait(t: Thread, index: number, value: number): void {
    if (Atomics.wait(t.control, index, value, START_TIMEOUT_MS) !== 'timed-out' || Atomics.load(t.control, STARTED) === 1) return;
    this.closed = true;
    throw new Error(`${this.target}: the writing thread did not start`);
  }

  private start(): Thread {
    const control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
    const lengths = new Int32Array(new SharedArrayBuffer(this.count * 4));
    const { port1, port2 } = new MessageChannel();
    const data: OffThreadData = {
      path: this.file.tmp,
      slots: this.data.buffer as SharedArrayBuffer,
      slotBytes: this.slotBytes,
      lengths: lengths.buffer,
      control: control.buffer,
      port: port2,
    };
    const worker = new Worker(workerScript(import.meta.url, 'formats/off-thread-worker.js'), { workerData: data, transferList: [port2] });
    // The thread ends by itself once finished; it never holds the process open.
    worker.unref();
    port1.unref();
    return { worker, port: port1, control, lengths };
  }

  /** The thread's failure, as the Error a write here would have thrown. */
  private failure(t: Thread): Error {
    this.closed = true;
    const m = receiveMessageOnPort(t.port)?.message as { message?: string } | undefined;
    return new Error(`${this.target}: ${m?.message ?? 'the writing thread failed'}`);
  }
}
