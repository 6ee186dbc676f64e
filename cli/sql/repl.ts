// The `invtrace sql` REPL: statements end at `;` (several lines until then), history kept across
// sessions, dot-commands for what is loaded, Ctrl-C stops a running query. Errors print one line
// and the REPL goes on. Queries run in DuckDB's worker thread, so the prompt never freezes.

import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { literal, SqlError } from '../../analyzers/sql-engine/engine.js';
import { splitStatements } from '../../analyzers/modules.js';
import type { Session } from '../../analyzers/session.js';
import { formatters, RESULT_FORMATS, type ResultFormat } from './format.js';
import { runStatement } from './statements.js';
import { stdoutStream } from '../stdio.js';

const HISTORY_LINES = 1000;

/** Where the history lives: $INVTRACE_SQL_HISTORY, or ~/.invtrace/sql_history. */
export function historyFile(): string {
  return process.env.INVTRACE_SQL_HISTORY ?? join(homedir(), '.invtrace', 'sql_history');
}

function readHistory(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_LINES).reverse();
  } catch {
    return [];
  }
}

/** True when `text` holds a whole statement: it ends with `;` outside quotes and comments. */
export function statementComplete(text: string): boolean {
  const st = splitStatements(text);
  return st.length > 0 && st[st.length - 1]!.sql.endsWith(';');
}

const HELP = `Statements end with ";" and may span lines. Relations: trace (every trace, with a file
column), traces, devices, one table per loaded file, and the analyzer views.
  COPY (SELECT ...) TO 'out.parquet'     export a query or table to Parquet or CSV
  .tables                                tables and views with their row counts or comments
  .views                                 the analyzer views and what they show
  .schema NAME                           columns of a table or view, with types and comments
  .mode table|json|csv|markdown          how results print
  .help                                  this text
  .quit                                  leave (also Ctrl-D)
Ctrl-C stops a running query or clears a half-typed statement.`;

export interface ReplOptions {
  readonly format: ResultFormat;
  readonly maxRows: number;
  readonly input?: NodeJS.ReadableStream;
  readonly output?: NodeJS.WritableStream;
}

export async function repl(s: Session, opts: ReplOptions): Promise<number> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? stdoutStream();
  const write = (t: string) => void output.write(t.endsWith('\n') ? t : `${t}\n`);
  const hist = historyFile();
  // Any stream may be given: isTTY is missing on pipes and test streams, and `undefined` would let readline guess.
  const terminal = (output as { isTTY?: boolean }).isTTY === true && (input as { isTTY?: boolean }).isTTY === true;
  const rl = createInterface({ input, output, terminal, history: readHistory(hist), historySize: HISTORY_LINES, prompt: 'invtrace> ' });
  let format = opts.format;
  let buffer = '';
  let running = false;

  rl.on('SIGINT', () => {
    if (running) {
      void s.engine.cancel();
      return;
    }
    if (buffer !== '') write('(statement cleared)');
    else write('(.quit or Ctrl-D to leave)');
    buffer = '';
    rl.setPrompt('invtrace> ');
    rl.prompt();
  });

  const remember = (entry: string) => {
    try {
      mkdirSync(dirname(hist), { recursive: true });
      appendFileSync(hist, `${entry.replace(/\n/g, ' ')}\n`);
    } catch {
      // no history is no reason to stop
    }
  };

  const dot = async (line: string): Promise<boolean> => {
    const [cmd = '', ...args] = line.split(/\s+/);
    switch (cmd) {
      case '.quit':
      case '.exit':
        return false;
      case '.help':
        write(HELP);
        break;
      case '.mode':
        if (args[0] && (RESULT_FORMATS as readonly string[]).includes(args[0])) format = args[0] as ResultFormat;
        else write(`modes: ${RESULT_FORMATS.join(', ')} (now ${format})`);
        break;
      case '.tables': {
        await s.installAllViews();
        // A loaded file is a relation the session made (a view over its rows): listed as a table, with its rows.
        const files = s.files.map((f) => `(${literal(f.table)}, ${f.rows})`).join(', ');
        const fileNames = s.files.length > 0 ? `AND name NOT IN (SELECT name FROM f)` : '';
        const t = await s.query(
          `WITH f(name, n) AS (${s.files.length > 0 ? `VALUES ${files}` : 'SELECT NULL::VARCHAR, NULL::BIGINT WHERE false'}) ` +
            "SELECT name, 'table' AS kind, n::VARCHAR AS about FROM f " +
            "UNION ALL SELECT * FROM (SELECT table_name AS name, 'table' AS kind, estimated_size::VARCHAR AS about FROM duckdb_tables() WHERE NOT internal AND table_name NOT LIKE '\\_%' ESCAPE '\\') WHERE true " +
            fileNames +
            " UNION ALL SELECT * FROM (SELECT view_name AS name, 'view' AS kind, coalesce(comment, '') AS about FROM duckdb_views() WHERE NOT internal AND view_name NOT LIKE '\\_%' ESCAPE '\\') WHERE true " +
            fileNames +
            ' ORDER BY kind, name',
        );
        write(formatters[format](t, {}));
        break;
      }
      case '.views':
        await s.installAllViews();
        for (const v of s.views.installed) write(`module ${v}`);
        write(
          formatters[format](
            await s.query(
              "SELECT view_name AS view, comment FROM duckdb_views() WHERE NOT internal AND comment IS NOT NULL AND view_name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY view_name",
            ),
            {},
          ),
        );
        for (const k of s.views.skipped) write(`(module ${k.module} not loaded: no ${k.missing.join(', ')})`);
        break;
      case '.schema':
        if (!args[0]) write('usage: .schema NAME');
        else {
          write(
            formatters[format](
              await s.query(
                `SELECT column_name AS column, data_type AS type, coalesce(comment, '') AS comment FROM duckdb_columns() WHERE table_name = '${args[0].replaceAll("'", "''")}' ORDER BY column_index`,
              ),
              {},
            ),
          );
        }
        break;
      default:
        write(`unknown command ${cmd} (.help lists them)`);
    }
    return true;
  };

  const statement = async (sql: string) => {
    running = true;
    try {
      const r = await runStatement(s, sql);
      if (r.kind === 'rows') write(formatters[format](r.table, { maxRows: opts.maxRows }));
      else if (r.kind === 'exported') write(`wrote ${r.rows} rows to ${r.path}`);
    } finally {
      running = false;
    }
  };

  if (terminal) write(`invtrace sql: ${s.files.length} file(s), ${s.views.installed.length} analyzer modules. .help for help.`);
  rl.prompt();
  for await (const line of rl) {
    const trimmed = line.trim();
    if (buffer === '' && trimmed.startsWith('.')) {
      remember(trimmed);
      let go = true;
      try {
        go = await dot(trimmed);
      } catch (e) {
        if (!(e instanceof SqlError)) throw e;
        write(`error: ${e.message}`);
      }
      if (!go) break;
      rl.prompt();
      continue;
    }
    buffer = buffer === '' ? line : `${buffer}\n${line}`;
    if (buffer.trim() === '' || !statementComplete(buffer)) {
      if (buffer.trim() === '') buffer = '';
      rl.setPrompt(buffer === '' ? 'invtrace> ' : '     ...> ');
      rl.prompt();
      continue;
    }
    const text = buffer;
    buffer = '';
    remember(text);
    for (const st of splitStatements(text)) {
      try {
        await statement(st.sql);
      } catch (e) {
        if (!(e instanceof SqlError)) throw e;
        write(`error: ${e.message}`);
      }
    }
    rl.setPrompt('invtrace> ');
    rl.prompt();
  }
  rl.close();
  return 0;
}
