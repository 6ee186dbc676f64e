// The report's content as a list of blocks (headings, paragraphs, lists, tables, charts, code):
// every word and number of the report is decided here, once; markdown.ts and html.ts only render
// the blocks. Inline `code` spans use backticks in paragraph, list and cell text.

import { ALL_OP_KINDS } from '../../replay/tables.js';
import type { Costs } from '../../replay/cost/params.js';
import { KIND_LABELS } from './chart-cost.js';
import { designDebates, designRows, hasDesigns } from './designs.js';
import type { ContextRow, ReportData, ViolationGroup } from './data.js';
import { fmt } from './svg.js';

export type Block =
  | { readonly type: 'h1' | 'h2' | 'h3' | 'p'; readonly text: string }
  | { readonly type: 'list'; readonly items: readonly string[] }
  | {
      readonly type: 'table';
      readonly head: readonly string[];
      readonly rows: readonly (readonly string[])[];
      readonly right: readonly number[];
    }
  | { readonly type: 'chart'; readonly file: string; readonly alt: string }
  | { readonly type: 'code'; readonly text: string };

/** A chart file of the report (relative path) and its SVG. */
export interface ChartFile {
  readonly file: string;
  readonly alt: string;
  readonly svg: string;
}

export interface DocumentContext {
  readonly charts: { readonly policies: ChartFile; readonly cost: ChartFile; readonly latency: ChartFile };
  /** Where the replay's result tables and the trace are, relative to the report. */
  readonly results: string;
  readonly trace: string | undefined;
  /** The cost parameters: "the spec/costs.md defaults" or the --costs file. */
  readonly costs: string;
  /** Their values (the designs' flip points are computed with them). */
  readonly costValues: Costs;
}

const ratio = (x: number | null) => (x === null ? '–' : `${x.toFixed(2)}×`);
const us = (x: number | null) => (x === null ? '–' : fmt(x));
const plural = (n: number, one: string, many = `${one}s`) => `${fmt(n)} ${n === 1 ? one : many}`;
const ARCH = { vtd: 'VT-d', smmuv3: 'SMMUv3' } as const;

export function reportDocument(d: ReportData, ctx: DocumentContext): Block[] {
  const r = d.replay;
  const bad = d.compare.filter((p) => !p.correct);
  const blocks: Block[] = [
    { type: 'h1', text: `invtrace report: ${d.name}` },
    {
      type: 'p',
      text:
        `\`${d.source}\`: ${(ARCH as Readonly<Record<string, string>>)[r.arch] ?? r.arch} trace of ${plural(r.events, 'event')} and ${plural(r.doorbells, 'doorbell')}; ` +
        `bare hardware completed ${plural(r.reference.completions, 'completion point')}${r.reference.errors ? ` and raised ${plural(r.reference.errors, 'queue error')}` : ''}. ` +
        `Topology: ${r.topology.source}, ${plural(r.topology.topology.devices.length, 'device')}. ` +
        `${plural(d.policies.length, 'policy', 'policies')} replayed; ${bad.length === 0 ? 'all correct' : `${bad.length} incorrect`}. Costs: ${ctx.costs}.`,
    },
    { type: 'h2', text: 'Key findings' },
    { type: 'list', items: d.findings },
    ...comparison(d, ctx),
    ...designs(d, ctx),
    ...cost(d, ctx),
    ...latency(d, ctx),
    ...violations(d),
    { type: 'h2', text: 'How this report was made' },
    {
      type: 'list',
      items: [
        `Each policy replayed the guest queue doorbell by doorbell against the emulators and the host model; the oracle checked it against bare hardware (docs/results.md).`,
        `Result tables: \`${ctx.results}\` (\`host_ops\`, \`completions\`, \`violations\`, \`summary\`)${ctx.trace ? `; trace: \`${ctx.trace}\`` : ''}.`,
        `The tables and charts come from the analyzer views \`policy_compare_table\`, \`policy_compare_best\`, \`policy_cost_totals\`, \`policy_cost_by_kind\`, \`completion_latency_summary\`, \`completion_latency_histogram\`, \`violation_context_groups\` and \`violation_context_window\`; ` +
          `query them with \`invtrace sql ${ctx.results}${ctx.trace ? ` ${ctx.trace}` : ''}\` (\`invtrace views\` lists them).`,
      ],
    },
  ];
  return blocks;
}

function comparison(d: ReportData, ctx: DocumentContext): Block[] {
  const rows = d.compare.map((p) => [
    p.policy,
    p.correct ? 'correct' : `✗ ${plural(p.violations, 'violation')}`,
    p.modeled_rank === null ? '–' : String(p.modeled_rank),
    fmt(p.traps),
    fmt(p.ioctls),
    fmt(p.host_commands),
    fmt(p.host_syncs),
    fmt(p.device_invalidations),
    fmt(p.modeled_us),
    ratio(p.modeled_vs_best),
    fmt(p.p50_us),
    fmt(p.p99_us),
  ]);
  const best = d.best.filter((b) => ['modeled_us', 'ioctls', 'p99_us'].includes(b.metric));
  const byMetric = new Map<string, string[]>();
  for (const b of best) byMetric.set(b.metric, [...(byMetric.get(b.metric) ?? []), b.policy]);
  const metricName: Record<string, string> = { modeled_us: 'modelled time', ioctls: 'ioctls', p99_us: '99th-percentile latency' };
  const out: Block[] = [
    { type: 'h2', text: 'Policies side by side' },
    { type: 'chart', file: ctx.charts.policies.file, alt: ctx.charts.policies.alt },
    {
      type: 'table',
      head: [
        'policy',
        'verdict',
        'rank',
        'traps',
        'ioctls',
        'host cmds',
        'host syncs',
        'dev invs',
        'modelled µs',
        'vs best',
        'p50 µs',
        'p99 µs',
      ],
      rows,
      right: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    },
    {
      type: 'p',
      text:
        "rank: by modelled time among the correct policies; vs best: modelled time over the cheapest correct trapped policy's (hw-direct, the lower bound, is not a trapped policy); " +
        'dev invs: ATS invalidations devices had to answer; p50/p99: completion latency.',
    },
  ];
  // Policies that could not run on this topology (hw-direct over several physical IOMMUs, docs/hosts.md).
  const leftOut = d.replay.left_out ?? [];
  if (leftOut.length > 0) out.push({ type: 'list', items: leftOut.map((l) => `Left out: \`${l.policy}\`: ${l.why}.`) });
  if (byMetric.size > 0) {
    out.push({
      type: 'list',
      items: [...byMetric].map(([m, ps]) => {
        const b = best.find((x) => x.metric === m)!;
        return `Least ${metricName[m]} among the correct trapped policies: ${ps.map((p) => `\`${p}\``).join(', ')} (${fmt(b.value)}${b.hw_direct === null ? '' : `; hw-direct ${fmt(b.hw_direct)}`}).`;
      }),
    });
  }
  return out;
}

/** "Designs compared" (issue 14): shown when the replay ran the designs (`--policy all,designs`). */
function designs(d: ReportData, ctx: DocumentContext): Block[] {
  if (!hasDesigns(d.replay)) return [];
  const rows = designRows(d.replay);
  return [
    { type: 'h2', text: 'Designs compared' },
    {
      type: 'table',
      head: ['design', 'policy', 'verdict', 'traps', 'ioctls', 'modelled µs', 'µs / doorbell'],
      rows: rows.map((r) => [
        r.design,
        `\`${r.policy}\``,
        r.verdict,
        fmt(r.traps),
        fmt(r.ioctls),
        fmt(r.modeled_us),
        r.us_per_doorbell.toFixed(2),
      ]),
      right: [3, 4, 5, 6],
    },
    ...designDebates(d.replay, ctx.costValues).map((text): Block => ({ type: 'p', text })),
  ];
}

function cost(d: ReportData, ctx: DocumentContext): Block[] {
  const kinds = ALL_OP_KINDS.filter((k) => d.byKind.some((x) => x.kind === k && x.cost_us > 0));
  const cell = (p: string, k: string) => {
    const row = d.byKind.find((x) => x.policy === p && x.kind === k);
    return row && row.cost_us > 0 ? `${fmt(row.cost_us)} (${Math.round(100 * row.share)}%)` : '–';
  };
  return [
    { type: 'h2', text: 'Where the time goes' },
    { type: 'chart', file: ctx.charts.cost.file, alt: ctx.charts.cost.alt },
    {
      type: 'table',
      head: [
        'policy',
        'µs / doorbell',
        'ioctls / doorbell',
        'µs / completion point',
        'vs per-command',
        'ioctls vs per-command',
        'vs hw-direct',
      ],
      rows: d.totals.map((t) => [
        t.policy,
        us(t.us_per_doorbell),
        t.ioctls_per_doorbell === null ? '–' : t.ioctls_per_doorbell.toFixed(2),
        us(t.us_per_completion),
        ratio(t.modeled_vs_per_command),
        ratio(t.ioctls_vs_per_command),
        ratio(t.modeled_vs_hw_direct),
      ]),
      right: [1, 2, 3, 4, 5, 6],
    },
    { type: 'p', text: "Modelled µs by kind of work (share of the policy's time):" },
    {
      type: 'table',
      head: ['policy', ...kinds.map((k) => KIND_LABELS[k])],
      rows: d.policies.map((p) => [p, ...kinds.map((k) => cell(p, k))]),
      right: kinds.map((_, i) => i + 1),
    },
  ];
}

function latency(d: ReportData, ctx: DocumentContext): Block[] {
  return [
    { type: 'h2', text: 'Completion latency' },
    { type: 'chart', file: ctx.charts.latency.file, alt: ctx.charts.latency.alt },
    {
      type: 'table',
      head: ['policy', 'completion points', 'completed', 'never completed', 'min µs', 'p50 µs', 'p90 µs', 'p99 µs', 'max µs', 'mean µs'],
      rows: d.latency.map((l) => [
        l.policy,
        fmt(l.completion_points),
        fmt(l.completed),
        fmt(l.never_completed),
        us(l.min_us),
        us(l.p50_us),
        us(l.p90_us),
        us(l.p99_us),
        us(l.max_us),
        us(l.mean_us),
      ]),
      right: [1, 2, 3, 4, 5, 6, 7, 8, 9],
    },
    {
      type: 'p',
      text: 'Latency: modelled time from the doorbell that published a completion point (CMD_SYNC / wait descriptor) to its completion; percentiles are nearest-rank.',
    },
  ];
}

function violations(d: ReportData): Block[] {
  const out: Block[] = [{ type: 'h2', text: 'Violations' }];
  if (d.violations.length === 0) {
    out.push({
      type: 'p',
      text: 'None: under every policy, no translation an invalidation covered survived its completion point, and the guest saw what bare hardware shows.',
    });
    return out;
  }
  for (const policy of d.policies) {
    const groups = d.violations.filter((g) => g.policy === policy);
    if (groups.length === 0) continue;
    const total = groups.reduce((a, g) => a + g.violations, 0);
    out.push({ type: 'h3', text: `${policy}: ${plural(total, 'finding')}` });
    out.push({
      type: 'table',
      head: ['kind', 'op', 'findings', 'doorbells', 'seq', 'first finding'],
      rows: groups.map((g) => [
        g.kind,
        g.op ?? '(doorbell)',
        fmt(g.violations),
        fmt(g.doorbells),
        g.first_seq === g.last_seq ? String(g.first_seq) : `${g.first_seq}–${g.last_seq}`,
        g.example,
      ]),
      right: [2, 3],
    });
    for (const g of groups) {
      const ctx = d.contexts.filter((c) => c.policy === policy && c.kind === g.kind && c.violation_seq === g.first_seq);
      if (ctx.length === 0) continue;
      out.push({ type: 'p', text: `First \`${g.kind}\` finding, seq ${g.first_seq}, among the commands around it:` });
      out.push({ type: 'code', text: contextText(g, ctx) });
    }
  }
  return out;
}

/** The commands around a finding, one a line; the finding's own marked with an arrow. */
function contextText(g: ViolationGroup, rows: readonly ContextRow[]): string {
  const lines = ['     seq  slot  doorbell  op'];
  for (const c of rows) {
    const mark = c.offset === 0 ? '→' : ' ';
    lines.push(
      `${mark} ${String(c.seq).padStart(6)}  ${String(c.slot ?? '').padStart(4)}  ${String(c.doorbell_seq ?? '–').padStart(8)}  ${c.op}${c.offset === 0 ? `   ← ${g.kind}` : ''}`,
    );
  }
  return lines.join('\n');
}
