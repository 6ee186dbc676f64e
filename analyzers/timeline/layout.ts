// One policy's work laid out on its modelled clock, from the host_ops result table. The replay
// engine runs each policy on a serial clock: every operation advances it by its modelled cost,
// and a completion point's latency is the clock at its completion minus the clock when its
// doorbell was taken (replay/replayer.ts, docs/results.md "Cost model"). host_ops holds that work per
// guest event, kind and physical IOMMU (costs rounded to 1/1000 µs, so nanoseconds are exact), so
// an event's work starts where the previous event's ended and its rows are laid end to end in a
// fixed order: the VMM's trap, command handling, page-table reads and page pins (shadow, pv-map)
// and ioctls, then per physical IOMMU the direct
// commands, host commands, the doorbell write, the ATS round trips and the sync. A row with a
// count above 1 stands for that many operations back to back (the table does not keep their
// interleaving). Times are integer nanoseconds.

import type { OpKind } from '../../replay/tables.js';

export interface HostOpRow {
  readonly seq: number;
  readonly kind: OpKind;
  readonly iommu: number;
  readonly count: number;
  readonly entries: number;
  readonly bytes: number;
  readonly costNs: number;
}

export interface Slice {
  readonly start: number;
  readonly dur: number;
  /** -1 for the VMM, else the physical IOMMU. */
  readonly iommu: number;
  /** The guest event this work belongs to. */
  readonly seq: number;
  /** undefined: the enclosing slice of a whole event (on the VMM track). */
  readonly row?: HostOpRow;
}

export interface PolicyLayout {
  /** Enclosing event slices and leaf work slices, in time order (an event's enclosing slice first). */
  readonly slices: readonly Slice[];
  /** Leaf slices only, in time order (they never overlap: the clock is serial). */
  readonly leaves: readonly Slice[];
  /** Guest events with work, sorted by seq, with their start and end. */
  readonly eventSeq: readonly number[];
  readonly eventStart: readonly number[];
  readonly eventEnd: readonly number[];
  /** The clock at the end. */
  readonly end: number;
  /** The physical IOMMUs that did work. */
  readonly iommus: readonly number[];
}

const VMM_KINDS: readonly OpKind[] = ['trap', 'vmm_cmd', 'pt_read', 'pin', 'ioctl'];
const HOST_ORDER: readonly OpKind[] = ['direct_cmd', 'host_cmd', 'host_doorbell', 'devtlb_inv', 'host_sync'];

/** Which track a row's slice goes on: the VMM's (-1) or its physical IOMMU's. */
export const trackOf = (r: HostOpRow): number => (VMM_KINDS.includes(r.kind) || r.iommu < 0 ? -1 : r.iommu);

function order(a: HostOpRow, b: HostOpRow): number {
  const ta = trackOf(a);
  const tb = trackOf(b);
  if (ta !== tb) return ta - tb; // the VMM (-1) first, then IOMMU 0, 1, ...
  const ka = ta < 0 ? VMM_KINDS.indexOf(a.kind) : HOST_ORDER.indexOf(a.kind);
  const kb = tb < 0 ? VMM_KINDS.indexOf(b.kind) : HOST_ORDER.indexOf(b.kind);
  return ka - kb;
}

/** Lays out one policy's rows (in table order: seq never decreases within a policy). */
export function layoutPolicy(rows: readonly HostOpRow[]): PolicyLayout {
  const sorted = [...rows].sort((a, b) => a.seq - b.seq); // stable: keeps the table order within an event
  const slices: Slice[] = [];
  const leaves: Slice[] = [];
  const eventSeq: number[] = [];
  const eventStart: number[] = [];
  const eventEnd: number[] = [];
  const iommus = new Set<number>();
  let clock = 0;
  for (let i = 0; i < sorted.length;) {
    const seq = sorted[i]!.seq;
    let j = i;
    while (j < sorted.length && sorted[j]!.seq === seq) j++;
    const event = sorted.slice(i, j).sort(order);
    const total = event.reduce((s, r) => s + r.costNs, 0);
    slices.push({ start: clock, dur: total, iommu: -1, seq });
    eventSeq.push(seq);
    eventStart.push(clock);
    for (const r of event) {
      const s: Slice = { start: clock, dur: r.costNs, iommu: trackOf(r), seq, row: r };
      if (s.iommu >= 0) iommus.add(s.iommu);
      slices.push(s);
      leaves.push(s);
      clock += r.costNs;
    }
    eventEnd.push(clock);
    i = j;
  }
  return { slices, leaves, eventSeq, eventStart, eventEnd, end: clock, iommus: [...iommus].sort((a, b) => a - b) };
}

/** First index in the sorted `xs` whose value is >= x. */
function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The policy's clock when it takes the guest event `seq` (the end of all earlier work). */
export function startOf(l: PolicyLayout, seq: number): number {
  const i = lowerBound(l.eventSeq, seq);
  return i < l.eventSeq.length ? l.eventStart[i]! : l.end;
}

/** The clock when the policy's work for `seq` ends (its start when it did none). */
export function endOf(l: PolicyLayout, seq: number): number {
  const i = lowerBound(l.eventSeq, seq);
  return i < l.eventSeq.length && l.eventSeq[i] === seq ? l.eventEnd[i]! : startOf(l, seq);
}

/**
 * The leaf slice running when the clock reads `t` (start < t <= end): the operation whose
 * completion completed a completion point at `t`. At a time with no work (t = 0, or only
 * zero-cost work before it), the nearest leaf at or after it, else before it. Zero-cost leaves
 * draw nothing, so they are never the answer.
 */
export function leafAt(l: PolicyLayout, t: number): Slice | undefined {
  const leaves = l.leaves;
  if (leaves.length === 0) return undefined;
  let lo = 0;
  let hi = leaves.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (leaves[mid]!.start < t) lo = mid + 1;
    else hi = mid;
  }
  // leaves[lo - 1] is the last leaf starting before t.
  for (let k = lo - 1; k >= 0; k--) {
    const s = leaves[k]!;
    if (s.start + s.dur >= t && s.dur > 0) return s;
    if (s.start + s.dur < t) break;
  }
  for (let k = lo; k < leaves.length; k++) if (leaves[k]!.dur > 0) return leaves[k];
  for (let k = Math.min(lo, leaves.length) - 1; k >= 0; k--) if (leaves[k]!.dur > 0) return leaves[k];
  return undefined;
}
