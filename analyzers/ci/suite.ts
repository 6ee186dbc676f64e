// A CI suite file (docs/ci.md): which traces to replay under which policies, and how far each
// metric may move against the baseline before it counts as a regression. Read and checked in full
// before anything runs: every error is an InputFault naming the suite file and the field
// (`traces[3].capture[1]`, `policies[2].as`, `thresholds.max_increase.ioctls`).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { pathKind, replayFolderTrace } from '../../formats/input-kind.js';
import { InputFault } from '../../formats/result.js';
import { ALL_POLICIES, resolvePolicies } from '../../replay/policies/index.js';
import { parsePolicySpec } from '../../replay/policy.js';
import { SUMMARY_COUNTS } from '../../replay/tables.js';
import { flagName, OPTIONS, type OptionKey } from '../../samples/gen/options.js';
import { plan } from '../../samples/gen/generate.js';
import { runName } from '../../formats/run-name.js';

export const SUITE_VERSION = 1;

/** Metrics a threshold may bound: the cost counts of a policy summary (more is worse). */
export const COST_METRICS = [...SUMMARY_COUNTS, 'modeled_us', 'p50_us', 'p99_us', 'max_us'] as const;
export type CostMetric = (typeof COST_METRICS)[number];

export interface Thresholds {
  /** Largest relative increase allowed per metric (0.01 = +1 %; 0 = none); unlisted metrics are not checked. */
  readonly max_increase: Readonly<Partial<Record<CostMetric, number>>>;
  /** `no-increase`: more violations than the baseline is a regression; `ignore`: not checked. */
  readonly violations: 'no-increase' | 'ignore';
  /** A policy the baseline has as correct must stay correct. */
  readonly keep_correct: boolean;
}

export const DEFAULT_THRESHOLDS: Thresholds = Object.freeze({
  max_increase: Object.freeze({ modeled_us: 0.01, ioctls: 0, host_commands: 0 }),
  violations: 'no-increase',
  keep_correct: true,
});

/** A policy to replay (`spec`) and the name its results go under (`key`: the alias, or the spec). */
export interface SuitePolicy {
  readonly key: string;
  readonly spec: string;
}

export type TraceSource =
  | { readonly kind: 'trace'; readonly file: string }
  | { readonly kind: 'ingest'; readonly files: readonly string[] }
  | { readonly kind: 'gen'; readonly workload: string; readonly options: Readonly<Partial<Record<OptionKey, string>>> };

export interface SuiteTrace {
  readonly name: string;
  readonly source: TraceSource;
  /** How the suite file named it, for messages. */
  readonly label: string;
  readonly policies: readonly SuitePolicy[];
  readonly topology?: string;
}

export interface Suite {
  readonly file: string;
  readonly name: string;
  /** The baseline file the suite names (resolved), if any. */
  readonly baseline?: string;
  readonly costs?: string;
  readonly thresholds: Thresholds;
  readonly traces: readonly SuiteTrace[];
}

type Json = unknown;

/** Reads and checks a suite file; paths in it are relative to its folder. */
export async function loadSuite(file: string): Promise<Suite> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputFault({ file, message: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message });
  }
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputFault({ file, message: `not valid JSON (${(e as Error).message})` });
  }
  const fault = (field: string, message: string) => new InputFault({ file, field, message });
  const dir = dirname(file);
  const path = (p: string) => (isAbsolute(p) ? p : join(dir, p));
  const obj = (v: Json, field: string): Record<string, Json> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fault(field, 'expected an object');
    return v as Record<string, Json>;
  };
  const str = (v: Json, field: string): string => {
    if (typeof v !== 'string' || v.trim() === '') throw fault(field, 'expected a non-empty string');
    return v;
  };
  const known = (o: Record<string, Json>, field: string, keys: readonly string[]) => {
    for (const k of Object.keys(o))
      if (!keys.includes(k)) throw fault(field ? `${field}.${k}` : k, `unknown field (known: ${keys.join(', ')})`);
  };
  const existing = (v: Json, field: string): string => {
    const p = path(str(v, field));
    if (!existsSync(p)) throw fault(field, `no such file: ${p}`);
    return p;
  };

  const top = obj(json, 'suite');
  known(top, '', ['invtrace_suite', 'name', 'description', 'baseline', 'costs', 'policies', 'thresholds', 'traces']);
  if (top.invtrace_suite !== SUITE_VERSION) throw fault('invtrace_suite', `expected ${SUITE_VERSION} (the suite format version)`);
  const policies = await suitePolicies(top.policies ?? ['all'], 'policies', fault, path);
  const thresholds = suiteThresholds(top.thresholds, fault, obj, known);
  if (!Array.isArray(top.traces) || top.traces.length === 0) throw fault('traces', 'expected a non-empty array of traces');
  const traces: SuiteTrace[] = [];
  for (const [i, t] of (top.traces as Json[]).entries()) {
    const field = `traces[${i}]`;
    // A bare path is told by its contents (formats/input-kind.ts): a trace or a replay folder, else captures.
    const bare = (p: string) => (existsSync(path(p)) && ['trace', 'replay-folder'].includes(pathKind(path(p))) ? 'trace' : 'capture');
    const e: Record<string, Json> =
      typeof t === 'string' || Array.isArray(t) ? { [typeof t === 'string' ? bare(t) : 'capture']: t } : obj(t, field);
    known(e, field, ['name', 'trace', 'capture', 'scenario', 'gen', 'options', 'policies', 'topology']);
    const kinds = ['trace', 'capture', 'scenario', 'gen'].filter((k) => e[k] !== undefined);
    if (kinds.length !== 1) throw fault(field, 'give exactly one of "trace", "capture", "scenario" or "gen"');
    let source: TraceSource;
    let files: string[] = [];
    if (e.trace !== undefined) {
      files = [existing(e.trace, `${field}.trace`)];
      if (pathKind(files[0]!) === 'replay-folder') {
        // A replay output folder stands for the trace its replay.json names.
        const r = replayFolderTrace(files[0]!);
        if (r.trace === undefined) throw fault(`${field}.trace`, `${files[0]}: ${r.why}`);
        source = { kind: 'trace', file: r.trace }; // named after the folder, as given
      } else if (pathKind(files[0]!) !== 'trace')
        throw fault(`${field}.trace`, `${files[0]}: not an Arrow trace (give captures and scenarios as "capture" or "scenario")`);
      else source = { kind: 'trace', file: files[0]! };
    } else if (e.capture !== undefined || e.scenario !== undefined) {
      const k = e.capture !== undefined ? 'capture' : 'scenario';
      const v = e[k];
      const list = Array.isArray(v) ? v : [v];
      if (list.length === 0) throw fault(`${field}.${k}`, 'expected a file or a list of files');
      files = list.map((f, j) => existing(f, Array.isArray(v) ? `${field}.${k}[${j}]` : `${field}.${k}`));
      source = { kind: 'ingest', files };
    } else {
      const workload = str(e.gen, `${field}.gen`);
      const options = genOptions(e.options ?? {}, `${field}.options`, fault, obj);
      const p = plan(workload, options);
      if (!p.ok) {
        const at =
          p.error.field === workload
            ? `${field}.gen`
            : p.error.field?.startsWith('--')
              ? `${field}.options.${p.error.field.slice(2)}`
              : `${field}.options`;
        throw fault(at, p.error.message);
      }
      source = { kind: 'gen', workload, options };
    }
    if (e.options !== undefined && e.gen === undefined) throw fault(`${field}.options`, 'options go with "gen"');
    const name = e.name !== undefined ? str(e.name, `${field}.name`) : source.kind === 'gen' ? source.workload : runName(files);
    if (traces.some((x) => x.name === name)) throw fault(`${field}.name`, `"${name}" names two traces (give each a "name")`);
    traces.push({
      name,
      source,
      label: source.kind === 'gen' ? `gen ${source.workload}` : files.join(' + '),
      policies: e.policies !== undefined ? await suitePolicies(e.policies, `${field}.policies`, fault, path) : policies,
      ...(e.topology !== undefined ? { topology: existing(e.topology, `${field}.topology`) } : {}),
    });
  }
  return {
    file,
    name: typeof top.name === 'string' ? top.name : runName([file]),
    ...(top.baseline !== undefined ? { baseline: path(str(top.baseline, 'baseline')) } : {}),
    ...(top.costs !== undefined ? { costs: existing(top.costs, 'costs') } : {}),
    thresholds,
    traces,
  };
}

type Fault = (field: string, message: string) => InputFault;

/** Policy entries: "SPEC", "all", or {"policy": SPEC, "as": ALIAS}; module paths resolved against the suite's folder. */
async function suitePolicies(v: Json, field: string, fault: Fault, path: (p: string) => string): Promise<SuitePolicy[]> {
  if (!Array.isArray(v) || v.length === 0)
    throw fault(field, 'expected a non-empty array of policies ("all", "NAME[:key=value,...]" or {"policy": ..., "as": ...})');
  const out: SuitePolicy[] = [];
  for (const [i, p] of v.entries()) {
    const f = `${field}[${i}]`;
    let spec: string;
    let alias: string | undefined;
    if (typeof p === 'string') spec = p.trim();
    else if (typeof p === 'object' && p !== null && !Array.isArray(p)) {
      const o = p as Record<string, Json>;
      for (const k of Object.keys(o)) if (!['policy', 'as'].includes(k)) throw fault(`${f}.${k}`, 'unknown field (known: policy, as)');
      if (typeof o.policy !== 'string' || o.policy.trim() === '') throw fault(`${f}.policy`, 'expected a policy spec');
      if (o.as !== undefined && (typeof o.as !== 'string' || o.as.trim() === ''))
        throw fault(`${f}.as`, 'expected the name the results go under');
      spec = o.policy.trim();
      alias = o.as;
    } else throw fault(f, 'expected "NAME[:key=value,...]" or {"policy": ..., "as": ...}');
    const specs = spec === 'all' ? ALL_POLICIES : [userPath(spec, path)];
    if (spec === 'all' && alias !== undefined) throw fault(`${f}.as`, '"all" cannot take an alias');
    try {
      await resolvePolicies(specs);
    } catch (e) {
      throw fault(f, e instanceof InputFault ? e.message : (e as Error).message);
    }
    for (const s of specs) {
      const key = alias ?? (spec === 'all' ? s : spec);
      if (out.some((x) => x.key === key))
        throw fault(alias !== undefined ? `${f}.as` : f, `"${key}" is listed twice (results are kept by name)`);
      out.push({ key, spec: s });
    }
  }
  return out;
}

/** A spec whose base is a module path, made absolute against the suite's folder (the variant kept). */
function userPath(spec: string, path: (p: string) => string): string {
  const { base } = parsePolicySpec(spec);
  if (!(base.startsWith('.') || isAbsolute(base) || /\.(m?js|ts)$/.test(base))) return spec;
  return path(base) + spec.slice(base.length);
}

function suiteThresholds(
  v: Json,
  fault: Fault,
  obj: (v: Json, f: string) => Record<string, Json>,
  known: (o: Record<string, Json>, f: string, k: readonly string[]) => void,
): Thresholds {
  if (v === undefined) return DEFAULT_THRESHOLDS;
  const t = obj(v, 'thresholds');
  known(t, 'thresholds', ['max_increase', 'violations', 'keep_correct']);
  let max = DEFAULT_THRESHOLDS.max_increase;
  if (t.max_increase !== undefined) {
    const m = obj(t.max_increase, 'thresholds.max_increase');
    const out: Partial<Record<CostMetric, number>> = {};
    for (const [k, x] of Object.entries(m)) {
      const f = `thresholds.max_increase.${k}`;
      if (!(COST_METRICS as readonly string[]).includes(k))
        throw fault(f, `not a metric a threshold can bound (${COST_METRICS.join(', ')})`);
      if (typeof x !== 'number' || !(x >= 0)) throw fault(f, 'expected a relative increase >= 0 (0.05 = +5 %)');
      out[k as CostMetric] = x;
    }
    max = out;
  }
  const violations = t.violations ?? DEFAULT_THRESHOLDS.violations;
  if (violations !== 'no-increase' && violations !== 'ignore') throw fault('thresholds.violations', 'expected "no-increase" or "ignore"');
  const keep = t.keep_correct ?? DEFAULT_THRESHOLDS.keep_correct;
  if (typeof keep !== 'boolean') throw fault('thresholds.keep_correct', 'expected true or false');
  return { max_increase: max, violations, keep_correct: keep };
}

/** Generator options by flag name (`caching-mode`) or key (`cachingMode`); values as the command line takes them. */
function genOptions(
  v: Json,
  field: string,
  fault: Fault,
  obj: (v: Json, f: string) => Record<string, Json>,
): Partial<Record<OptionKey, string>> {
  const o = obj(v, field);
  const out: Partial<Record<OptionKey, string>> = {};
  for (const [k, x] of Object.entries(o)) {
    const def = OPTIONS.find((d) => d.key === k || flagName(d) === k);
    if (def === undefined)
      throw fault(`${field}.${k}`, `unknown generator option (gen --list shows them: ${OPTIONS.map(flagName).join(', ')})`);
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean')
      throw fault(`${field}.${k}`, 'expected a string, number or boolean');
    out[def.key] = typeof x === 'boolean' ? (x ? 'on' : 'off') : String(x);
  }
  return out;
}
