// Runs one statement of `invtrace sql` (one-shot or REPL): `COPY ... TO 'file'` exports through
// analyzers/export.ts, anything else goes to the session's engine.

import type { Table } from 'apache-arrow';
import { SqlError } from '../../analyzers/sql-engine/engine.js';
import { parseCopy, writeBatches, type ExportFormat } from '../../analyzers/export.js';
import type { Session } from '../../analyzers/session.js';

export type Outcome =
  | { readonly kind: 'rows'; readonly table: Table }
  | { readonly kind: 'exported'; readonly path: string; readonly rows: number }
  | { readonly kind: 'done' };

/** Leading comment lines of a statement (splitStatements keeps the doc comment with it). */
export const stripLeadingComments = (sql: string): string => sql.replace(/^(\s*--[^\n]*(\n|$))+/, '').trim();

/** Exports the rows of `query` to `path`, batch by batch. */
export async function exportQuery(s: Session, query: string, path: string, format: ExportFormat): Promise<number> {
  return writeBatches(path, format, s.engine.queryBatches(query), async () => (await s.query(`SELECT * FROM (${query}) LIMIT 0`)).schema);
}

export async function runStatement(s: Session, statement: string): Promise<Outcome> {
  const sql = stripLeadingComments(statement);
  if (sql === '' || sql === ';') return { kind: 'done' };
  const copy = parseCopy(sql);
  if (typeof copy === 'string') throw new SqlError(copy);
  if (copy !== undefined) return { kind: 'exported', path: copy.path, rows: await exportQuery(s, copy.query, copy.path, copy.format) };
  const table = await s.query(sql);
  // DuckDB answers DDL (CREATE, DROP, COMMENT ...) with an empty "Count" column: nothing to show.
  const ddl = table.numRows === 0 && table.schema.fields.length === 1 && table.schema.fields[0]!.name === 'Count';
  return table.schema.fields.length > 0 && !ddl ? { kind: 'rows', table } : { kind: 'done' };
}
