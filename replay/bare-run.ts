// What bare hardware's thread runs (bare-worker.ts): the trace opened again in that thread, its
// guest queues each with a bare unit (lanes.ts guestLanes), every event to them, and their facts
// to the ring (bare-facts.ts BarePublisher).

import { openTrace } from '../formats/trace/io.js';
import { BarePublisher, type FactMessage } from './bare-facts.js';
import type { BareThreadSpec } from './bare-launch.js';
import type { FactWriter } from './fact-ring.js';
import { dispatchTrace } from './feed.js';
import { kitFor } from './kits.js';
import { guestLanes } from './lanes.js';

export async function replayBare(spec: BareThreadSpec, out: FactWriter, post: (m: FactMessage) => void): Promise<void> {
  const trace = await openTrace(spec.trace);
  const lanes = guestLanes(trace, kitFor(trace.header.arch), spec.topology);
  // A device fault reaches the bare unit of the queue the device sits behind (as in traceHandlers).
  const laneOfSid = new Map<number, number>();
  lanes.forEach((l, k) => {
    for (const d of l.topology.devices) laneOfSid.set(d.sid, k);
  });
  const pub = new BarePublisher(lanes, laneOfSid, out, post);
  // After each batch its count, published at once: the next batch's read may take a while.
  await dispatchTrace(trace, pub.handlers, (events) => pub.batch(events));
  pub.finish();
}
