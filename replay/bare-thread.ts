// Starting bare hardware on a thread of its own (bare-worker.ts) for the policy runs of this thread
// or of several (parallel.ts shares): the ring and ports it publishes through, and the mirrors the
// policy runs read instead of a bare unit of their own (bare-facts.ts). The thread is launched
// first (it loads its modules while this thread opens the trace and resolves the policies), then
// told which trace to replay; it reads the trace itself and runs ahead of the slowest reader by at
// most the ring's size. When it fails, the next event each reader reads reports its error; when a
// reader fails it aborts the ring, and the thread and the other readers stop.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { workerScript } from '../formats/worker-job.js';
import type { Topology } from '../formats/trace/header.js';
import { BareFacts, MirroredBare } from './bare-facts.js';
import { factRing, FactReader } from './fact-ring.js';
import type { GuestQueue } from './guest-queue.js';
import type { ResolvedTopology } from './topology.js';

/** What bare hardware's thread is given at its start (workerData): one port per reader. */
export interface BareThreadData {
  readonly ring: SharedArrayBuffer;
  readonly ports: readonly MessagePort[];
}

/** What it is told to replay (the first message on its first port). */
export interface BareThreadSpec {
  readonly trace: string;
  readonly topology: ResolvedTopology;
}

/** One reader's end of bare hardware's thread: can be sent to another thread (its port transferred). */
export interface BareFeed {
  readonly ring: SharedArrayBuffer;
  readonly port: MessagePort;
  readonly reader: number;
}

/** With no word from bare hardware's thread for this long, it is taken for dead (a thread that fails says so). */
export const BARE_SILENCE_MS = 60_000;

/** A bare hardware thread launched and not yet told what to replay. */
export class BareLaunch {
  private readonly ring: SharedArrayBuffer;
  private readonly ports: MessagePort[];
  private readonly worker: Worker;
  private begun = false;
  private stopped = false;

  constructor(readers = 1, ringWords?: number) {
    this.ring = factRing(ringWords, readers);
    const channels = Array.from({ length: readers }, () => new MessageChannel());
    this.ports = channels.map((c) => c.port1);
    const theirs = channels.map((c) => c.port2);
    const data: BareThreadData = { ring: this.ring, ports: theirs };
    this.worker = new Worker(workerScript(import.meta.url, 'replay/bare-worker.js'), { workerData: data, transferList: theirs });
    // Its failures come through the ring and the ports, read synchronously; these events would
    // arrive only once this thread yields, after the readers have read the failure.
    this.worker.on('error', () => {});
    this.worker.unref();
  }

  /** Bare hardware on `trace`: one feed per reader. */
  begin(trace: string, topology: ResolvedTopology): BareFeed[] {
    if (this.begun || this.stopped) throw new Error('bare hardware thread: begun twice or after its end');
    this.begun = true;
    const spec: BareThreadSpec = { trace, topology };
    this.ports[0]!.postMessage(spec);
    return this.ports.map((port, reader) => ({ ring: this.ring, port, reader }));
  }

  /** Ends the thread (after the replay, when it failed, or when it was not needed). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of this.ports) p.close();
    void this.worker.terminate();
  }
}

/** A reader's facts, mirrored for the guest queues `lanes` of this thread. */
export interface BareReader {
  readonly facts: BareFacts;
  /** Stops reading after a failure here: bare hardware's thread and the other readers stop too. */
  abort(): void;
}

export function attachBare(feed: BareFeed, lanes: readonly { readonly q: GuestQueue; readonly topology: Topology }[]): BareReader {
  let facts: BareFacts | undefined = undefined;
  const reader = new FactReader(
    feed.ring,
    (state) => facts!.ended(state),
    (waited) => waited >= BARE_SILENCE_MS,
    feed.reader,
  );
  facts = new BareFacts(
    reader,
    feed.port,
    lanes.map((l) => new MirroredBare(l.topology, l.q)),
  );
  return { facts, abort: () => reader.abort() };
}
