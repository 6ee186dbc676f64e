// What a shared-host replay returns and prints: `compare --shared-host --json` is
// {"traces": [{"trace", "vm", "policies": [...]}, ...], "host": {...}}. Each trace's policies are
// the usual per-policy summaries (verdict by that VM's own oracle, counts, latency), with what the
// VM waited for on the shared host. `host` holds, per policy, the host-wide totals and each VM's
// completion latency alone (the same host model with the VM by itself) versus shared.
// `sharedHostText` is the compact text form.

import type { Costs } from '../cost/params.js';
import type { LeftOut, PolicySummary } from '../summary.js';
import { roundUs } from '../summary.js';
import type { WaitTotals } from './gate.js';
import type { HostRun, UnitTotals, VmRun } from './host-replay.js';
import type { Interleave } from './interleave.js';
import type { PlacedVm } from './placement.js';
import { sharedUnits } from './placement.js';

/** A VM's summary under one policy, with what it waited for and how often it cut in between another VM's batches. */
export type SharedPolicySummary = PolicySummary & WaitTotals & { readonly cut_ins: number };

export interface SharedTrace {
  readonly trace: string;
  readonly vm: number;
  readonly arch: string;
  readonly events: number;
  readonly doorbells: number;
  /** What placing the VM on the host changed (VMIDs, DIDs, physical SIDs). */
  readonly placement: readonly string[];
  readonly policies: readonly SharedPolicySummary[];
}

export interface VmLatency {
  readonly trace: string;
  readonly vm: number;
  readonly p50_us_alone: number;
  readonly p50_us_shared: number;
  readonly p99_us_alone: number;
  readonly p99_us_shared: number;
  readonly max_us_alone: number;
  readonly max_us_shared: number;
  readonly modeled_us_alone: number;
  readonly modeled_us_shared: number;
}

export interface HostPolicyTotals {
  readonly policy: string;
  /** Every VM correct under this policy. */
  readonly correct: boolean;
  readonly violations: number;
  readonly ioctls: number;
  readonly host_commands: number;
  readonly host_syncs: number;
  readonly lock_wait_us: number;
  readonly queue_full_wait_us: number;
  readonly queue_busy_wait_us: number;
  /** The VMs' modelled time added up (work and waits). */
  readonly modeled_us: number;
  /** When the last VM's last work ends on the host timeline. */
  readonly makespan_us: number;
  readonly units: readonly UnitTotals[];
  readonly vms: readonly VmLatency[];
}

/** The host totals' numeric columns, as both renderings print them (this text and the report's table). */
export const HOST_TOTAL_COLUMNS: readonly (readonly [head: string, value: (p: HostPolicyTotals) => number])[] = [
  ['ioctls', (p) => p.ioctls],
  ['host cmds', (p) => p.host_commands],
  ['host syncs', (p) => p.host_syncs],
  ['lock wait µs', (p) => p.lock_wait_us],
  ['queue-full µs', (p) => p.queue_full_wait_us],
  ['queue-busy µs', (p) => p.queue_busy_wait_us],
  ['modelled µs', (p) => p.modeled_us],
  ['makespan µs', (p) => p.makespan_us],
];

export interface SharedHostOutput {
  readonly shared_host: {
    readonly vms: number;
    readonly arch: string;
    readonly iommus: readonly number[];
    readonly queue_entries: number;
    readonly interleave: Interleave;
  };
  readonly traces: readonly SharedTrace[];
  readonly host: { readonly policies: readonly HostPolicyTotals[] };
  readonly left_out: readonly LeftOut[];
  readonly costs: Costs;
}

const sum = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0);

/** `shared[i]`: the pass of policy i with every VM; `alone[i][k]`: VM k by itself under policy i. */
export function sharedHostOutput(
  vms: readonly PlacedVm[],
  shared: readonly HostRun[],
  alone: readonly (readonly VmRun[])[],
  o: { queueEntries: number; interleave: Interleave; leftOut: readonly LeftOut[]; costs: Costs; names?: readonly string[] },
): SharedHostOutput {
  const name = (k: number) => o.names?.[k] ?? vms[k]!.path;
  const traces = vms.map((v, k): SharedTrace => ({
    trace: name(k),
    vm: v.vm,
    arch: v.trace.header.arch,
    events: shared[0]?.vms[k]!.events ?? 0,
    doorbells: shared[0]?.vms[k]!.doorbells ?? 0,
    placement: v.notes,
    policies: shared.map((h) => ({ ...h.vms[k]!.summary, ...roundWaits(h.vms[k]!.waits), cut_ins: h.vms[k]!.cutIns })),
  }));
  const host = shared.map((h, i): HostPolicyTotals => {
    const per = h.vms.map((r) => r.summary);
    const waits = h.vms.map((r) => r.waits);
    return {
      policy: per[0]!.policy,
      correct: per.every((s) => s.correct),
      violations: sum(per.map((s) => s.violations)),
      ioctls: sum(per.map((s) => s.ioctls)),
      host_commands: sum(per.map((s) => s.host_commands)),
      host_syncs: sum(per.map((s) => s.host_syncs)),
      lock_wait_us: roundUs(sum(waits.map((w) => w.lock_wait_us))),
      queue_full_wait_us: roundUs(sum(waits.map((w) => w.queue_full_wait_us))),
      queue_busy_wait_us: roundUs(sum(waits.map((w) => w.queue_busy_wait_us))),
      modeled_us: roundUs(sum(per.map((s) => s.modeled_us))),
      makespan_us: roundUs(Math.max(0, ...h.vms.map((r) => r.endUs))),
      units: h.units,
      vms: vms.map((v, k): VmLatency => {
        const a = alone[i]![k]!.summary;
        const s = per[k]!;
        return {
          trace: name(k),
          vm: v.vm,
          p50_us_alone: a.p50_us,
          p50_us_shared: s.p50_us,
          p99_us_alone: a.p99_us,
          p99_us_shared: s.p99_us,
          max_us_alone: a.max_us,
          max_us_shared: s.max_us,
          modeled_us_alone: a.modeled_us,
          modeled_us_shared: s.modeled_us,
        };
      }),
    };
  });
  return {
    shared_host: {
      vms: vms.length,
      arch: vms[0]!.trace.header.arch,
      iommus: sharedUnits(vms),
      queue_entries: o.queueEntries,
      interleave: o.interleave,
    },
    traces,
    host: { policies: host },
    left_out: o.leftOut,
    costs: o.costs,
  };
}

function roundWaits(w: WaitTotals): WaitTotals {
  return {
    lock_wait_us: roundUs(w.lock_wait_us),
    queue_full_wait_us: roundUs(w.queue_full_wait_us),
    queue_busy_wait_us: roundUs(w.queue_busy_wait_us),
    waits: w.waits,
  };
}

const n = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 3 });

function table(head: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number>): string[] {
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((x, c) => (right.has(c) ? x.padStart(w[c]!) : x.padEnd(w[c]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

/** The placement notes in a few words (the JSON has each). */
function placementNote(notes: readonly string[]): string {
  const moved = notes.filter((x) => x.includes('physical SID')).length;
  const ids = notes.filter((x) => !x.includes('physical SID'));
  return [...ids, ...(moved ? [`${moved} physical SID${moved === 1 ? '' : 's'} renumbered`] : [])].map((x) => `; ${x}`).join('');
}

/** The comparison as text: per VM and policy the verdict and latency alone → shared, then host totals. */
export function sharedHostText(o: SharedHostOutput): string {
  const h = o.shared_host;
  const lines = [
    `shared host: ${h.vms} VM${h.vms === 1 ? '' : 's'} (${h.arch}) on physical IOMMU${h.iommus.length === 1 ? '' : 's'} ${h.iommus.join(', ')}; ${h.queue_entries}-slot queues; interleave ${h.interleave}`,
  ];
  for (const t of o.traces) lines.push(`  VM ${t.vm}: ${t.trace} (${n(t.doorbells)} doorbells${placementNote(t.placement)})`);
  lines.push('');
  const rows: string[][] = [];
  for (const p of o.host.policies) {
    for (const v of p.vms) {
      const s = o.traces[v.vm]!.policies.find((x) => x.policy === p.policy)!;
      rows.push([
        p.policy,
        String(v.vm),
        s.correct ? 'correct' : `${s.violations} violations`,
        `${n(v.p50_us_alone)} → ${n(v.p50_us_shared)}`,
        `${n(v.p99_us_alone)} → ${n(v.p99_us_shared)}`,
        n(s.lock_wait_us),
        n(s.queue_full_wait_us),
        n(s.queue_busy_wait_us),
      ]);
    }
  }
  lines.push(
    ...table(
      ['policy', 'VM', 'verdict', 'p50 µs alone → shared', 'p99 µs alone → shared', 'lock wait µs', 'queue-full µs', 'queue-busy µs'],
      rows,
      new Set([1, 3, 4, 5, 6, 7]),
    ),
  );
  lines.push('', 'host totals:');
  lines.push(
    ...table(
      ['policy', 'verdict', ...HOST_TOTAL_COLUMNS.map(([head]) => head), 'peak slots'],
      o.host.policies.map((p) => [
        p.policy,
        p.correct ? 'correct' : `${p.violations} violations`,
        ...HOST_TOTAL_COLUMNS.map(([, value]) => n(value(p))),
        p.units.map((u) => `${u.iommu}:${u.peak_slots}`).join(' '),
      ]),
      new Set([2, 3, 4, 5, 6, 7, 8, 9]),
    ),
  );
  for (const l of o.left_out) lines.push(`left out: ${l.policy}: ${l.why}`);
  return lines.join('\n');
}
