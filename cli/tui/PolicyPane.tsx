// The policies pane: the side-by-side comparison (the columns of `compare`, cli/reporters/
// columns.ts; the policy column stays while h/l scroll the others) and the violations of the
// selected policy. While the background replay runs, its progress.

import { Box } from 'ink';
import { COMPARE_COLUMNS } from '../reporters/columns.js';
import { violationsOf, type PolicyResults } from './model/results.js';
import { Blank, Line } from './Line.js';
import type { Cursor } from './state.js';
import { theme } from './theme.js';

export interface ReplayProgress {
  readonly done: number;
  readonly total: number;
  readonly policies: number;
}

export interface PolicyPaneProps {
  readonly results?: PolicyResults | undefined;
  readonly progress?: ReplayProgress | undefined;
  readonly error?: string | undefined;
  readonly focus: 'table' | 'violations';
  readonly table: Cursor;
  readonly violations: Cursor;
  readonly col: number;
  readonly tableRows: number;
  readonly violationRows: number;
  readonly width: number;
}

/** Columns the table can scroll through (all but the policy name). */
export const POLICY_SCROLL_COLUMNS = COMPARE_COLUMNS.length - 1;

function bar(fraction: number, width: number): string {
  const n = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `${'█'.repeat(n)}${'░'.repeat(width - n)}`;
}

export function PolicyPane(p: PolicyPaneProps) {
  const { width } = p;
  const total = p.tableRows + p.violationRows + 3;
  if (!p.results) {
    const lines: { text: string; color?: string }[] = [];
    if (p.error) lines.push({ text: ` policy results: ${p.error}`, color: theme.error });
    else if (p.progress) {
      const f = p.progress.total > 0 ? p.progress.done / p.progress.total : 0;
      lines.push({
        text: ` replaying under ${p.progress.policies} policies in the background: ${p.progress.done.toLocaleString('en-US')} of ${p.progress.total.toLocaleString('en-US')} events (${Math.floor(f * 100)}%)`,
        color: theme.busy,
      });
      lines.push({ text: ` ${bar(f, Math.max(10, width - 4))}`, color: theme.busy });
      lines.push({ text: ' the commands, queue and SQL views work meanwhile', color: theme.dim });
    } else lines.push({ text: ' no policy results: open a replay folder (replay -o DIR), or run without --no-replay', color: theme.dim });
    return (
      <Box flexDirection="column">
        {lines.map((l, i) => (
          <Line key={i} text={l.text} width={width} color={l.color} />
        ))}
        <Blank n={total - lines.length} width={width} />
      </Box>
    );
  }
  const r = p.results;
  const pol = r.output.policies;
  const cols = COMPARE_COLUMNS.map((c) => ({ c, cells: pol.map((x) => String(c.value(x))) }));
  const widths = cols.map(({ c, cells }) => Math.max(c.header.length, ...cells.map((s) => s.length)));
  const shown = [0];
  let used = widths[0]!;
  for (let i = 1 + p.col; i < cols.length && used + 2 + widths[i]! <= width - 1; i++) {
    shown.push(i);
    used += 2 + widths[i]!;
  }
  const cell = (i: number, s: string) => (i <= 1 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!));
  const line = (texts: (i: number) => string) => ` ${shown.map((i) => cell(i, texts(i))).join('  ')}`;
  const more = `${p.col > 0 ? '◀ h ' : ''}${shown[shown.length - 1]! < cols.length - 1 ? 'l ▶' : ''}`;
  const tableLines = [];
  for (let i = p.table.top; i < Math.min(pol.length, p.table.top + p.tableRows); i++) {
    const sel = i === p.table.index;
    const bad = !pol[i]!.correct;
    tableLines.push(
      <Line
        key={i}
        text={line((c) => cols[c]!.cells[i]!)}
        width={width}
        color={sel && p.focus === 'table' ? theme.selectedFg : bad ? theme.violation : theme.ok}
        bg={sel ? (p.focus === 'table' ? theme.selectedBg : undefined) : undefined}
        bold={sel}
      />,
    );
  }
  const sel = pol[p.table.index];
  const vio = violationsOf(r, p.table.index);
  const kinds = sel
    ? Object.entries(sel.violations_by_kind)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')
    : '';
  const v = r.violations;
  const vLines = [];
  for (let i = p.violations.top; i < Math.min(vio.length, p.violations.top + p.violationRows); i++) {
    const k = vio[i]!;
    const selected = i === p.violations.index && p.focus === 'violations';
    vLines.push(
      <Line
        key={i}
        text={` seq ${String(v.seq[k]).padStart(7)}  ${v.kind[k]!.padEnd(20)} ${v.explanation[k]}`}
        width={width}
        color={selected ? theme.selectedFg : theme.violation}
        bg={selected ? theme.selectedBg : undefined}
      />,
    );
  }
  if (vio.length === 0)
    vLines.push(
      <Line key="none" text={sel ? ` ${sel.policy} is correct on this trace: no violation` : ''} width={width} color={theme.ok} />,
    );
  const source = r.from === 'folder' ? `from ${r.dir}` : 'background replay';
  return (
    <Box flexDirection="column">
      <Line
        text={`── policies (${source}): ${r.output.events.toLocaleString('en-US')} events, ${r.output.doorbells.toLocaleString('en-US')} doorbells; topology ${r.output.topology.source} ${more ? ` ${more} ` : ''}`.padEnd(
          width,
          '─',
        )}
        width={width}
        color={theme.header}
      />
      <Line text={line((c) => cols[c]!.c.header)} width={width} color={theme.header} />
      {tableLines}
      <Blank n={p.tableRows - tableLines.length} width={width} />
      <Line
        text={`── violations of ${sel?.policy ?? '-'}: ${vio.length.toLocaleString('en-US')}${kinds ? ` (${kinds})` : ''}; Tab: focus, Enter: show the command `.padEnd(
          width,
          '─',
        )}
        width={width}
        color={theme.header}
      />
      {vLines}
      <Blank n={p.violationRows - vLines.length} width={width} />
    </Box>
  );
}
