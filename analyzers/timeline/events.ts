// A replay as Trace Event Format events (the JSON that ui.perfetto.dev, chrome://tracing and
// Perfetto's trace processor open; spec: "Trace Event Format", Google, the JSON Object Format):
//   - process "guest", thread "queue": one slice per doorbell (CMDQ_PROD / IQT write) or error
//     acknowledgement, with a child slice per completion point it published;
//   - one process per policy: thread "guest events" (a slice per guest event the policy handled,
//     over all its work), thread "VMM" (the trap, the command handling, the IOMMU_HWPT_INVALIDATE
//     ioctls with their entries), one thread per physical IOMMU (direct commands, host commands,
//     the doorbell write, ATS round trips, syncs) and thread "violations" (an instant event per
//     oracle finding with its explanation);
//   - a flow (ph s -> f) from each completion point to the operation during which each policy
//     completed it.
// Policy threads run on that policy's modelled clock (layout.ts). The guest track cannot sit on
// all of them at once: a guest event is drawn when the first policy takes it (the smallest of the
// policies' clocks), at least a few nanoseconds after the previous one so its slices keep their
// size. Timestamps are microseconds with nanosecond decimals; events come in time order per thread,
// metadata first. Slices of one thread never overlap except a guest doorbell and its completion
// points (nested); work of zero modelled cost draws nothing. A flow starts 1 ns into its completion
// point's slice and ends in the middle of the operation it binds to (ph f with bp e: the enclosing
// slice), where no other slice of that thread is.

import type { GuestTimeline } from './guest.js';
import { eventAtOrAfter } from './guest.js';
import { endOf, layoutPolicy, leafAt, startOf, type HostOpRow, type PolicyLayout, type Slice } from './layout.js';

export interface CompletionRow {
  readonly policy: string;
  readonly seq: number;
  readonly doorbell_seq: number;
  readonly completed: boolean;
  readonly latency_us: number | null;
}

export interface ViolationRow {
  readonly policy: string;
  readonly seq: number;
  readonly kind: string;
  readonly scope: string;
  readonly explanation: string;
}

export interface TimelineInput {
  readonly guest: GuestTimeline;
  /** Policies in the replay's order, with their verdict. */
  readonly policies: readonly { readonly policy: string; readonly correct: boolean; readonly violations: number }[];
  readonly hostOps: ReadonlyMap<string, readonly HostOpRow[]>;
  readonly completions: readonly CompletionRow[];
  readonly violations: readonly ViolationRow[];
}

/** One Trace Event Format event. */
export interface TraceEvent {
  readonly name: string;
  readonly ph: 'X' | 'i' | 's' | 'f' | 'M';
  readonly pid: number;
  readonly tid: number;
  readonly ts: number;
  readonly cat?: string;
  readonly dur?: number;
  readonly s?: 'g' | 'p' | 't';
  readonly id?: number;
  readonly bp?: 'e';
  readonly args?: Readonly<Record<string, unknown>>;
}

export const GUEST_PID = 1;
export const GUEST_TID = 1;
export const VMM_TID = 1;
export const VIOLATIONS_TID = 2;
export const EVENTS_TID = 3;
export const iommuTid = (iommu: number) => 10 + iommu;
export const policyPid = (index: number) => index + 2;

/** ns -> µs with nanosecond decimals, exact in JSON. */
const us = (ns: number) => Math.round(ns) / 1000;

interface Names {
  readonly doorbell: string;
  readonly write: string;
  readonly sync: string;
}

function namesOf(arch: string): Names {
  // an Arch; any other name reads as VT-d
  return arch === 'smmuv3'
    ? { doorbell: 'CMDQ_PROD', write: 'CMDQ_PROD write', sync: 'CMD_SYNC' }
    : { doorbell: 'IQT', write: 'IQT write', sync: 'wait' };
}

const times = (n: number) => (n > 1 ? ` ×${n}` : '');

function leafName(r: HostOpRow, names: Names): string {
  switch (r.kind) {
    case 'trap':
      return `trap${times(r.count)}`;
    case 'vmm_cmd':
      return `VMM handles ${r.count} command${r.count === 1 ? '' : 's'}`;
    case 'pt_read':
      return `VMM reads ${r.count} guest page-table entr${r.count === 1 ? 'y' : 'ies'}`;
    case 'pin':
      return `${r.count} page${r.count === 1 ? '' : 's'} pinned or unpinned`;
    case 'ioctl':
      // VFIO / IOAS map and unmap ioctls (shadow, pv-map) carry no invalidation entries and run in the VMM's name.
      return r.entries === 0 && r.iommu < 0
        ? `map/unmap ioctl${times(r.count)}`
        : `IOMMU_HWPT_INVALIDATE${times(r.count)} (${r.entries} entr${r.entries === 1 ? 'y' : 'ies'})`;
    case 'direct_cmd':
      return `direct commands${times(r.count)}`;
    case 'host_cmd':
      return `host commands${times(r.count)}`;
    case 'host_doorbell':
      return `${names.write}${times(r.count)}`;
    case 'devtlb_inv':
      return `ATS invalidation round trip${times(r.count)}`;
    case 'host_sync':
      return `${names.sync}${times(r.count)}`;
    case 'lock_wait':
      return `waits for the host queue lock (other VMs)${times(r.count)}`;
    case 'queue_wait':
      return `waits for the shared host queue (other VMs)${times(r.count)}`;
  }
}

interface Flow {
  readonly id: number;
  readonly policy: number;
  readonly leaf: Slice;
}

/** The events of a timeline, in the order they are written. */
export function* timelineEvents(input: TimelineInput): Generator<TraceEvent> {
  const { guest } = input;
  const names = namesOf(guest.arch);
  const layouts: PolicyLayout[] = input.policies.map((p) => layoutPolicy(input.hostOps.get(p.policy) ?? []));
  const policyIndex = new Map(input.policies.map((p, i) => [p.policy, i]));

  // Flows: each completed completion point to the leaf running when each policy completed it.
  const flowsByPoint = new Map<number, Flow[]>();
  const flowsByLeaf = input.policies.map(() => new Map<Slice, number[]>());
  let nextId = 1;
  for (const c of input.completions) {
    const pi = policyIndex.get(c.policy);
    if (pi === undefined || !c.completed || c.latency_us === null) continue;
    const l = layouts[pi]!;
    const leaf = leafAt(l, startOf(l, c.doorbell_seq) + Math.round(c.latency_us * 1000));
    if (leaf === undefined) continue;
    const f: Flow = { id: nextId++, policy: pi, leaf };
    flowsByPoint.set(c.seq, [...(flowsByPoint.get(c.seq) ?? []), f]);
    const m = flowsByLeaf[pi]!;
    m.set(leaf, [...(m.get(leaf) ?? []), f.id]);
  }

  // Metadata: names and order of every process and thread.
  const meta = (name: string, pid: number, tid: number, args: Record<string, unknown>): TraceEvent => ({
    name,
    ph: 'M',
    pid,
    tid,
    ts: 0,
    args,
  });
  yield meta('process_name', GUEST_PID, 0, { name: `guest (${guest.arch} ${names.doorbell} doorbells and completion points)` });
  yield meta('process_sort_index', GUEST_PID, 0, { sort_index: 0 });
  yield meta('thread_name', GUEST_PID, GUEST_TID, { name: 'queue' });
  for (const [i, p] of input.policies.entries()) {
    const pid = policyPid(i);
    yield meta('process_name', pid, 0, {
      name: `${p.policy} (${p.correct ? 'correct' : `${p.violations} violation${p.violations === 1 ? '' : 's'}`})`,
    });
    yield meta('process_sort_index', pid, 0, { sort_index: i + 1 });
    yield meta('thread_name', pid, EVENTS_TID, { name: 'guest events' });
    yield meta('thread_sort_index', pid, EVENTS_TID, { sort_index: 0 });
    yield meta('thread_name', pid, VMM_TID, { name: 'VMM' });
    yield meta('thread_sort_index', pid, VMM_TID, { sort_index: 1 });
    yield meta('thread_name', pid, VIOLATIONS_TID, { name: 'violations' });
    yield meta('thread_sort_index', pid, VIOLATIONS_TID, { sort_index: 1000 });
    for (const n of layouts[i]!.iommus) {
      yield meta('thread_name', pid, iommuTid(n), { name: `physical IOMMU ${n}` });
      yield meta('thread_sort_index', pid, iommuTid(n), { sort_index: 10 + n });
    }
  }

  yield* guestTrack(input, layouts, flowsByPoint, names);

  const kindOf = new Map(guest.events.map((e) => [e.seq, e.kind]));
  for (const [i, p] of input.policies.entries()) {
    const l = layouts[i]!;
    const pid = policyPid(i);
    const flows = flowsByLeaf[i]!;
    for (const s of l.slices) {
      if (s.dur === 0) continue;
      if (s.row === undefined) {
        const kind = kindOf.get(s.seq) ?? 'event';
        yield {
          name: `${kind} seq ${s.seq}`,
          cat: 'event',
          ph: 'X',
          pid,
          tid: EVENTS_TID,
          ts: us(s.start),
          dur: us(s.dur),
          args: { seq: s.seq },
        };
        continue;
      }
      const r = s.row;
      const tid = s.iommu < 0 ? VMM_TID : iommuTid(s.iommu);
      const args: Record<string, unknown> = { seq: r.seq, count: r.count, cost_us: us(r.costNs) };
      if (r.kind === 'ioctl') Object.assign(args, { entries: r.entries, bytes: r.bytes });
      if (r.iommu >= 0) args.iommu = r.iommu;
      yield { name: leafName(r, names), cat: r.kind, ph: 'X', pid, tid, ts: us(s.start), dur: us(s.dur), args };
      for (const id of flows.get(s) ?? []) {
        yield { name: 'completion', cat: 'completion', ph: 'f', bp: 'e', id, pid, tid, ts: us(s.start + Math.floor(s.dur / 2)) };
      }
    }
    // Findings: when the policy finished the guest event that published the command concerned.
    const found = input.violations
      .filter((v) => v.policy === p.policy)
      .map((v) => {
        const e = eventAtOrAfter(guest.events, v.seq);
        return { v, t: e === undefined ? l.end : endOf(l, e.seq) };
      })
      .sort((a, b) => a.t - b.t);
    for (const { v, t } of found) {
      yield {
        name: `violation: ${v.kind}`,
        cat: 'violation',
        ph: 'i',
        s: 't',
        pid,
        tid: VIOLATIONS_TID,
        ts: us(t),
        args: { seq: v.seq, kind: v.kind, scope: v.scope, explanation: v.explanation },
      };
    }
  }
}

function* guestTrack(
  input: TimelineInput,
  layouts: readonly PolicyLayout[],
  flowsByPoint: ReadonlyMap<number, readonly Flow[]>,
  names: Names,
): Generator<TraceEvent> {
  const events = input.guest.events;
  const points = new Map<number, (typeof input.guest.completions)[number][]>();
  for (const c of input.guest.completions) if (c.doorbell !== undefined) points.set(c.doorbell, [...(points.get(c.doorbell) ?? []), c]);
  // Guest clock: the first policy to take each event, kept strictly increasing so that each
  // completion point gets a child slice of at least 2 ns (its flow starts inside it).
  const minDur = (seq: number) => 2 * (points.get(seq)?.length ?? 0) + 3;
  const starts: number[] = [];
  let prev = -Infinity;
  let prevMin = 0;
  for (const e of events) {
    const first = layouts.length ? Math.min(...layouts.map((l) => startOf(l, e.seq))) : 0;
    const t = Math.max(first, prev + prevMin);
    starts.push(t);
    prev = t;
    prevMin = minDur(e.seq);
  }
  for (const [k, e] of events.entries()) {
    const start = starts[k]!;
    const lastEnd = layouts.length ? Math.min(...layouts.map((l) => endOf(l, e.seq))) : start;
    const dur = k + 1 < events.length ? starts[k + 1]! - start : Math.max(minDur(e.seq), lastEnd - start);
    const pts = points.get(e.seq) ?? [];
    const name =
      e.kind === 'doorbell'
        ? `${names.doorbell} ${e.slot ?? '?'}${e.wrap ? ' (wrap 1)' : ''}: ${e.entries} entr${e.entries === 1 ? 'y' : 'ies'}`
        : 'error acknowledged';
    yield {
      name,
      cat: e.kind,
      ph: 'X',
      pid: GUEST_PID,
      tid: GUEST_TID,
      ts: us(start),
      dur: us(dur),
      args:
        e.kind === 'doorbell'
          ? { seq: e.seq, prod: e.slot, wrap: e.wrap, entries: e.entries, completion_points: pts.length }
          : { seq: e.seq },
    };
    for (const [j, c] of pts.entries()) {
      // Children start 1 ns into their doorbell, so no two slices of the track begin together.
      const a = start + 1 + Math.floor(((dur - 1) * j) / pts.length);
      const b = start + 1 + Math.floor(((dur - 1) * (j + 1)) / pts.length);
      yield {
        name: `${c.op} seq ${c.seq}`,
        cat: 'completion_point',
        ph: 'X',
        pid: GUEST_PID,
        tid: GUEST_TID,
        ts: us(a),
        dur: us(b - a),
        args: { seq: c.seq, slot: c.slot, doorbell_seq: e.seq },
      };
      for (const f of flowsByPoint.get(c.seq) ?? []) {
        // 1 ns into its completion point: the innermost slice there, and no later than the work that completes it.
        yield { name: 'completion', cat: 'completion', ph: 's', id: f.id, pid: GUEST_PID, tid: GUEST_TID, ts: us(a + 1) };
      }
    }
  }
}
