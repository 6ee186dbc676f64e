// The CI outcome as text: a table with one row per metric that moved past its limit (regressions
// first, then improvements), the new and left-out entries, and a one-line verdict.

import { limitText, pct, type Comparison } from '../../analyzers/ci/compare.js';
import { renderTable } from '../render/table.js';

export interface CiSummary {
  readonly suite: string;
  readonly baseline: string;
  readonly traces: number;
  readonly seconds: number;
  readonly updated: boolean;
}

const cell = (v: number | boolean | string) =>
  typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 3 }) : String(v);

export function ciText(cmp: Comparison, s: CiSummary): string {
  const lines = [
    `invtrace ci ${s.suite}: ${s.traces} traces, ${cmp.outcomes.length} trace × policy results in ${s.seconds.toFixed(1)} s, against ${s.baseline}`,
    '',
  ];
  const rows: string[][] = [];
  for (const verdict of ['regression', 'improvement'] as const) {
    for (const o of cmp.outcomes) {
      for (const c of o.changes.filter((x) => x.verdict === verdict)) {
        const name = o.spec !== o.policy ? `${o.policy} (ran ${o.spec})` : o.policy;
        rows.push([
          verdict.toUpperCase(),
          o.trace,
          name,
          c.metric,
          cell(c.baseline),
          cell(c.current),
          c.relative === null ? '' : pct(c.relative),
          c.limit === null ? '' : limitText(c.limit),
        ]);
      }
    }
  }
  if (rows.length > 0) {
    lines.push(
      renderTable(['status', 'trace', 'policy', 'metric', 'baseline', 'now', 'change', 'limit'], rows, { rightAlign: [4, 5, 6, 7] }),
    );
    const notes = cmp.outcomes.flatMap((o) =>
      o.changes
        .filter((c) => c.metric === 'events' || c.metric === 'correct' || c.metric === 'violations')
        .map((c) => `  ${o.trace} × ${o.policy}: ${c.text}`),
    );
    if (notes.length) lines.push('', ...notes);
    lines.push('');
  } else {
    lines.push('no metric moved past its limit', '');
  }
  const fresh = cmp.outcomes.filter((o) => o.status === 'new');
  if (fresh.length) {
    // Per trace: its new policies, or "every policy" when the trace itself is new.
    const byTrace = new Map<string, string[]>();
    for (const o of fresh) byTrace.set(o.trace, [...(byTrace.get(o.trace) ?? []), o.policy]);
    const all = (t: string) => cmp.outcomes.filter((o) => o.trace === t).length;
    lines.push(
      `new (no baseline entry): ${[...byTrace].map(([t, ps]) => (ps.length === all(t) ? `${t} (every policy)` : `${t} × ${ps.join(', ')}`)).join('; ')}`,
      '',
    );
  }
  if (cmp.missing.length) {
    const traces = cmp.missing.filter((m) => m.policy === undefined).map((m) => m.trace);
    const policies = cmp.missing.filter((m) => m.policy !== undefined);
    const parts = [
      ...(traces.length ? [`${traces.length} trace${traces.length === 1 ? '' : 's'} (${traces.join(', ')})`] : []),
      ...(policies.length ? [`${policies.length} polic${policies.length === 1 ? 'y' : 'ies'} of the traces run`] : []),
    ];
    lines.push(`in the baseline, not run: ${parts.join('; ')}`, '');
  }
  for (const l of cmp.leftOut) lines.push(`left out: ${l.trace} × ${l.policy}: ${l.why}`);
  if (cmp.leftOut.length) lines.push('');
  const c = cmp.counts;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  lines.push(
    `result: ${plural(c.regression, 'regression')}, ${plural(c.improvement, 'improvement')}, ${c.ok} unchanged, ${c.new} new` +
      (s.updated ? `; baseline rewritten: ${s.baseline}` : c.regression > 0 ? ' (exit 1)' : ''),
  );
  return lines.join('\n');
}
