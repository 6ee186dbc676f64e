// The SQL pane: the query line, what the engine is doing, and the result rows on screen (cells
// formatted only for them; `col` scrolls the columns).

import { Box } from 'ink';
import type { DataType, Table } from 'apache-arrow';
import { cellReader } from '../../analyzers/rows.js';
import { Blank, EditLine, fit, Line } from './Line.js';
import type { Cursor, LineEdit } from './state.js';
import { theme } from './theme.js';

export interface SqlResult {
  readonly sql: string;
  readonly table?: Table;
  /** Rows kept (a result is cut at a limit), and whether more were left. */
  readonly rows: number;
  readonly truncated: boolean;
  readonly ms: number;
  readonly message?: string;
}

export interface SqlView {
  /** What the engine is doing: starting (opening the session), ready, running a query. */
  readonly phase: 'idle' | 'starting' | 'ready' | 'running';
  readonly note?: string;
  readonly result?: SqlResult;
  readonly error?: string;
}

export interface SqlPaneProps {
  readonly edit: LineEdit;
  readonly focus: 'input' | 'rows';
  readonly sql: SqlView;
  readonly cursor: Cursor;
  readonly col: number;
  readonly height: number;
  readonly width: number;
}

/** A cell as text: NULL, numbers and bigints plainly, objects as JSON. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects were handled above; only a primitive is left
  return String(v);
}

function InputLine({ edit, focus, width }: { readonly edit: LineEdit; readonly focus: boolean; readonly width: number }) {
  if (focus) return <EditLine label="sql> " text={edit.text} cursor={edit.cursor} width={width} labelColor={theme.title} />;
  return <Line text={`sql> ${edit.text}`} width={width} color={theme.dim} />;
}

export function SqlPane({ edit, focus, sql, cursor, col, height, width }: SqlPaneProps) {
  const r = sql.result;
  let status: { text: string; color?: string | undefined };
  if (sql.error) status = { text: sql.error, color: theme.error };
  else if (sql.phase === 'starting')
    status = { text: `starting DuckDB and loading the tables${sql.note ? `: ${sql.note}` : ''}… (queries wait)`, color: theme.busy };
  else if (sql.phase === 'running') status = { text: 'running… (Esc stops it)', color: theme.busy };
  else if (r?.message) status = { text: r.message, color: theme.ok };
  else if (r)
    status = {
      text: `${r.rows.toLocaleString('en-US')} row${r.rows === 1 ? '' : 's'}${r.truncated ? ' (more not fetched)' : ''} in ${r.ms.toFixed(0)} ms${r.rows > 0 ? `; row ${cursor.index + 1}` : ''}`,
      color: theme.ok,
    };
  else
    status = {
      text: `Enter runs the query; tables: trace, traces, devices, the analyzer views${sql.note ? `; ${sql.note}` : ''}`,
      color: theme.dim,
    };

  const lines = [];
  let header = '';
  const t = r?.table;
  if (t && t.numCols > 0) {
    const names = t.schema.fields.map((f) => f.name);
    const from = Math.min(col, names.length - 1);
    const end = Math.min(t.numRows, cursor.top + height);
    const cols = names.slice(from).map((name, j) => {
      const v = t.getChildAt(from + j)!;
      const read = cellReader(t.schema.fields[from + j]!.type as DataType);
      const cells: string[] = [];
      for (let i = cursor.top; i < end; i++) cells.push(cellText(read(v.get(i))));
      return { name, cells, w: Math.min(40, Math.max(name.length, ...cells.map((c) => c.length))) };
    });
    const join = (f: (c: (typeof cols)[number]) => string) => ` ${cols.map((c) => fit(f(c), c.w)).join('  ')}`;
    header = `${from > 0 ? '◀' : ''}${join((c) => c.name)}`;
    for (let i = cursor.top; i < end; i++) {
      const sel = i === cursor.index && focus === 'rows';
      lines.push(
        <Line
          key={i}
          text={join((c) => c.cells[i - cursor.top]!)}
          width={width}
          color={sel ? theme.selectedFg : theme.text}
          bg={sel ? theme.selectedBg : undefined}
        />,
      );
    }
  }
  return (
    <Box flexDirection="column">
      <InputLine edit={edit} focus={focus === 'input'} width={width} />
      <Line text={` ${status.text}`} width={width} color={status.color} />
      <Line text={header} width={width} color={theme.header} />
      {lines}
      <Blank n={height - lines.length} width={width} />
    </Box>
  );
}
