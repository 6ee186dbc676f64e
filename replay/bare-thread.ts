// Bare hardware on a thread of its own (bare-worker.ts, launched by bare-launch.ts) for the policy
// runs of this thread or of several (parallel.ts shares): the mirrors the policy runs read instead
// of a bare unit of their own (bare-facts.ts), fed by the thread's ring and port. The thread is
// launched first (it loads its modules while this thread loads its own, opens the trace and
// resolves the policies), then told which trace to replay; it reads the trace itself and runs ahead of the slowest reader by at
// most the ring's size. When it fails, the next event each reader reads reports its error; when a
// reader fails it aborts the ring, and the thread and the other readers stop.

import type { Topology } from '../formats/trace/header.js';
import { BareFacts, MirroredBare } from './bare-facts.js';
import type { BareFeed } from './bare-launch.js';
import { FactReader } from './fact-ring.js';
import type { GuestQueue } from './guest-queue.js';

/** With no word from bare hardware's thread for this long, it is taken for dead (a thread that fails says so). */
export const BARE_SILENCE_MS = 60_000;

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
