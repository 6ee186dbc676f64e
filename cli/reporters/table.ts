// The comparison as an aligned text table, with the first finding of each incorrect policy.

import type { ReplayOutput } from '../../replay/engine.js';
import { renderTable } from '../render/table.js';
import { COMPARE_COLUMNS } from './columns.js';

export function table(r: ReplayOutput): string {
  const rows = r.policies.map((p) => COMPARE_COLUMNS.map((c) => c.value(p)));
  const lines = [
    `${r.trace}: ${r.arch}, ${r.events} events, ${r.doorbells} doorbells; bare hardware completed ${r.reference.completions} completion points` +
      (r.reference.errors ? `, raised ${r.reference.errors} errors` : ''),
    `topology: ${r.topology.source}, ${r.topology.topology.devices.length} devices`,
    '',
    renderTable(COMPARE_COLUMNS.map((c) => c.header), rows, { rightAlign: COMPARE_COLUMNS.map((_, i) => i).filter((i) => i >= 2) }),
  ];
  // What a policy reports about itself: QEMU's path, migrate's per-side costs, shadow's walks ...
  const detailed = r.policies.filter((p) => p.detail !== undefined && Object.keys(p.detail).length > 0);
  if (detailed.length) lines.push('');
  for (const p of detailed) {
    lines.push(`${p.policy}: ${Object.entries(p.detail!).map(([k, v]) => `${k}=${typeof v === 'string' && v.includes(' ') ? JSON.stringify(v) : String(v)}`).join(' ')}`);
  }
  const bad = r.policies.filter((p) => !p.correct);
  if (bad.length) lines.push('');
  for (const p of bad) {
    const kinds = Object.entries(p.violations_by_kind).map(([k, n]) => `${k} ${n}`).join(', ');
    lines.push(`${p.policy}: ${kinds}`);
    const v = p.first_violations[0];
    if (v) lines.push(`  first: seq ${v.seq}: ${v.explanation}`);
  }
  return lines.join('\n');
}
