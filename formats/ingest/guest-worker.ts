// The worker thread that reads the guest side of a pair (guest-side.ts guestInWorker): the guest
// trace through the same readers as in the main thread, its alignable commands posted per block of
// lines (at most IN_FLIGHT ahead of the aligner), then its diagnostics and facts, or the error.

import { parentPort, workerData } from 'node:worker_threads';
import { Diagnostics, type CmdEvent } from '../capture/events.js';
import type { GuestFacts } from '../capture/guest-trace.js';
import { InputFault } from '../result.js';
import { alignableIn } from './align.js';
import { encodeCmds, guestEvents, type GuestWorkerData, type GuestWorkerMessage } from './guest-side.js';

const port = parentPort!;
const post = (m: GuestWorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

/** Waits (blocking this thread) until the aligner has room for one more batch, and takes it. */
function credit(counter: Int32Array): void {
  for (;;) {
    const v = Atomics.load(counter, 0);
    if (v > 0 && Atomics.compareExchange(counter, 0, v, v - 1) === v) return;
    if (v <= 0) Atomics.wait(counter, 0, v);
  }
}

async function run(spec: GuestWorkerData): Promise<void> {
  const diag = new Diagnostics(spec.file, spec.strict);
  const facts: GuestFacts = {};
  const counter = new Int32Array(spec.credits);
  const alignable = alignableIn(spec.arch);
  const progress = spec.progress ? (_file: string, bytes: number, lines: number) => post({ type: 'progress', bytes, lines }) : undefined;
  for await (const batch of guestEvents(spec, diag, facts, progress)) {
    const cmds = batch.filter((e): e is CmdEvent => e.kind === 'cmd' && alignable(e));
    if (cmds.length === 0) continue;
    const wire = encodeCmds(cmds);
    credit(counter);
    const buffers = [wire.slot, wire.wrap, wire.nWords, wire.words, wire.hasKnown, wire.known, wire.cpu, wire.line].map(
      (a) => a.buffer as ArrayBuffer,
    );
    post({ type: 'batch', cmds: wire }, buffers);
  }
  post({ type: 'done', diag: diag.state(), facts });
}

try {
  await run(workerData as GuestWorkerData);
} catch (e) {
  post(e instanceof InputFault ? { type: 'error', input: e.detail } : { type: 'error', message: (e as Error).stack ?? String(e) });
}
