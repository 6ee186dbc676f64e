// What a report shows, read from the analyzer views over one replay (analyzers/sql:
// policy_compare, policy_cost, completion_latency, violation_context) plus the key findings of
// replay/findings.ts. Rows are typed here once; the charts and the Markdown/HTML writers only
// format them, in the order the policies were replayed.

import type { ReplayOutput } from '../../replay/replayer.js';
import { findings } from '../../replay/findings.js';
import { tableRows, type Cell } from '../rows.js';
import type { Session } from '../session.js';

export interface CompareRow {
  readonly policy: string;
  readonly correct: boolean;
  readonly violations: number;
  readonly traps: number;
  readonly ioctls: number;
  readonly host_commands: number;
  readonly host_syncs: number;
  readonly device_invalidations: number;
  readonly modeled_us: number;
  readonly p50_us: number;
  readonly p99_us: number;
  readonly modeled_rank: number | null;
  readonly modeled_vs_best: number | null;
}

export interface CostTotalsRow {
  readonly policy: string;
  readonly doorbells: number;
  readonly completion_points: number;
  readonly modeled_us: number;
  readonly us_per_doorbell: number | null;
  readonly ioctls_per_doorbell: number | null;
  readonly us_per_completion: number | null;
  readonly modeled_vs_per_command: number | null;
  readonly ioctls_vs_per_command: number | null;
  readonly modeled_vs_hw_direct: number | null;
}

export interface CostKindRow {
  readonly policy: string;
  readonly kind: string;
  readonly ops: number;
  readonly cost_us: number;
  readonly share: number;
}

export interface LatencyRow {
  readonly policy: string;
  readonly completion_points: number;
  readonly completed: number;
  readonly never_completed: number;
  readonly min_us: number | null;
  readonly mean_us: number | null;
  readonly p50_us: number | null;
  readonly p90_us: number | null;
  readonly p99_us: number | null;
  readonly max_us: number | null;
}

export interface HistogramRow {
  readonly policy: string;
  readonly bucket: number;
  readonly lower_us: number;
  readonly upper_us: number;
  readonly completion_points: number;
  readonly share: number;
}

export interface ViolationGroup {
  readonly policy: string;
  readonly kind: string;
  readonly op: string | null;
  readonly violations: number;
  readonly doorbells: number;
  readonly first_seq: number;
  readonly last_seq: number;
  readonly example: string;
}

/** A command around the first finding of a group (offset 0: the command itself). */
export interface ContextRow {
  readonly policy: string;
  readonly kind: string;
  readonly violation_seq: number;
  readonly offset: number;
  readonly seq: number;
  readonly slot: number | null;
  readonly op: string;
  readonly doorbell_seq: number | null;
}

export interface BestRow {
  readonly metric: string;
  readonly policy: string;
  readonly value: number;
  readonly hw_direct: number | null;
}

export interface ReportData {
  readonly replay: ReplayOutput;
  /** The trace the report describes, as the user named it, and its short name. */
  readonly source: string;
  readonly name: string;
  readonly findings: readonly string[];
  /** Policies in replay order. */
  readonly policies: readonly string[];
  readonly compare: readonly CompareRow[];
  readonly totals: readonly CostTotalsRow[];
  readonly byKind: readonly CostKindRow[];
  readonly latency: readonly LatencyRow[];
  readonly histogram: readonly HistogramRow[];
  readonly violations: readonly ViolationGroup[];
  readonly contexts: readonly ContextRow[];
  readonly best: readonly BestRow[];
}

/** Commands shown on either side of a finding. */
export const CONTEXT_RADIUS = 2;

const num = (c: Cell | undefined): number => (typeof c === 'bigint' ? Number(c) : typeof c === 'number' ? c : Number(c ?? NaN));
const numOrNull = (c: Cell | undefined): number | null => (c === null || c === undefined ? null : num(c));
// eslint-disable-next-line @typescript-eslint/no-base-to-string -- the report's queries select scalar columns only
const str = (c: Cell | undefined): string => String(c ?? '');

async function query(s: Session, sql: string): Promise<Record<string, Cell>[]> {
  return tableRows(await s.query(sql));
}

/** Sorts rows by the replay's policy order (then by `tie`). */
function inPolicyOrder<T extends { policy: string }>(rows: T[], order: readonly string[], tie: (a: T, b: T) => number = () => 0): T[] {
  const at = new Map(order.map((p, i) => [p, i]));
  return rows.sort((a, b) => (at.get(a.policy) ?? order.length) - (at.get(b.policy) ?? order.length) || tie(a, b));
}

/** Reads every view the report shows from a session over the replayed trace and its result tables. */
export async function gatherReport(s: Session, replay: ReplayOutput, source: string, name: string): Promise<ReportData> {
  const order = replay.policies.map((p) => p.policy);
  const compare = (await query(s, 'SELECT * FROM policy_compare_table')).map((r): CompareRow => ({
    policy: str(r.policy),
    correct: r.correct === true,
    violations: num(r.violations),
    traps: num(r.traps),
    ioctls: num(r.ioctls),
    host_commands: num(r.host_commands),
    host_syncs: num(r.host_syncs),
    device_invalidations: num(r.device_invalidations),
    modeled_us: num(r.modeled_us),
    p50_us: num(r.p50_us),
    p99_us: num(r.p99_us),
    modeled_rank: numOrNull(r.modeled_rank),
    modeled_vs_best: numOrNull(r.modeled_vs_best),
  }));
  const totals = (await query(s, 'SELECT * FROM policy_cost_totals')).map((r): CostTotalsRow => ({
    policy: str(r.policy),
    doorbells: num(r.doorbells),
    completion_points: num(r.completion_points),
    modeled_us: num(r.modeled_us),
    us_per_doorbell: numOrNull(r.us_per_doorbell),
    ioctls_per_doorbell: numOrNull(r.ioctls_per_doorbell),
    us_per_completion: numOrNull(r.us_per_completion),
    modeled_vs_per_command: numOrNull(r.modeled_vs_per_command),
    ioctls_vs_per_command: numOrNull(r.ioctls_vs_per_command),
    modeled_vs_hw_direct: numOrNull(r.modeled_vs_hw_direct),
  }));
  const byKind = (await query(s, 'SELECT policy, kind, ops, cost_us, share FROM policy_cost_by_kind')).map((r): CostKindRow => ({
    policy: str(r.policy),
    kind: str(r.kind),
    ops: num(r.ops),
    cost_us: num(r.cost_us),
    share: num(r.share ?? 0),
  }));
  const latency = (await query(s, 'SELECT * FROM completion_latency_summary')).map((r): LatencyRow => ({
    policy: str(r.policy),
    completion_points: num(r.completion_points),
    completed: num(r.completed),
    never_completed: num(r.never_completed),
    min_us: numOrNull(r.min_us),
    mean_us: numOrNull(r.mean_us),
    p50_us: numOrNull(r.p50_us),
    p90_us: numOrNull(r.p90_us),
    p99_us: numOrNull(r.p99_us),
    max_us: numOrNull(r.max_us),
  }));
  const histogram = (await query(s, 'SELECT * FROM completion_latency_histogram')).map((r): HistogramRow => ({
    policy: str(r.policy),
    bucket: num(r.bucket),
    lower_us: num(r.lower_us),
    upper_us: num(r.upper_us),
    completion_points: num(r.completion_points),
    share: num(r.share),
  }));
  const violations = (await query(s, 'SELECT * FROM violation_context_groups')).map((r): ViolationGroup => ({
    policy: str(r.policy),
    kind: str(r.kind),
    op: r.op === null ? null : str(r.op),
    violations: num(r.violations),
    doorbells: num(r.doorbells),
    first_seq: num(r.first_seq),
    last_seq: num(r.last_seq),
    example: str(r.example),
  }));
  const contexts = (
    await query(
      s,
      `
    SELECT w.policy, w.kind, w.violation_seq, w."offset", w.seq, w.slot, w.op, w.doorbell_seq
    FROM violation_context_window(${CONTEXT_RADIUS}) w
    JOIN violation_context_groups g ON g.policy = w.policy AND g.kind = w.kind AND g.first_seq = w.violation_seq`,
    )
  ).map((r): ContextRow => ({
    policy: str(r.policy),
    kind: str(r.kind),
    violation_seq: num(r.violation_seq),
    offset: num(r.offset),
    seq: num(r.seq),
    slot: numOrNull(r.slot),
    op: str(r.op),
    doorbell_seq: numOrNull(r.doorbell_seq),
  }));
  const best = (await query(s, 'SELECT metric, policy, value, hw_direct FROM policy_compare_best')).map((r): BestRow => ({
    metric: str(r.metric),
    policy: str(r.policy),
    value: num(r.value),
    hw_direct: numOrNull(r.hw_direct),
  }));
  return {
    replay,
    source,
    name,
    findings: findings(replay),
    policies: order,
    compare: inPolicyOrder(compare, order),
    totals: inPolicyOrder(totals, order),
    byKind: inPolicyOrder(byKind, order, (a, b) => a.kind.localeCompare(b.kind)),
    latency: inPolicyOrder(latency, order),
    histogram: inPolicyOrder(histogram, order, (a, b) => a.bucket - b.bucket),
    violations: inPolicyOrder(violations, order, (a, b) => a.first_seq - b.first_seq || a.kind.localeCompare(b.kind)),
    contexts: inPolicyOrder(
      contexts,
      order,
      (a, b) => a.violation_seq - b.violation_seq || a.kind.localeCompare(b.kind) || a.offset - b.offset,
    ),
    best: [...best].sort((a, b) => a.metric.localeCompare(b.metric) || order.indexOf(a.policy) - order.indexOf(b.policy)),
  };
}
