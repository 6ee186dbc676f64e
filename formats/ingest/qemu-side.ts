// The QEMU side of an ingest: a VT-d log ingested on its own is read in one pass straight into the
// trace's columns (`readVtdLogInto`: register-mode byte scanner, the queue's state machine on
// numbers, the assembler as its QueueRows), or, when asked (INVTRACE_INGEST_WORKER=1), in two
// stages (`readVtdLogPipelined`; docs/ingest.md "Two stages" has why it is not the default): a
// worker thread (qemu-worker.ts) runs that reader with the queue's calls recorded in typed-array
// batches (row-wire.ts), and this thread replays them into the assembler, so reading, inflating,
// scanning and the queue overlap the builder and the Arrow writer. An SMMUv3 log ingested on its
// own is read the one-pass way too (`readSmmuv3LogInto`). Otherwise logs are read as batches of
// queue events, one batch per block of lines: in this thread (`qemuEvents`, the pair's QEMU side),
// or, when forced (INVTRACE_INGEST_WORKER=1), in a worker thread (`qemuEventsInWorker`, SMMUv3
// alone too), which did not pay on the 2-core machine.
//
// The worker runs exactly the in-thread reader (same scanner, same queue, its own Diagnostics of the
// same file) and sends its batches with the progress; at the end its diagnostics, which this
// thread's Diagnostics takes over, so the summary, the warnings and their order are the same. An
// InputFault there (a malformed line under --strict, a truncated gzip stream) arrives after the
// batches before it, so it surfaces where it would in this thread, with the same message. At most
// IN_FLIGHT batches wait for this thread (a shared credit counter the worker waits on), so memory
// stays flat whatever the size of the log.

import type { MessagePort, Transferable } from 'node:worker_threads';
import type { Arch } from '../codec/table.js';
import type { CaptureEvent, Diagnostics, DiagnosticsState } from '../capture/events.js';
import type { Progress } from '../capture/guest-trace.js';
import { FALLBACK_CODE, QemuByteScanner } from '../capture/qemu-bytes.js';
import { parseQemuLogLine } from '../capture/qemu-log.js';
import { SMMUV3_EVENTS } from '../capture/qemu-smmuv3.js';
import { Smmuv3QemuQueue } from '../capture/qemu-smmuv3-queue.js';
import { VTD_EVENTS } from '../capture/qemu-vtd.js';
import { VtdQemuQueue } from '../capture/qemu-vtd-queue.js';
import type { LineMeta } from '../capture/queue-reader.js';
import type { KnownRows, QueueRows } from '../capture/queue-rows.js';
import { Stamp } from '../capture/stamp.js';
import { readLineChunks, type LineChunk } from '../lines.js';
import { InputFault, type InputError } from '../result.js';
import { workerScript } from '../worker-job.js';
import { decodeEvents, type Wire } from './event-wire.js';
import { QemuVtdItems, type QemuSmmuv3Items } from './qemu-items.js';
import { BatchOrder, replayRows, type RowBatch } from './row-wire.js';

/**
 * The QEMU side as batches of queue events, a block of lines at a time: a line in the canonical
 * spelling of its event is parsed from its bytes (qemu-bytes.ts), any other line as text, which
 * words the errors and counts unknown events.
 */
export async function* qemuEvents(file: string, arch: Arch, diag: Diagnostics, progress?: Progress): AsyncGenerator<CaptureEvent[]> {
  // No per-command detail: the aligner and the worker's wire do not read it.
  const q = arch === 'vtd' ? new VtdQemuQueue(diag, { details: false }) : new Smmuv3QemuQueue(diag, { details: false });
  for await (const _ of qemuBlocks(file, q, diag, progress)) yield q.take();
  q.end();
  yield q.take();
}

/**
 * Bytes per block of a QEMU log read as a pair's side (`qemuItems`). A block's events stay in the
 * items' buffer until the guest side's blocks catch up: 1 MiB of the VT-d log (~13,000 lines) kept
 * up to ~7,000 of them, the buffer doubled four times to 2.2 MB and each doubling's first touch of
 * fresh pages cost 1-7 ms. At 128 KiB it doubles twice, to 4,096 events (557 KB), and the VT-d pair
 * took 0.43 s instead of 0.45 s (docs/ingest.md, "Twenty-fifth pass").
 */
const PAIRED_QEMU_BLOCK = 1 << 17;

/**
 * A QEMU log as the aligner's items (qemu-items.ts: the side of its architecture), a block of lines
 * at a time: the pair's QEMU side, read like `qemuEvents` but grouped as the queue emits its events.
 */
export async function* qemuItems(
  file: string,
  diag: Diagnostics,
  rows: QemuVtdItems | QemuSmmuv3Items,
  progress?: Progress,
): AsyncGenerator<number[]> {
  const q = rows instanceof QemuVtdItems ? new VtdQemuQueue(diag, { details: false, rows }) : new Smmuv3QemuQueue(diag, { rows });
  for await (const _ of qemuBlocks(file, q, diag, progress, PAIRED_QEMU_BLOCK)) yield rows.takeItems();
  q.end();
  yield [...rows.takeItems(), ...rows.rest()];
}

/**
 * A VT-d QEMU log read into `rows` (formats/ingest/assemble.ts TraceAssembler: the trace's columns)
 * in one pass: lines scanned from the bytes into the scanner's registers, the queue's state machine
 * run on them, and each command, doorbell and ack written as it is found, with no event object
 * between them (queue-rows.ts).
 */
export async function readVtdLogInto(file: string, rows: QueueRows, diag: Diagnostics, progress?: Progress): Promise<void> {
  const q = new VtdQemuQueue(diag, { details: false, rows });
  for await (const _ of qemuBlocks(file, q, diag, progress));
  q.end();
}

/**
 * An SMMUv3 QEMU log read into `rows` (the trace assembler) in one pass, as `readVtdLogInto` reads
 * a VT-d one: lines scanned into the scanner's registers, the queue's state machine run on them,
 * each command rebuilt as 32-bit halves (qemu-smmuv3-halves.ts) and written with its known bits.
 */
export async function readSmmuv3LogInto(file: string, rows: KnownRows, diag: Diagnostics, progress?: Progress): Promise<void> {
  const q = new Smmuv3QemuQueue(diag, { rows });
  for await (const _ of qemuBlocks(file, q, diag, progress));
  q.end();
}

/**
 * Reads a QEMU log into its queue reader, yielding after each block of lines: through a
 * register-mode scanner (no object per line) when the reader keeps no per-command detail (every
 * reader here); else an object-mode one.
 */
async function* qemuBlocks(
  file: string,
  q: VtdQemuQueue | Smmuv3QemuQueue,
  diag: Diagnostics,
  progress?: Progress,
  blockBytes?: number,
): AsyncGenerator<void> {
  // The trace does not hold QEMU's per-descriptor detail events: the VT-d queue keeps none.
  const vtd = q instanceof VtdQemuQueue;
  const registers = vtd || q.registers;
  const scanner = new QemuByteScanner(
    vtd ? VTD_EVENTS : SMMUV3_EVENTS,
    (event) => q.valuesRead(event),
    registers ? 'registers' : 'objects',
  );
  const scanned = registers ? q.scanned(scanner) : undefined;
  // The scanner's event is one of the table's (same names, fields and types as the text parser's).
  const apply = q.apply.bind(q) as (e: Record<string, unknown>, l: LineMeta, no: number) => void;
  const seen = (event: string, n: number) => diag.seen(event, n);
  // One block's lines, in a function of its own: a loop that runs thousands of times inside an
  // async generator makes V8 compile the whole generator on stack (twice per run, 20-29 ms each),
  // where this small function compiles once (docs/ingest.md, sixteenth pass).
  const block = (c: LineChunk): void => {
    const { buf, start, end } = c;
    for (let k = 0; k < c.count; k++) {
      const no = c.firstNo + k;
      if (scanned !== undefined) {
        const code = scanner.scanCode(buf, start[k]!, end[k]!);
        if (code !== FALLBACK_CODE) {
          scanned(code, no); // counted by the scanner
          continue;
        }
      } else {
        const e = scanner.scan(buf, start[k]!, end[k]!);
        if (e !== undefined) {
          apply(e, scanner.line, no); // counted by the scanner
          continue;
        }
      }
      const text = buf.toString('utf8', start[k], end[k]);
      const l = parseQemuLogLine(text);
      if (l !== undefined) q.feed(l, no);
      else if (text.trim() !== '') diag.bad(no, 'not a QEMU trace line');
    }
  };
  // Nothing here keeps a block past the next: a plain log is read into reused buffers, read ahead.
  for await (const c of readLineChunks(file, { reuse: true, ...(blockBytes !== undefined ? { block: blockBytes } : {}) })) {
    block(c);
    scanner.takeCounts(seen);
    diag.lines = c.firstNo + c.count - 1;
    progress?.(file, c.bytes, diag.lines);
    yield;
  }
}

/** What the worker is asked to read: the events of any QEMU log, or the row calls of a VT-d one. */
export interface QemuWorkerData {
  readonly mode: 'events' | 'rows';
  readonly file: string;
  readonly arch: Arch;
  readonly strict: boolean;
  /** Int32Array over a SharedArrayBuffer: batches the worker may still send. */
  readonly credits: SharedArrayBuffer;
  /** `rows`: records per batch (row-wire.ts BATCH_ROWS by default). */
  readonly batchRows?: number;
  /** `rows`, tests of the batch order check only: the batch the worker skips (never sends). */
  readonly skipBatch?: number;
  /** `rows`: where this thread gives the batches' buffers back, replayed (read with receiveMessageOnPort). */
  readonly returns?: MessagePort;
}

export type QemuWorkerMessage =
  | { readonly type: 'batch'; readonly wire: Wire; readonly bytes: number; readonly lines: number }
  | { readonly type: 'rows'; readonly batch: RowBatch; readonly bytes: number; readonly lines: number }
  | { readonly type: 'done'; readonly diag: DiagnosticsState; readonly batches?: number }
  | { readonly type: 'error'; readonly input?: InputError; readonly message?: string };

/** Batches the worker may read ahead of this thread. */
export const IN_FLIGHT = 4;
/**
 * Events per batch the worker sends at least (but the last): the blocks' events are gathered, as
 * each message wakes this thread, which on busy cores waits for the scheduler (~4 blocks of lines).
 */
export const MIN_BATCH = 4096;

/** How a QEMU log ingested on its own is read: in this thread, in a worker thread, or by its size. */
export type Pipeline = 'serial' | 'worker' | 'auto';

/** INVTRACE_INGEST_WORKER=1 forces the worker thread, =0 this thread; otherwise `auto`. */
export function pipelineAsked(): Pipeline {
  const v = process.env.INVTRACE_INGEST_WORKER;
  return v === '1' ? 'worker' : v === '0' ? 'serial' : 'auto';
}

/**
 * Whether to read the log in a worker thread: only when asked (INVTRACE_INGEST_WORKER=1) for the
 * event path (SMMUv3, or `eventObjects`). Measured on the 2-core machine (docs/ingest.md
 * "Writing"), it never paid there: its events are objects decoded again on this side.
 */
export function qemuWorkerAsked(): boolean {
  return pipelineAsked() === 'worker';
}

/**
 * The messages of a reader worker, in order, until its `done` (returned): an `error` is thrown here
 * (an InputFault as it was in the worker), as is the worker's failure or early exit. Asking for
 * the next message gives the worker a credit for one more batch. The worker ends with the iteration
 * (also when this thread stops early: woken should it wait for a credit, then terminated).
 */
async function* workerMessages(
  data: QemuWorkerData,
  transferList: Transferable[] = [],
): AsyncGenerator<Extract<QemuWorkerMessage, { type: 'batch' | 'rows' }>, Extract<QemuWorkerMessage, { type: 'done' }>> {
  const credits = new Int32Array(data.credits);
  credits[0] = IN_FLIGHT;
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(workerScript(import.meta.url, 'formats/ingest/qemu-worker.js'), { workerData: data, transferList });
  const inbox: QemuWorkerMessage[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const arrived = () => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (m: QemuWorkerMessage) => {
    inbox.push(m);
    arrived();
  });
  worker.on('error', (e) => {
    failure ??= new Error(`the QEMU log reader thread failed: ${e.message}`);
    arrived();
  });
  worker.on('exit', (code) => {
    failure ??= new Error(`the QEMU log reader thread exited (code ${code}) before it finished`);
    arrived();
  });
  try {
    for (;;) {
      const m = inbox.shift();
      if (m === undefined) {
        if (failure !== undefined) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if (m.type === 'error') {
        if (m.input !== undefined) throw new InputFault(m.input);
        throw new Error(`QEMU log reader thread: ${m.message ?? 'failed'}`);
      }
      if (m.type === 'done') return m;
      yield m;
      // This batch is written: the worker may send one more.
      Atomics.add(credits, 0, 1);
      Atomics.notify(credits, 0);
    }
  } finally {
    // Stopped early (an error here or there): wake the worker should it wait for a credit, and end it.
    Atomics.add(credits, 0, IN_FLIGHT);
    Atomics.notify(credits, 0);
    await worker.terminate();
  }
}

/** The QEMU side as batches of queue events, read in a worker thread (see the header). */
export async function* qemuEventsInWorker(
  file: string,
  arch: Arch,
  diag: Diagnostics,
  progress?: Progress,
): AsyncGenerator<CaptureEvent[]> {
  const data: QemuWorkerData = { mode: 'events', file, arch, strict: diag.strict, credits: new SharedArrayBuffer(4) };
  const messages = workerMessages(data);
  try {
    for (;;) {
      const r = await messages.next();
      if (r.done === true) {
        diag.restore(r.value.diag);
        return;
      }
      const m = r.value;
      if (m.type !== 'batch') throw new Error(`QEMU log reader thread: unexpected ${m.type} message`);
      diag.lines = m.lines;
      progress?.(file, m.bytes, m.lines);
      yield decodeEvents(m.wire, file);
    }
  } finally {
    await stop(messages);
  }
}

/** Ends a worker's message iteration (and so the worker) if it has not ended. */
async function stop(messages: AsyncGenerator<unknown, unknown>): Promise<void> {
  await messages.return(undefined);
}

/** Options of `readVtdLogPipelined` (tests). */
export interface PipelineOptions {
  /** Records per batch (row-wire.ts BATCH_ROWS). */
  readonly batchRows?: number;
  /** The batch the worker skips, to see the order check fire. */
  readonly skipBatch?: number;
}

/**
 * `readVtdLogInto` as a two-stage pipeline: a worker thread reads the log (inflating a gzip),
 * scans its lines and runs the queue's state machine, recording the queue's calls on its QueueRows
 * (row-wire.ts), and this thread replays them on `rows` (the trace assembler: builder and writer)
 * as the batches arrive, at most IN_FLIGHT ahead. The worker's Diagnostics (same file, same
 * --strict) are taken over at the end, so the summary and its warnings are the same; an InputFault
 * there arrives after the batches of the lines before it, so it surfaces with the same message.
 */
export async function readVtdLogPipelined(
  file: string,
  rows: QueueRows,
  diag: Diagnostics,
  progress?: Progress,
  opts: PipelineOptions = {},
): Promise<void> {
  const { MessageChannel } = await import('node:worker_threads');
  const returns = new MessageChannel();
  const data: QemuWorkerData = {
    mode: 'rows',
    file,
    arch: 'vtd',
    strict: diag.strict,
    credits: new SharedArrayBuffer(4),
    returns: returns.port2,
    ...(opts.batchRows !== undefined ? { batchRows: opts.batchRows } : {}),
    ...(opts.skipBatch !== undefined ? { skipBatch: opts.skipBatch } : {}),
  };
  const order = new BatchOrder();
  const stamp = new Stamp();
  const messages = workerMessages(data, [returns.port2]);
  try {
    for (;;) {
      const r = await messages.next();
      if (r.done === true) {
        order.end(r.value.batches ?? 0);
        diag.restore(r.value.diag);
        return;
      }
      const m = r.value;
      if (m.type !== 'rows') throw new Error(`QEMU log reader thread: unexpected ${m.type} message`);
      order.take(m.batch.seq);
      replayRows(m.batch, file, rows, stamp);
      returns.port1.postMessage(m.batch.buffer, [m.batch.buffer]);
      diag.lines = m.lines;
      progress?.(file, m.bytes, m.lines);
    }
  } finally {
    await stop(messages);
    returns.port1.close();
  }
}
