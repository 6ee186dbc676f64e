// A suite run against its baseline: per trace and policy, each thresholded metric that moved past
// its limit (a regression when it grew, an improvement when it shrank), a policy the baseline has
// as correct that is no longer, and findings that grew. A trace whose events or architecture
// changed cannot be compared: every policy of it is a regression until the baseline is updated.

import type { Baseline, PolicyMetrics } from './baseline.js';
import { metricsOf } from './baseline.js';
import type { TraceRun } from './run.js';
import { COST_METRICS, type Thresholds } from './suite.js';

export type Status = 'ok' | 'regression' | 'improvement' | 'new';

export interface Change {
  readonly metric: string;
  readonly baseline: number | boolean | string;
  readonly current: number | boolean | string;
  /** (current - baseline) / baseline; Infinity from 0; null for non-numbers. */
  readonly relative: number | null;
  /** The allowed relative increase; null where none applies. */
  readonly limit: number | null;
  readonly verdict: 'regression' | 'improvement';
  /** One line: `ioctls 2 → 3 (+50.0%, limit +0%)`. */
  readonly text: string;
}

export interface Outcome {
  readonly trace: string;
  readonly policy: string;
  readonly spec: string;
  readonly status: Status;
  readonly changes: readonly Change[];
  readonly current: PolicyMetrics;
}

export interface Comparison {
  readonly outcomes: readonly Outcome[];
  /** Baseline entries the run did not produce (a trace or policy left out of the suite). */
  readonly missing: readonly { readonly trace: string; readonly policy?: string }[];
  /** Suite policies that cannot run on a trace's topology (hw-direct over several physical IOMMUs), and why. */
  readonly leftOut: readonly { readonly trace: string; readonly policy: string; readonly why: string }[];
  readonly counts: Readonly<Record<Status, number>>;
}

/** Differences smaller than this (relative) are rounding, not change. */
const EPSILON = 1e-9;

const num = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 3 });
/** A relative change as text: `+50.0%`, `-80.0%`, or `from 0`. */
export const pct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%` : 'from 0');
/** A limit as text: `+1%`. */
export const limitText = (x: number) => `+${+(100 * x).toFixed(3)}%`;
const kinds = (m: PolicyMetrics) =>
  Object.entries(m.violations_by_kind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

export function compareRuns(runs: readonly TraceRun[], baseline: Baseline | undefined, th: Thresholds): Comparison {
  const outcomes: Outcome[] = [];
  for (const run of runs) {
    const base = baseline?.traces[run.trace.name];
    for (const p of run.policies) {
      const current = metricsOf(p.spec, p.summary);
      const old = base?.policies[p.key];
      const changes: Change[] = [];
      if (base !== undefined && old !== undefined && (base.events !== run.events || base.arch !== run.arch)) {
        changes.push({
          metric: 'events',
          baseline: `${base.arch} ${base.events}`,
          current: `${run.arch} ${run.events}`,
          relative: null,
          limit: null,
          verdict: 'regression',
          text: `the trace changed (${base.arch}, ${num(base.events)} events → ${run.arch}, ${num(run.events)}): its baseline no longer applies; update it`,
        });
      } else if (old !== undefined) {
        changes.push(...correctness(old, current, th));
        for (const m of COST_METRICS) {
          const limit = th.max_increase[m];
          if (limit === undefined) continue;
          const c = metricChange(m, old[m], current[m], limit);
          if (c) changes.push(c);
        }
      }
      const status: Status =
        old === undefined
          ? 'new'
          : changes.some((c) => c.verdict === 'regression')
            ? 'regression'
            : changes.length > 0
              ? 'improvement'
              : 'ok';
      outcomes.push({ trace: run.trace.name, policy: p.key, spec: p.spec, status, changes, current });
    }
  }
  const missing: { trace: string; policy?: string }[] = [];
  const leftOut = runs.flatMap((r) => r.leftOut.map((l) => ({ trace: r.trace.name, policy: l.key, why: l.why })));
  for (const [name, t] of Object.entries(baseline?.traces ?? {})) {
    const run = runs.find((r) => r.trace.name === name);
    if (run === undefined) missing.push({ trace: name });
    else {
      for (const key of Object.keys(t.policies)) {
        if (!run.policies.some((p) => p.key === key) && !leftOut.some((l) => l.trace === name && l.policy === key))
          missing.push({ trace: name, policy: key });
      }
    }
  }
  const counts = { ok: 0, regression: 0, improvement: 0, new: 0 };
  for (const o of outcomes) counts[o.status]++;
  return { outcomes, missing, leftOut, counts };
}

/** The verdict and the findings: a correct policy must stay correct; findings must not grow. */
function correctness(old: PolicyMetrics, cur: PolicyMetrics, th: Thresholds): Change[] {
  const first = cur.violations > 0 ? ` (${kinds(cur)})` : '';
  if (th.keep_correct && old.correct && !cur.correct) {
    return [
      {
        metric: 'correct',
        baseline: true,
        current: false,
        relative: null,
        limit: null,
        verdict: 'regression',
        text: `became incorrect: ${cur.violations} violation${cur.violations === 1 ? '' : 's'}${first}`,
      },
    ];
  }
  if (!old.correct && cur.correct) {
    return [
      {
        metric: 'correct',
        baseline: false,
        current: true,
        relative: null,
        limit: null,
        verdict: 'improvement',
        text: `became correct (was ${old.violations} violations: ${kinds(old)})`,
      },
    ];
  }
  if (th.violations === 'no-increase' && cur.violations !== old.violations) {
    const grew = cur.violations > old.violations;
    return [
      {
        metric: 'violations',
        baseline: old.violations,
        current: cur.violations,
        relative: old.violations ? (cur.violations - old.violations) / old.violations : Infinity,
        limit: 0,
        verdict: grew ? 'regression' : 'improvement',
        text: `violations ${old.violations} → ${cur.violations}${first}`,
      },
    ];
  }
  return [];
}

function metricChange(metric: string, old: number, cur: number, limit: number): Change | undefined {
  const relative = old === 0 ? (cur === 0 ? 0 : Infinity) : (cur - old) / old;
  const verdict = relative > limit + EPSILON ? 'regression' : relative < -(limit + EPSILON) ? 'improvement' : undefined;
  if (verdict === undefined) return undefined;
  return {
    metric,
    baseline: old,
    current: cur,
    relative,
    limit,
    verdict,
    text: `${metric} ${num(old)} → ${num(cur)} (${pct(relative)}, limit ${limitText(limit)})`,
  };
}
