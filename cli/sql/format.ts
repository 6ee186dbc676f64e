// How `invtrace sql` prints a result: one function per format (table for people; json, csv and
// markdown for scripts and documents), each from an Arrow table to text. Formatting only.

import { DataType, type Table } from 'apache-arrow';
import { csvHeader, csvLines } from '../../analyzers/export.js';
import { tableRows, type Cell } from '../../analyzers/rows.js';
import { toJson } from '../render/json.js';
import { renderTable } from '../render/table.js';

export const RESULT_FORMATS = ['table', 'json', 'csv', 'markdown'] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];

export interface FormatOptions {
  /** Table format: rows shown before "... N more rows" (default: all). */
  readonly maxRows?: number;
}

const isNumeric = (t: DataType) => DataType.isInt(t) || DataType.isFloat(t) || DataType.isDecimal(t);

function cellText(v: Cell): string {
  if (v === null) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

function table(t: Table, opts: FormatOptions): string {
  const names = t.schema.fields.map((f) => f.name);
  const all = tableRows(t);
  const shown = opts.maxRows !== undefined && all.length > opts.maxRows ? all.slice(0, opts.maxRows) : all;
  const right = t.schema.fields.flatMap((f, i) => (isNumeric(f.type as DataType) ? [i] : []));
  const body = renderTable(
    names,
    shown.map((r) => names.map((n) => cellText(r[n]!))),
    { rightAlign: right },
  );
  const more = all.length - shown.length;
  return `${body}\n(${all.length} row${all.length === 1 ? '' : 's'}${more > 0 ? `, ${more} not shown` : ''})`;
}

function json(t: Table): string {
  return toJson(tableRows(t));
}

function csv(t: Table): string {
  const lines = [csvHeader(t.schema)];
  for (const b of t.batches) for (const l of csvLines(b)) lines.push(l);
  return lines.join('\n');
}

function markdown(t: Table): string {
  const names = t.schema.fields.map((f) => f.name);
  const esc = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const lines = [
    `| ${names.map(esc).join(' | ')} |`,
    `| ${t.schema.fields.map((f) => (isNumeric(f.type as DataType) ? '---:' : '---')).join(' | ')} |`,
  ];
  for (const r of tableRows(t)) lines.push(`| ${names.map((n) => esc(cellText(r[n]!))).join(' | ')} |`);
  return lines.join('\n');
}

export const formatters: Readonly<Record<ResultFormat, (t: Table, opts: FormatOptions) => string>> = Object.freeze({
  table,
  json,
  csv,
  markdown,
});

/** The format a command's flags ask for (--json, --csv, --markdown; default table). */
export function pickFormat(opts: Partial<Record<ResultFormat, boolean>>): ResultFormat {
  return RESULT_FORMATS.find((f) => f !== 'table' && opts[f]) ?? 'table';
}
