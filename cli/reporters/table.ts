// The comparison as an aligned text table, with the first finding of each incorrect policy.

import type { ReplayOutput } from '../../replay/replayer.js';
import { renderTable } from '../render/table.js';
import { COMPARE_COLUMNS } from './columns.js';

export function table(r: ReplayOutput): string {
  const rows = r.policies.map((p) => COMPARE_COLUMNS.map((c) => c.value(p)));
  const lines = [
    `${r.trace}: ${r.arch}, ${r.events} events, ${r.doorbells} doorbells; bare hardware completed ${r.reference.completions} completion points` +
      (r.reference.errors ? `, raised ${r.reference.errors} errors` : ''),
    `topology: ${r.topology.source}, ${r.topology.topology.devices.length} devices`,
    '',
    renderTable(
      COMPARE_COLUMNS.map((c) => c.header),
      rows,
      { rightAlign: COMPARE_COLUMNS.map((_, i) => i).filter((i) => i >= 2) },
    ),
  ];
  // What a policy reports about itself: QEMU's path, migrate's per-side costs, shadow's walks ...
  const detailed = r.policies.filter((p) => p.detail !== undefined && Object.keys(p.detail).length > 0);
  if (detailed.length) lines.push('');
  for (const p of detailed) {
    lines.push(
      `${p.policy}: ${Object.entries(p.detail!)
        .map(([k, v]) => `${k}=${(typeof v === 'string' && v.includes(' ')) || typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join(' ')}`,
    );
  }
  const bad = r.policies.filter((p) => !p.correct);
  if (bad.length) lines.push('');
  for (const p of bad) {
    const kinds = Object.entries(p.violations_by_kind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    lines.push(`${p.policy}: ${kinds}`);
    const v = p.first_violations[0];
    if (v) lines.push(`  first: seq ${v.seq}: ${v.explanation}`);
  }
  lines.push(...leftOutLines(r));
  lines.push(...guestFindings(r));
  return lines.join('\n');
}

/** One line per policy left out of the comparison (docs/hosts.md), after a blank line. */
export function leftOutLines(r: ReplayOutput): string[] {
  const l = r.left_out ?? [];
  return l.length === 0 ? [] : ['', ...l.map((x) => `left out: ${x.policy}: ${x.why}`)];
}

/** What bare hardware shows too (docs/oracle.md): the guest's own doing, never a policy's. */
export function guestFindings(r: ReplayOutput): string[] {
  const kinds = Object.entries((r as Partial<typeof r>).guest_findings_by_kind ?? {}); // absent in a replay.json written before them
  if (kinds.length === 0) return [];
  const out = [
    '',
    `guest findings (bare hardware shows them too; not counted against any policy): ${kinds.map(([k, n]) => `${k} ${n}`).join(', ')}`,
  ];
  const shown = new Set<string>();
  for (const f of (r as Partial<typeof r>).guest_findings ?? []) {
    if (shown.has(f.kind)) continue; // the first of each kind
    shown.add(f.kind);
    out.push(`  ${f.kind}: seq ${f.seq}: ${f.explanation}`);
  }
  return out;
}
