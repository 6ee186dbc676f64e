// Starting bare hardware on a thread of its own (bare-worker.ts) for a replay in this thread: the
// ring and port it publishes through, and the mirrors the policy runs read instead of a bare unit
// of their own (bare-facts.ts). The thread reads the trace itself and runs ahead of the policies by
// at most the ring's size. When it fails, the next event the policies read reports its error; when
// the policies fail, the ring is aborted and the thread ends.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { workerScript } from '../formats/worker-job.js';
import type { Topology } from '../formats/trace/header.js';
import { BareFacts, MirroredBare } from './bare-facts.js';
import { factRing, FactReader } from './fact-ring.js';
import type { GuestQueue } from './guest-queue.js';
import type { ResolvedTopology } from './topology.js';

/** What bare hardware's thread is given (workerData). */
export interface BareThreadSpec {
  readonly trace: string;
  readonly topology: ResolvedTopology;
  readonly ring: SharedArrayBuffer;
  readonly port: MessagePort;
}

/** With no word from bare hardware's thread for this long, it is taken for dead (a thread that ends says so). */
export const BARE_SILENCE_MS = 60_000;

export interface BareThread {
  readonly facts: BareFacts;
  /** Ends the thread (after the replay, or when it failed). */
  stop(): void;
}

/** Starts bare hardware on `trace` in its own thread, mirrored for the queues `lanes` of this one. */
export function startBareThread(
  trace: string,
  topology: ResolvedTopology,
  lanes: readonly { readonly q: GuestQueue; readonly topology: Topology }[],
  ringWords?: number,
): BareThread {
  const ring = factRing(ringWords);
  const { port1, port2 } = new MessageChannel();
  const spec: BareThreadSpec = { trace, topology, ring, port: port2 };
  const worker = new Worker(workerScript(import.meta.url, 'replay/bare-worker.js'), { workerData: spec, transferList: [port2] });
  // Its failures come through the ring and the port (read synchronously); these events would only
  // arrive once this thread yields, so they are left unhandled only in name.
  worker.on('error', () => {});
  let facts: BareFacts | undefined = undefined;
  const reader = new FactReader(
    ring,
    (state) => facts!.ended(state),
    (waited) => waited >= BARE_SILENCE_MS,
  );
  facts = new BareFacts(
    reader,
    port1,
    lanes.map((l) => new MirroredBare(l.topology, l.q)),
  );
  return {
    facts,
    stop: () => {
      reader.abort();
      port1.close();
      void worker.terminate();
    },
  };
}
