// `invtrace info`: what a trace holds, in one streaming pass: counts per op and role, doorbells and
// how many entries each published, ring wraps, validation errors, time span, provenance. A trace
// with several guest queues is walked ring by ring (each its own producer and size), with its
// counts per queue.

import { unreachable } from '../result.js';
import { period, published, wrapped, wrapValue } from '../ring.js';
import type { OpenTrace } from './io.js';
import { queueHeaders } from './queues.js';
import { viewBatch } from './view.js';

export interface TraceInfo {
  readonly file: string;
  readonly arch: string;
  readonly queue_entries: number;
  readonly desc_bytes: number;
  readonly queue_base: string | null;
  readonly events: number;
  readonly commands: number;
  readonly doorbells: number;
  readonly acks: number;
  readonly faults: number;
  /** Commands per op name, most frequent first. */
  readonly by_op: Readonly<Record<string, number>>;
  readonly by_role: Readonly<Record<string, number>>;
  /** Commands the hardware would refuse, by error (CERROR_ILL, IQE:3, IQE:4). */
  readonly errors: Readonly<Record<string, number>>;
  readonly inferred: number;
  readonly by_origin: Readonly<Record<string, number>>;
  /** Times the producer index passed the end of the ring. */
  readonly wraps: number;
  /** Entries each doorbell published (ring distance from the previous producer value). */
  readonly entries_per_doorbell: { readonly min: number; readonly mean: number; readonly max: number } | null;
  readonly span: { readonly first_ts_ns: string; readonly last_ts_ns: string; readonly seconds: number } | null;
  readonly devices: number | null;
  readonly sources: readonly string[];
  /** A trace with several guest queues (header `queues`): each queue's counts. */
  readonly queues?: readonly QueueInfo[];
}

export interface QueueInfo {
  readonly queue: number;
  readonly queue_entries: number;
  readonly commands: number;
  readonly doorbells: number;
  readonly wraps: number;
  readonly devices: number;
}

/** One guest queue's producer as the doorbells move it (on the ring of 2E: index, wrap bit above it), and its counts. */
interface Ring {
  readonly entries: number;
  prod: number;
  commands: number;
  doorbells: number;
  wraps: number;
}

const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));

export async function traceInfo(t: OpenTrace): Promise<TraceInfo> {
  const h = t.header;
  const rings: Ring[] = queueHeaders(h).map((q) => ({ entries: q.queue_entries, prod: q.start ?? 0, commands: 0, doorbells: 0, wraps: 0 }));
  const byOp = new Map<string, number>();
  const byRole = new Map<string, number>();
  const errors = new Map<string, number>();
  const origins = new Map<string, number>();
  let events = 0,
    commands = 0,
    doorbells = 0,
    acks = 0,
    faults = 0,
    inferred = 0,
    wraps = 0;
  let minPub = Infinity,
    maxPub = 0,
    sumPub = 0;
  let first: bigint | undefined, last: bigint | undefined;
  for await (const batch of t.batches()) {
    const v = viewBatch(batch);
    for (let i = 0; i < v.length; i++) {
      events++;
      bump(origins, v.origin.names[v.origin.codes[i]!]!);
      if (v.inferred[i]) inferred++;
      if (v.ts.valid(i)) {
        const ts = v.ts.values[i]!;
        if (first === undefined || ts < first) first = ts;
        if (last === undefined || ts > last) last = ts;
      }
      const kind = v.kindOf(i);
      switch (kind) {
        case 'cmd':
          commands++;
          rings[v.queueOf(i)]!.commands++;
          // A command whose type the source could not see has a null op (e.g. QEMU 7.2 consumes
          // PASID descriptors without a trace line).
          bump(byOp, v.op.valid(i) ? v.op.names[v.op.codes[i]!]! : '(unknown)');
          bump(byRole, v.role.valid(i) ? v.role.names[v.role.codes[i]!]! : '(unknown)');
          if (v.error.valid(i)) bump(errors, v.error.names[v.error.codes[i]!]!);
          break;
        case 'doorbell': {
          doorbells++;
          const ring = rings[v.queueOf(i)]!;
          const { entries, prod } = ring;
          // Trace positions carry a wrap bit (formats/ring.ts): the distance is what was published.
          const next = wrapValue(v.slot.values[i]!, v.wrap.values[i]!, entries);
          const n = published(prod, next, period(entries, true));
          if (wrapped(prod, n, entries)) {
            wraps++;
            ring.wraps++;
          }
          ring.doorbells++;
          minPub = Math.min(minPub, n);
          maxPub = Math.max(maxPub, n);
          sumPub += n;
          ring.prod = next;
          break;
        }
        case 'ack':
          acks++;
          break;
        case 'atc_timeout':
        case 'atc_recover':
          faults++;
          break;
        default:
          unreachable(kind);
      }
    }
  }
  return {
    file: t.path,
    arch: h.arch,
    queue_entries: h.queue_entries,
    desc_bytes: h.desc_bytes,
    queue_base: h.queue_base ?? null,
    events,
    commands,
    doorbells,
    acks,
    faults,
    by_op: sorted(byOp),
    by_role: sorted(byRole),
    errors: sorted(errors),
    inferred,
    by_origin: sorted(origins),
    wraps,
    entries_per_doorbell: doorbells > 0 ? { min: minPub, mean: Math.round((sumPub / doorbells) * 100) / 100, max: maxPub } : null,
    span:
      first !== undefined && last !== undefined
        ? { first_ts_ns: first.toString(), last_ts_ns: last.toString(), seconds: Number(last - first) / 1e9 }
        : null,
    devices: h.topology ? h.topology.devices.length : null,
    sources: (h.sources ?? []).map((s) => s.file),
    ...(h.queues !== undefined
      ? {
          queues: rings.map((r, queue) => ({
            queue,
            queue_entries: r.entries,
            commands: r.commands,
            doorbells: r.doorbells,
            wraps: r.wraps,
            devices: h.queues![queue]!.devices.length,
          })),
        }
      : {}),
  };
}
