// The guest queues of a trace: one (the header's own geometry, every device behind it) or several
// (`queues` in the header, one vIOMMU instance each: one vSMMU per pSMMU, guest visible). What
// every consumer of a trace needs to treat each queue on its own: its single-queue header (the
// geometry GuestQueue, the JSONL cursor and the ring checks read) and the devices behind it.
// docs/trace-format.md "Several guest queues".

import { InputFault } from '../result.js';
import { queuesFitTopology, type QueueSpec, type Topology, type TraceHeader } from './header.js';

/** Number of guest queues in the trace. */
export const queueCount = (h: Pick<TraceHeader, 'queues'>): number => h.queues?.length ?? 1;

/** Whether rows carry a `queue` column (the header lists its queues). */
export const hasQueueColumn = (h: Pick<TraceHeader, 'queues'>): boolean => h.queues !== undefined;

/**
 * The header of queue `id` seen on its own: that queue's size, start and base in the top-level
 * fields, no `queues`. Queue 0 of a one-queue trace is the header itself.
 */
export function queueHeader(h: TraceHeader, id: number): TraceHeader {
  const q = h.queues?.[id];
  if (q === undefined) {
    if (id === 0 && h.queues === undefined) return h;
    throw new Error(`trace has no queue ${id}`);
  }
  const { queues: _all, start: _s, queue_base: _b, ...rest } = h;
  return {
    ...rest,
    queue_entries: q.queue_entries,
    ...(q.start !== undefined ? { start: q.start } : {}),
    ...(q.queue_base !== undefined ? { queue_base: q.queue_base } : {}),
  };
}

/** Every queue's own header, in id order. */
export function queueHeaders(h: TraceHeader): TraceHeader[] {
  return Array.from({ length: queueCount(h) }, (_, i) => queueHeader(h, i));
}

/** The topology a queue's vIOMMU sees: the devices behind it (one queue: all of them). */
export function queueTopology(t: Topology, q: QueueSpec | undefined): Topology {
  if (q === undefined) return t;
  const mine = new Set(q.devices);
  return { ...t, devices: t.devices.filter((d) => mine.has(d.sid)) };
}

/**
 * Guest SIDs behind each queue, in id order, checked against `topology` (which may come from a
 * --topology file rather than the header: `at` names the trace and where the topology came from).
 * Throws a one-line InputFault (exit 2) when they disagree.
 */
export function queueDevices(
  h: TraceHeader,
  topology: Topology,
  at: { readonly file: string; readonly source: string },
): (readonly number[])[] {
  if (h.queues === undefined) return [topology.devices.map((d) => d.sid)];
  const bad = queuesFitTopology(h.queues, topology);
  if (bad !== undefined) throw new InputFault({ file: at.file, message: `${bad.field}: ${bad.message} (${at.source} topology)` });
  return h.queues.map((q) => q.devices);
}

export type { QueueSpec };
