// The CI baseline file (docs/ci.md): per trace and policy, the metrics of the last accepted run.
// Written atomically, keys in a stable order and no timestamp, so rewriting it unchanged gives
// the same bytes and a diff shows exactly what moved.

import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../formats/atomic.js';
import { InputFault } from '../../formats/result.js';
import type { PolicySummary } from '../../replay/replayer.js';
import type { TraceRun } from './run.js';
import { COST_METRICS, type CostMetric } from './suite.js';

export const BASELINE_VERSION = 1;

export interface PolicyMetrics extends Record<CostMetric, number> {
  /** The spec that ran (differs from the key when an alias stands in). */
  readonly policy: string;
  readonly correct: boolean;
  readonly violations: number;
  readonly violations_by_kind: Readonly<Record<string, number>>;
  readonly completions: number;
}

export interface TraceEntry {
  readonly arch: string;
  readonly events: number;
  readonly doorbells: number;
  readonly policies: Readonly<Record<string, PolicyMetrics>>;
}

export interface Baseline {
  readonly invtrace_baseline: number;
  readonly traces: Readonly<Record<string, TraceEntry>>;
}

/** What the baseline keeps of a policy summary. */
export function metricsOf(spec: string, p: PolicySummary): PolicyMetrics {
  const cost = Object.fromEntries(COST_METRICS.map((m) => [m, p[m]])) as Record<CostMetric, number>;
  const kinds = Object.fromEntries(Object.entries(p.violations_by_kind).sort(([a], [b]) => a.localeCompare(b)));
  return { policy: spec, correct: p.correct, violations: p.violations, violations_by_kind: kinds, completions: p.completions, ...cost };
}

/** The baseline a run would leave: every trace and policy, in suite order. */
export function baselineOf(runs: readonly TraceRun[]): Baseline {
  const traces: Record<string, TraceEntry> = {};
  for (const r of runs) {
    traces[r.trace.name] = {
      arch: r.arch,
      events: r.events,
      doorbells: r.doorbells,
      policies: Object.fromEntries(r.policies.map((p) => [p.key, metricsOf(p.spec, p.summary)])),
    };
  }
  return { invtrace_baseline: BASELINE_VERSION, traces };
}

export function readBaseline(file: string): Baseline {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputFault({
      file,
      message:
        code === 'ENOENT' ? 'no baseline: write one with invtrace ci SUITE --update-baseline' : `not valid JSON (${(e as Error).message})`,
    });
  }
  // Validated field by field as untyped JSON; only then is it a Baseline.
  if (!isObject(json) || json.invtrace_baseline !== BASELINE_VERSION) {
    throw new InputFault({
      file,
      field: 'invtrace_baseline',
      message: `expected ${BASELINE_VERSION} (a baseline written by invtrace ci --update-baseline)`,
    });
  }
  if (!isObject(json.traces)) throw new InputFault({ file, field: 'traces', message: 'expected an object of traces' });
  for (const [name, t] of Object.entries(json.traces)) {
    if (!isObject(t) || !isObject(t.policies))
      throw new InputFault({ file, field: `traces.${name}.policies`, message: 'expected an object of policies' });
    for (const [key, m] of Object.entries(t.policies)) {
      for (const f of ['correct', 'violations', ...COST_METRICS] as const) {
        if (!isObject(m) || m[f] === undefined)
          throw new InputFault({ file, field: `traces.${name}.policies.${key}.${f}`, message: 'missing' });
      }
    }
  }
  return json as unknown as Baseline;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

export function writeBaseline(file: string, b: Baseline): void {
  writeFileAtomic(file, `${JSON.stringify(b, null, 2)}\n`);
}
