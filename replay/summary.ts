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

/** Nearest-rank percentile of ascending `sorted`. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
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
