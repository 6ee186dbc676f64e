// The worker thread that reads a QEMU log for qemu-side.ts: in `events` mode (`qemuEventsInWorker`)
// the log through the in-thread reader (`qemuEvents`: scanner, text fallback, queue state machine),
// the queue events of a few blocks posted as typed arrays (event-wire.ts); in `rows` mode
// (`readVtdLogPipelined`) a VT-d log through `readVtdLogInto` with a RowBatcher as its QueueRows
// (row-wire.ts), each full batch of the queue's calls posted as it fills. Each batch goes with the
// progress, and at most with the credits the writing thread gave ahead of it; then its diagnostics,
// or the error (an InputFault as its detail, after the rows of the lines before it).

import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { Diagnostics, type CaptureEvent } from '../capture/events.js';
import { InputFault } from '../result.js';
import { encodeEvents } from './event-wire.js';
import { MIN_BATCH, qemuEvents, readVtdLogInto, type QemuWorkerData, type QemuWorkerMessage } from './qemu-side.js';
import { RowBatcher } from './row-wire.js';

const port = parentPort!;
const post = (m: QemuWorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

/** Waits (blocking this thread only) until the writing thread has room for one more batch, and takes it. */
function credit(counter: Int32Array): void {
  for (;;) {
    const v = Atomics.load(counter, 0);
    if (v > 0) {
      if (Atomics.compareExchange(counter, 0, v, v - 1) === v) return;
    } else Atomics.wait(counter, 0, v);
  }
}

/** Progress as the reader reports it: the bytes read so far (the lines are the Diagnostics'). */
class Read {
  bytes = 0;
  readonly progress = (_file: string, b: number) => {
    this.bytes = b;
  };
}

async function events(spec: QemuWorkerData, diag: Diagnostics): Promise<void> {
  const credits = new Int32Array(spec.credits);
  const read = new Read();
  let events: CaptureEvent[] = [];
  const send = () => {
    const wire = encodeEvents(events);
    events = [];
    credit(credits);
    post({ type: 'batch', wire, bytes: read.bytes, lines: diag.lines }, [wire.buffer]);
  };
  for await (const batch of qemuEvents(spec.file, spec.arch, diag, read.progress)) {
    for (const e of batch) events.push(e);
    if (events.length >= MIN_BATCH) send();
  }
  send();
  post({ type: 'done', diag: diag.state() });
}

async function rows(spec: QemuWorkerData, diag: Diagnostics): Promise<void> {
  const credits = new Int32Array(spec.credits);
  const read = new Read();
  const returns = spec.returns;
  const batcher = new RowBatcher(
    (batch) => {
      if (batch.seq === spec.skipBatch) return;
      credit(credits);
      post({ type: 'rows', batch, bytes: read.bytes, lines: diag.lines }, [batch.buffer]);
    },
    spec.batchRows,
    () => (returns === undefined ? undefined : (receiveMessageOnPort(returns)?.message as ArrayBuffer | undefined)),
  );
  try {
    await readVtdLogInto(spec.file, batcher, diag, read.progress);
  } finally {
    // The rows of the lines before an error go first, so an error of the writing side on one of
    // them surfaces before this one, as in one thread.
    batcher.flush();
    returns?.close();
  }
  post({ type: 'done', diag: diag.state(), batches: batcher.sent });
}

// In a function: the bundled CLI is CommonJS (rolldown.config.js), which has no top-level await.
void (async () => {
  try {
    const spec = workerData as QemuWorkerData;
    const diag = new Diagnostics(spec.file, spec.strict);
    await (spec.mode === 'rows' ? rows(spec, diag) : events(spec, diag));
  } catch (e) {
    post(
      e instanceof InputFault ? { type: 'error', input: e.detail } : { type: 'error', message: e instanceof Error ? e.message : String(e) },
    );
  }
})();
