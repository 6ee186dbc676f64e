// What a replay returns and replay.json holds: per policy its verdict, counts, modelled time and
// completion latency percentiles; for the trace, what bare hardware did. Also the small helpers
// that turn a run's tallies into that summary.

import type { Violation } from './oracle.js';
import type { PolicyDetail } from './policy.js';
import type { GuestFinding } from './reference.js';
import type { ResolvedTopology } from './topology.js';

export interface PolicySummary {
  readonly policy: string;
  readonly correct: boolean;
  readonly violations: number;
  readonly violations_by_kind: Readonly<Record<string, number>>;
  readonly traps: number;
  readonly vmm_commands: number;
  readonly ioctls: number;
  readonly host_commands: number;
  readonly host_syncs: number;
  readonly host_doorbells: number;
  readonly device_invalidations: number;
  readonly direct_commands: number;
  readonly bytes_copied: number;
  readonly completions: number;
  readonly modeled_us: number;
  readonly p50_us: number;
  readonly p99_us: number;
  readonly max_us: number;
  /** The first few findings, for a reader. */
  readonly first_violations: readonly Violation[];
  /** What the policy reports about itself (migrate: each side's cost), when it does. */
  readonly detail?: PolicyDetail;
}

export interface ReplayOutput {
  readonly trace: string;
  readonly arch: string;
  readonly events: number;
  readonly doorbells: number;
  /** What bare hardware did with the queue: completion points completed, errors raised. */
  readonly reference: { readonly completions: number; readonly errors: number };
  /** What bare hardware also shows (the guest's own doing): never counted against a policy (docs/oracle.md). */
  readonly guest_findings: readonly GuestFinding[];
  readonly guest_findings_by_kind: Readonly<Record<string, number>>;
  readonly topology: ResolvedTopology;
  readonly policies: readonly PolicySummary[];
  /** Policies asked for that cannot run on this topology, and why (absent in older replay.json). */
  readonly left_out?: readonly LeftOut[];
}

/** A policy left out of the comparison (e.g. hw-direct over several physical IOMMUs). */
export interface LeftOut {
  readonly policy: string;
  readonly why: string;
}

/** Microseconds to three decimals, as every table and summary shows them. */
export const roundUs = (x: number) => Math.round(x * 1000) / 1000;

/** The index of the nearest-rank `p` percentile in an ascending array of `n` values. */
const rankOf = (n: number, p: number) => Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));

/** Nearest-rank percentile of ascending `sorted`. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[rankOf(sorted.length, p)]!;
}

/** A run's completion latencies as its summary shows them. */
export interface LatencyStats {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * The nearest-rank 50th and 99th percentiles and the maximum of `values` (any order; reordered in
 * place): the values `percentile` reads in the sorted array, found by selection instead of a sort
 * (a Float64Array sort was 0.5 G instructions of a nine-policy 300k replay; two selections and a
 * scan are linear). No NaN: a latency not measured is left out before.
 */
export function latencyStats(values: Float64Array): LatencyStats {
  const n = values.length;
  if (n === 0) return { p50: 0, p99: 0, max: 0 };
  const k50 = rankOf(n, 50);
  const k99 = rankOf(n, 99);
  const p50 = selectNth(values, k50, 0); // now values[k50 + 1 ..] are all >= p50
  const p99 = selectNth(values, k99, k50); // now values[k99 + 1 ..] are all >= p99
  let max = p99;
  for (let i = k99 + 1; i < n; i++) if (values[i]! > max) max = values[i]!;
  return { p50, p99, max };
}

/**
 * The value of rank `k` (0-based, ascending) of `a[lo..]`, Hoare's FIND: partitions around a
 * median of three until `k` is placed, leaving smaller-or-equal values before it and
 * greater-or-equal ones after. Runs of equal values split in the middle (the scans stop on equal).
 */
function selectNth(a: Float64Array, k: number, lo: number): number {
  let hi = a.length - 1;
  while (hi > lo) {
    const x = medianOf3(a[lo]!, a[(lo + hi) >>> 1]!, a[hi]!);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < x) i++;
      while (a[j]! > x) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    // a[lo..j] <= x <= a[i..hi]; anything strictly between j and i equals x.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

function medianOf3(a: number, b: number, c: number): number {
  if (a < b) return b < c ? b : a < c ? c : a;
  return a < c ? a : b < c ? c : b;
}

/** A run's violations: the count, per kind, the first few kept for a reader, each one passed on. */
export class ViolationLog {
  count = 0;
  readonly byKind: Record<string, number> = {};
  readonly first: Violation[] = [];

  constructor(private readonly sink: ((v: Violation) => void) | undefined) {}

  add = (v: Violation): void => {
    this.count++;
    this.byKind[v.kind] = (this.byKind[v.kind] ?? 0) + 1;
    if (this.first.length < 20) this.first.push(v);
    this.sink?.(v);
  };
}
