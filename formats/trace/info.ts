// `invtrace info`: what a trace holds, in one streaming pass: counts per op and role, doorbells and
// how many entries each published, ring wraps, validation errors, time span, provenance.

import { period, published, wrapped, wrapValue } from '../ring.js';
import type { OpenTrace } from './io.js';
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
}

const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));

export async function traceInfo(t: OpenTrace): Promise<TraceInfo> {
  const h = t.header;
  const entries = h.queue_entries;
  const byOp = new Map<string, number>();
  const byRole = new Map<string, number>();
  const errors = new Map<string, number>();
  const origins = new Map<string, number>();
  let events = 0, commands = 0, doorbells = 0, acks = 0, faults = 0, inferred = 0, wraps = 0;
  let prod = h.start ?? 0; // the producer on the ring of 2E: index, wrap bit above it
  let minPub = Infinity, maxPub = 0, sumPub = 0;
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
      switch (v.kindOf(i)) {
        case 'cmd':
          commands++;
          // A command whose type the source could not see has a null op (e.g. QEMU 7.2 consumes
          // PASID descriptors without a trace line).
          bump(byOp, v.op.valid(i) ? v.op.names[v.op.codes[i]!]! : '(unknown)');
          bump(byRole, v.role.valid(i) ? v.role.names[v.role.codes[i]!]! : '(unknown)');
          if (v.error.valid(i)) bump(errors, v.error.names[v.error.codes[i]!]!);
          break;
        case 'doorbell': {
          doorbells++;
          // Trace positions carry a wrap bit (formats/ring.ts): the distance is what was published.
          const next = wrapValue(v.slot.values[i]!, v.wrap.values[i]!, entries);
          const n = published(prod, next, period(entries, true));
          if (wrapped(prod, n, entries)) wraps++;
          minPub = Math.min(minPub, n);
          maxPub = Math.max(maxPub, n);
          sumPub += n;
          prod = next;
          break;
        }
        case 'ack':
          acks++;
          break;
        default:
          faults++;
      }
    }
  }
  return {
    file: t.path,
    arch: h.arch,
    queue_entries: entries,
    desc_bytes: h.desc_bytes,
    queue_base: h.queue_base ?? null,
    events, commands, doorbells, acks, faults,
    by_op: sorted(byOp),
    by_role: sorted(byRole),
    errors: sorted(errors),
    inferred,
    by_origin: sorted(origins),
    wraps,
    entries_per_doorbell: doorbells > 0 ? { min: minPub, mean: Math.round((sumPub / doorbells) * 100) / 100, max: maxPub } : null,
    span: first !== undefined && last !== undefined
      ? { first_ts_ns: first.toString(), last_ts_ns: last.toString(), seconds: Number(last - first) / 1e9 }
      : null,
    devices: h.topology ? h.topology.devices.length : null,
    sources: (h.sources ?? []).map((s) => s.file),
  };
}
