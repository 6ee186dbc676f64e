// Starting bare hardware on a thread of its own (bare-worker.ts) for a replay in this thread: the
// ring and port it publishes through, and the mirrors the policy runs read instead of a bare unit
// of their own (bare-facts.ts). The thread is launched first (it loads its modules while this
// thread opens the trace and resolves the policies), then told which trace to replay; it reads the
// trace itself and runs ahead of the policies by at most the ring's size. When it fails, the next
// event the policies read reports its error; when the policies fail, the ring is aborted and the
// thread ends.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { workerScript } from '../formats/worker-job.js';
import type { Topology } from '../formats/trace/header.js';
import { BareFacts, MirroredBare } from './bare-facts.js';
import { factRing, FactReader } from './fact-ring.js';
import type { GuestQueue } from './guest-queue.js';
import type { ResolvedTopology } from './topology.js';

/** What bare hardware's thread is given at its start (workerData). */
export interface BareThreadData {
  readonly ring: SharedArrayBuffer;
  readonly port: MessagePort;
}

/** What it is told to replay (the first message on its port). */
export interface BareThreadSpec {
  readonly trace: string;
  readonly topology: ResolvedTopology;
}

/** With no word from bare hardware's thread for this long, it is taken for dead (a thread that fails says so). */
export const BARE_SILENCE_MS = 60_000;

export interface BareThread {
  readonly facts: BareFacts;
}

/** A bare hardware thread launched and not yet told what to replay. */
export class BareLaunch {
  private readonly ring: SharedArrayBuffer;
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private reader: FactReader | undefined = undefined;
  private stopped = false;

  constructor(ringWords?: number) {
    this.ring = factRing(ringWords);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: BareThreadData = { ring: this.ring, port: port2 };
    this.worker = new Worker(workerScript(import.meta.url, 'replay/bare-worker.js'), { workerData: data, transferList: [port2] });
    // Its failures come through the ring and the port, read synchronously; these events would
    // arrive only once this thread yields, after the policies have read the failure.
    this.worker.on('error', () => {});
    this.worker.unref();
  }

  /** Bare hardware on `trace`, mirrored for the guest queues `lanes` of this thread. */
  begin(trace: string, topology: ResolvedTopology, lanes: readonly { readonly q: GuestQueue; readonly topology: Topology }[]): BareThread {
    if (this.reader !== undefined || this.stopped) throw new Error('bare hardware thread: begun twice or after its end');
    const spec: BareThreadSpec = { trace, topology };
    this.port.postMessage(spec);
    let facts: BareFacts | undefined = undefined;
    this.reader = new FactReader(
      this.ring,
      (state) => facts!.ended(state),
      (waited) => waited >= BARE_SILENCE_MS,
    );
    facts = new BareFacts(
      this.reader,
      this.port,
      lanes.map((l) => new MirroredBare(l.topology, l.q)),
    );
    return { facts };
  }

  /** Ends the thread (after the replay, when it failed, or when it was not needed). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.reader?.abort();
    this.port.close();
    void this.worker.terminate();
  }
}
