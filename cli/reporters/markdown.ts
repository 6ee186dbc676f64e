// The comparison as a Markdown table (for issues, mailing lists and reports).

import type { ReplayOutput } from '../../replay/replayer.js';
import { COMPARE_COLUMNS } from './columns.js';
import { guestFindings, leftOutLines } from './table.js';

export function markdown(r: ReplayOutput): string {
  const head = COMPARE_COLUMNS.map((c) => c.header);
  const align = COMPARE_COLUMNS.map((_, i) => (i >= 2 ? '---:' : '---'));
  const rows = r.policies.map((p) => COMPARE_COLUMNS.map((c) => String(c.value(p)).replace(/\|/g, '\\|')));
  return [
    `**${r.trace}** (${r.arch}, ${r.events} events, ${r.doorbells} doorbells)`,
    '',
    `| ${head.join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    ...leftOutLines(r),
    ...guestFindings(r),
  ].join('\n');
}
