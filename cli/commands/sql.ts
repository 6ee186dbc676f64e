// `invtrace sql TRACE|DIR... [-e SQL] [-f FILE] [--json|--csv|--markdown] [-o OUT]`: SQL over
// traces and replay results (analyzers/session.ts says what is loaded). With -e/-f it runs the
// statements and prints their results (the last one goes to OUT with -o); without, a REPL.
// Bad SQL prints one line and exits 2 (the REPL goes on). Inputs resolve through cli/inputs.ts:
// captures and scenarios are ingested on the fly, a Parquet result dataset is read as its tables.

import { readFileSync, rmSync } from 'node:fs';
import { SqlError, type EngineChoice } from '../../analyzers/sql-engine/engine.js';
import type { EarlyEngine } from '../../analyzers/sql-engine/index.js';
import { formatOfPath } from '../../analyzers/export.js';
import { splitStatements } from '../../analyzers/modules.js';
import { InputFault } from '../../formats/result.js';
import { INPUTS, resolveInputs } from '../inputs.js';
import { EXIT_BAD_INPUT, out, UsageError } from '../run.js';
import { formatters, pickFormat } from '../sql/format.js';
import { exportQuery, runStatement, stripLeadingComments } from '../sql/statements.js';
import { writeErr } from '../stdio.js';

export interface SqlCliOptions {
  readonly execute?: string;
  readonly file?: string;
  readonly json?: boolean;
  readonly csv?: boolean;
  readonly markdown?: boolean;
  readonly output?: string;
  /** commander's --no-views */
  readonly views?: boolean;
  readonly engine?: EngineChoice;
  readonly maxRows?: string;
  readonly keepTrace?: string;
}

function statementsOf(opts: SqlCliOptions): string[] | undefined {
  if (opts.execute === undefined && opts.file === undefined) return undefined;
  let text = '';
  if (opts.file !== undefined) {
    try {
      text += readFileSync(opts.file, 'utf8');
    } catch (e) {
      throw new InputFault({
        file: opts.file,
        message: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message,
      });
    }
    if (!text.trimEnd().endsWith(';')) text += ';';
  }
  if (opts.execute !== undefined) text += `\n${opts.execute}`;
  return splitStatements(text)
    .map((s) => s.sql)
    .filter((s) => stripLeadingComments(s).replace(/;$/, '').trim() !== '');
}

/**
 * `early`: duckdb-wasm already starting (cli/program.ts starts it before this module loads when
 * it is surely the engine); this command owns it from here: the session takes it, or it is closed.
 */
export async function sqlCommand(inputs: string[], opts: SqlCliOptions, early?: EarlyEngine): Promise<number> {
  const pending = { early };
  try {
    return await sqlWith(inputs, opts, pending);
  } catch (e) {
    // Failed before a session took the engine (a usage error, a bad input): stop it at once.
    pending.early?.cancel();
    throw e;
  }
}

/** `pending.early` is cleared once a session has taken the engine (it closes it from then on). */
async function sqlWith(inputs: string[], opts: SqlCliOptions, pending: { early: EarlyEngine | undefined }): Promise<number> {
  const statements = statementsOf(opts);
  const format = pickFormat(opts);
  const maxRows = opts.maxRows === undefined ? undefined : Number(opts.maxRows);
  if (maxRows !== undefined && !(Number.isInteger(maxRows) && maxRows > 0))
    throw new UsageError(`--max-rows: expected a positive integer, got ${opts.maxRows}`);
  const target = opts.output;
  const targetFormat = target === undefined ? undefined : formatOfPath(target);
  if (target !== undefined && targetFormat === undefined)
    throw new UsageError(`cannot write "${target}": -o takes a .parquet or .csv file`);
  if (target !== undefined && statements === undefined) throw new UsageError('-o needs a query (-e or -f)');
  // Captures are ingested, a Parquet dataset is read into Arrow tables (cli/inputs.ts); the rest loads as given.
  const resolved = await resolveInputs(INPUTS.sql, inputs, opts.keepTrace ? { keepTrace: opts.keepTrace } : {});
  const extra: string[] = [];
  let session;
  try {
    const paths: string[] = [];
    for (const p of inputs) {
      const run = resolved.ingestedRuns.find((r) => r.from.includes(p));
      if (run !== undefined) {
        if (p === run.from[0]) paths.push(run.trace);
      } else if (resolved.datasets.includes(p)) {
        const { readDataset } = await import('../../analyzers/dataset/read.js');
        const d = await readDataset(p);
        extra.push(d.dir);
        paths.push(d.dir);
      } else paths.push(p);
    }
    const { openSession } = await import('../../analyzers/session.js');
    const early = pending.early;
    pending.early = undefined; // the session owns it now, and closes it if opening fails
    session = await openSession(paths, {
      views: opts.views !== false,
      ...(early ? { engine: early.engine } : opts.engine ? { engine: opts.engine } : {}),
      // A one-shot's statements are known: their views and columns are made ready in one pass.
      ...(statements ? { statements } : {}),
      onNote: (m) => writeErr(`invtrace: ${m}\n`),
    });
  } catch (e) {
    resolved.close();
    for (const d of extra) rmSync(d, { recursive: true, force: true });
    throw e;
  }
  try {
    if (statements === undefined) return await (await import('../sql/repl.js')).repl(session, { format, maxRows: maxRows ?? 200 });
    for (const [i, st] of statements.entries()) {
      try {
        if (target !== undefined && i === statements.length - 1) {
          const rows = await exportQuery(session, stripLeadingComments(st).replace(/;\s*$/, ''), target, targetFormat!);
          writeErr(`wrote ${rows} rows to ${target}\n`);
          continue;
        }
        const r = await runStatement(session, st);
        if (r.kind === 'rows') out(formatters[format](r.table, maxRows === undefined ? {} : { maxRows }));
        else if (r.kind === 'exported') writeErr(`wrote ${r.rows} rows to ${r.path}\n`);
      } catch (e) {
        if (!(e instanceof SqlError)) throw e;
        writeErr(`invtrace: ${statements.length > 1 ? `statement ${i + 1}: ` : ''}${e.message}\n`);
        return EXIT_BAD_INPUT;
      }
    }
    return 0;
  } finally {
    await session.close();
    resolved.close();
    for (const d of extra) rmSync(d, { recursive: true, force: true });
  }
}
