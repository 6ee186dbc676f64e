// The worker thread that reads a QEMU log for qemu-side.ts `qemuEventsInWorker`: the log through the
// in-thread reader (`qemuEvents`: scanner, text fallback, queue state machine), the queue events of a few blocks posted as typed arrays (event-wire.ts) with the
// progress, at most the credits the writing thread gave ahead of it; then its diagnostics, or the
// error (an InputFault as its detail).

import { parentPort, workerData } from 'node:worker_threads';
import { Diagnostics, type CaptureEvent } from '../capture/events.js';
import { InputFault } from '../result.js';
import { encodeEvents } from './event-wire.js';
import { MIN_BATCH, qemuEvents, type QemuWorkerData, type QemuWorkerMessage } from './qemu-side.js';

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

async function run(spec: QemuWorkerData): Promise<void> {
  const diag = new Diagnostics(spec.file, spec.strict);
  const credits = new Int32Array(spec.credits);
  let bytes = 0;
  const progress = (_file: string, b: number) => {
    bytes = b;
  };
  let events: CaptureEvent[] = [];
  const send = () => {
    const wire = encodeEvents(events);
    events = [];
    credit(credits);
    post({ type: 'batch', wire, bytes, lines: diag.lines }, [wire.buffer]);
  };
  for await (const batch of qemuEvents(spec.file, spec.arch, diag, progress)) {
    for (const e of batch) events.push(e);
    if (events.length >= MIN_BATCH) send();
  }
  send();
  post({ type: 'done', diag: diag.state() });
}

try {
  await run(workerData as QemuWorkerData);
} catch (e) {
  post(e instanceof InputFault ? { type: 'error', input: e.detail } : { type: 'error', message: (e as Error).stack ?? String(e) });
}
