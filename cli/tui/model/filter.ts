// Filter and search expressions over a TraceModel, compiled to predicates on its typed arrays:
// `op=tlbi sid=0x8 -kind=doorbell verdict=violation policy=devtlb-nop`. Terms are ANDed, a term's
// comma-separated values ORed, a leading `-` or `!` negates it. A bare word matches op names, a
// bare number the row's seq, slot or any key field. The key table below also feeds the help overlay.

import { parseU64 } from '../../../formats/bits.js';
import { fail, ok, type Result } from '../../../formats/result.js';
import { EVENT_KINDS, ERROR_CODES } from '../../../formats/trace/schema.js';
import { policyNames, violationMarks, type PolicyResults } from './results.js';
import { KEY_FIELDS, NONE, NO_CODE, NO_OP, type TraceModel } from './trace-model.js';

export type RowTest = (row: number) => boolean;

export interface Query {
  readonly text: string;
  readonly test: RowTest;
}

/** What a query may need beyond the trace: policy results (verdict terms). */
export interface QueryContext {
  readonly model: TraceModel;
  readonly results?: PolicyResults;
  /** Why there are no results yet (e.g. "replaying: 45%"). */
  readonly resultsPending?: string;
}

interface TermSpec {
  readonly key: string;
  readonly help: string;
  compile(values: readonly string[], ctx: QueryContext, all: ReadonlyMap<string, readonly string[]>): Result<RowTest>;
}

const norm = (s: string) => s.trim().toUpperCase().replace(/-/g, '_');

function numbers(values: readonly string[], key: string): Result<number[]> {
  const out: number[] = [];
  for (const v of values) {
    const n = parseU64(v);
    if (n === undefined || n > 0xffffffffn) return fail({ field: key, message: `${key}: "${v}" is not a number (hex 0x... or decimal)` });
    out.push(Number(n));
  }
  return ok(out);
}

/** `A..B` ranges or single numbers. */
function ranges(values: readonly string[], key: string): Result<[number, number][]> {
  const out: [number, number][] = [];
  for (const v of values) {
    const [a, b] = v.split('..');
    const lo = numbers([a ?? ''], key);
    if (!lo.ok) return lo;
    const hi = b === undefined ? lo : numbers([b === '' ? '0xffffffff' : b], key);
    if (!hi.ok) return hi;
    out.push([lo.value[0]!, hi.value[0]!]);
  }
  return ok(out);
}

function inRanges(rs: readonly [number, number][]): (x: number) => boolean {
  return (x) => rs.some(([a, b]) => x >= a && x <= b);
}

/** Op codes named by the values: a whole name (any case), else every name containing the text. */
function opMatcher(m: TraceModel, values: readonly string[]): Result<Uint8Array> {
  const hit = new Uint8Array(m.opNames.length);
  for (const v of values) {
    const want = norm(v);
    const exact = m.opNames.findIndex((name) => norm(name) === want || norm(name) === `CMD_${want}`);
    let any = exact >= 0;
    if (exact >= 0) hit[exact] = 1;
    else {
      m.opNames.forEach((name, code) => {
        if (norm(name).includes(want)) {
          hit[code] = 1;
          any = true;
        }
      });
    }
    if (!any) return fail({ field: 'op', message: `op: no ${m.arch} command name contains "${v}"` });
  }
  return ok(hit);
}

function keyTerm(key: string, column: (m: TraceModel) => string): TermSpec {
  return {
    key,
    help: key === 'domain' ? 'guest domain tag: ASID (SMMUv3) or DID (VT-d)' : `${key} field equals one of the values`,
    compile(values, { model }) {
      const col = model.keys[column(model)];
      if (col === undefined) return fail({ field: key, message: `${key}: ${model.arch} commands have no ${key} field` });
      const ns = numbers(values, key);
      if (!ns.ok) return ns;
      const set = new Set(ns.value);
      return ok((r) => col[r] !== NONE && set.has(col[r]!));
    },
  };
}

/** The filter keys: one record each (parser, help overlay, README). */
export const TERMS: readonly TermSpec[] = [
  {
    key: 'op',
    help: 'op name contains the text (op=tlbi, op=sync, op=dev_tlb)',
    compile(values, { model }) {
      const hit = opMatcher(model, values);
      if (!hit.ok) return hit;
      const h = hit.value;
      return ok((r) => model.op[r] !== NO_OP && h[model.op[r]!] === 1);
    },
  },
  {
    key: 'kind',
    help: `event kind: ${EVENT_KINDS.join(', ')}`,
    compile(values, { model }) {
      const codes = new Set<number>();
      for (const v of values) {
        const k = EVENT_KINDS.indexOf(v.trim().toLowerCase() as (typeof EVENT_KINDS)[number]);
        if (k < 0) return fail({ field: 'kind', message: `kind: "${v}" is not one of ${EVENT_KINDS.join(', ')}` });
        codes.add(k);
      }
      return ok((r) => codes.has(model.kind[r]!));
    },
  },
  keyTerm('sid', () => 'sid'),
  keyTerm('asid', () => 'asid'),
  keyTerm('vmid', () => 'vmid'),
  keyTerm('did', () => 'did'),
  keyTerm('pasid', () => 'pasid'),
  keyTerm('domain', (m) => KEY_FIELDS[m.arch].domain),
  {
    key: 'slot',
    help: 'queue slot, or a range A..B',
    compile(values, { model }) {
      const rs = ranges(values, 'slot');
      if (!rs.ok) return rs;
      const f = inRanges(rs.value);
      return ok((r) => model.slot[r] !== NONE && f(model.slot[r]!));
    },
  },
  {
    key: 'seq',
    help: 'sequence number (trace row), or a range A..B',
    compile(values) {
      const rs = ranges(values, 'seq');
      if (!rs.ok) return rs;
      return ok(inRanges(rs.value));
    },
  },
  {
    key: 'error',
    help: `commands the hardware refuses (error=any, or ${ERROR_CODES.join(', ')})`,
    compile(values, { model }) {
      const any = values.some((v) => v === '' || v.toLowerCase() === 'any' || v.toLowerCase() === 'yes');
      const codes = new Set(
        values.map((v) => ERROR_CODES.indexOf(v.trim().toUpperCase() as (typeof ERROR_CODES)[number])).filter((i) => i >= 0),
      );
      if (!any && codes.size === 0)
        return fail({ field: 'error', message: `error: "${values.join(',')}" is not any or one of ${ERROR_CODES.join(', ')}` });
      return ok((r) => model.error[r] !== NO_CODE && (any || codes.has(model.error[r]!)));
    },
  },
  {
    key: 'verdict',
    help: 'violation (a policy found one at this row) or ok; with policy=NAME, that policy only',
    compile(values, ctx, all) {
      const r = ctx.results;
      if (r === undefined)
        return fail({ field: 'verdict', message: `verdict: no policy results yet${ctx.resultsPending ? ` (${ctx.resultsPending})` : ''}` });
      const want = values.map((v) => v.trim().toLowerCase());
      const bad = want.find((v) => v !== 'violation' && v !== 'ok');
      if (bad !== undefined) return fail({ field: 'verdict', message: `verdict: "${bad}" is not violation or ok` });
      const names = policyNames(r);
      const pol = all.get('policy');
      let policy: number | undefined;
      if (pol !== undefined) {
        const p = names.findIndex((n) => n === pol[0]);
        const q = p >= 0 ? p : names.findIndex((n) => n.startsWith(pol[0] ?? ''));
        if (q < 0) return fail({ field: 'policy', message: `policy: "${pol[0]}" is not one of ${names.join(', ')}` });
        policy = q;
      }
      const marks = violationMarks(r, ctx.model.rows, policy);
      const vio = want.includes('violation'),
        okay = want.includes('ok');
      return ok((row) => (marks[row] === 1 ? vio : okay));
    },
  },
  {
    key: 'policy',
    help: 'with verdict=: the policy whose violations count',
    compile(_values, _ctx, all) {
      if (!all.has('verdict')) return fail({ field: 'policy', message: 'policy=NAME goes with verdict=violation|ok' });
      return ok(() => true);
    },
  },
];

const BY_KEY = new Map(TERMS.map((t) => [t.key, t]));

/** A bare word or number (search): op names, or seq / slot / key fields. */
function bareTerm(word: string, m: TraceModel): Result<RowTest> {
  const n = parseU64(word);
  if (n !== undefined && n <= 0xffffffffn) {
    const x = Number(n);
    const keys = Object.values(m.keys);
    return ok((r) => r === x || m.slot[r] === x || keys.some((k) => k[r] === x));
  }
  const hit = opMatcher(m, [word]);
  if (hit.ok) {
    const h = hit.value;
    return ok((r) => m.op[r] !== NO_OP && h[m.op[r]!] === 1);
  }
  const k = EVENT_KINDS.indexOf(word.toLowerCase() as (typeof EVENT_KINDS)[number]);
  if (k >= 0) return ok((r) => m.kind[r] === k);
  return fail({ message: `"${word}" is no op name, event kind or number` });
}

/** Parses an expression; an empty one matches every row. */
export function parseQuery(text: string, ctx: QueryContext): Result<Query> {
  const words = text
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const tests: RowTest[] = [];
  const keyed = new Map<string, string[]>();
  const parsed: { neg: boolean; key: string | undefined; values: string[]; word: string }[] = [];
  for (const w of words) {
    const neg = w.startsWith('-') || w.startsWith('!');
    const body = neg ? w.slice(1) : w;
    const eq = body.indexOf('=');
    const key = eq > 0 ? body.slice(0, eq).toLowerCase() : undefined;
    const values =
      eq > 0
        ? body
            .slice(eq + 1)
            .split(',')
            .filter((v) => v !== '')
        : [];
    if (key !== undefined && !BY_KEY.has(key))
      return fail({ field: key, message: `unknown filter key "${key}" (${TERMS.map((t) => t.key).join(', ')})` });
    if (key !== undefined && values.length === 0 && key !== 'error') return fail({ field: key, message: `${key}= needs a value` });
    if (key === undefined && body === 'error') {
      parsed.push({ neg, key: 'error', values: ['any'], word: w });
      keyed.set('error', ['any']);
      continue;
    }
    if (key !== undefined) keyed.set(key, values.length ? values : ['any']);
    parsed.push({ neg, key, values: values.length ? values : ['any'], word: body });
  }
  for (const p of parsed) {
    const t = p.key === undefined ? bareTerm(p.word, ctx.model) : BY_KEY.get(p.key)!.compile(p.values, ctx, keyed);
    if (!t.ok) return t;
    const f = t.value;
    tests.push(p.neg ? (r) => !f(r) : f);
  }
  const test: RowTest = tests.length === 0 ? () => true : tests.length === 1 ? tests[0]! : (r) => tests.every((t) => t(r));
  return ok({ text: text.trim(), test });
}

/** The rows of `within` (all rows when undefined) that pass `test`, in order. */
export function selectRows(m: TraceModel, test: RowTest, within?: Uint32Array): Uint32Array {
  const n = within ? within.length : m.rows;
  const tmp = new Uint32Array(n);
  let k = 0;
  if (within) {
    for (let i = 0; i < n; i++) if (test(within[i]!)) tmp[k++] = within[i]!;
  } else {
    for (let r = 0; r < n; r++) if (test(r)) tmp[k++] = r;
  }
  return tmp.slice(0, k);
}

/** Index of the first element of sorted `a` that is >= x (a.length when none). */
export function lowerBound(a: Uint32Array, x: number): number {
  let lo = 0,
    hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
