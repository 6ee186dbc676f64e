// A trace's guest queues as a replay sets them up: each its own ring (guest-queue.ts) over the
// devices behind it, and, where bare hardware runs in the same thread, its bare unit (bare.ts).
// Apart from the engine (replayer.ts) so that bare hardware's own thread (bare-run.ts) loads only
// what it runs: its start-up is time the policy runs wait for their first facts.

import type { Topology } from '../formats/trace/header.js';
import type { OpenTrace } from '../formats/trace/io.js';
import { queueDevices, queueHeaders, queueTopology } from '../formats/trace/queues.js';
import { BareHardware } from './bare.js';
import { GuestQueue } from './guest-queue.js';
import type { ReplayKit } from './host.js';
import type { QueueLane } from './queue-run.js';
import type { ResolvedTopology } from './topology.js';

/** A guest queue with bare hardware on it in this thread. */
export type BareQueueLane = QueueLane & { readonly ref: BareHardware };

/** The guest queues of a trace: each its own ring over the devices behind it. */
export function guestQueues(trace: OpenTrace, topology: ResolvedTopology): { q: GuestQueue; topology: Topology }[] {
  const devices = queueDevices(trace.header, topology.topology, { file: trace.path, source: topology.source });
  return queueHeaders(trace.header).map((h, k) => ({
    q: new GuestQueue(h),
    topology:
      trace.header.queues === undefined
        ? topology.topology
        : queueTopology(topology.topology, { ...trace.header.queues[k]!, devices: devices[k]! }),
  }));
}

/** The guest queues of a trace: each its own ring and bare unit over the devices behind it. */
export function guestLanes(trace: OpenTrace, kit: ReplayKit, topology: ResolvedTopology): BareQueueLane[] {
  return guestQueues(trace, topology).map(({ q, topology: t }) => ({ q, ref: new BareHardware(kit, t, q), topology: t }));
}
