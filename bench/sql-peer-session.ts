// The peer's analyzer set for `npm run bench -- sql`: native DuckDB with the bundled analyzer views
// over `trace` as a view straight on a Parquet export of the trace (read_parquet), the most direct
// way DuckDB answers them: the modules' tables are created as tables at once (as a Perfetto module's
// are when it is included). The base relations come from the same SQL a session uses.
// The running counts a session's loader adds to `_trace` (analyzers/sql-engine/derived-columns.ts)
// are in the peer's Parquet too: the bench writes it once from the export with DuckDB's own windows
// (`peerParquet`, not timed, as a session's Parquet copy is written once). Given an export without
// them, the peer computes them with those windows in every statement that reads `_trace`.

import { DERIVED_COLUMNS, derivedWindowSql, queueGeometry } from '../analyzers/sql-engine/derived-columns.js';
import { literal } from '../analyzers/sql-engine/engine.js';
import { NativeEngine } from '../analyzers/sql-engine/native.js';
import { installModules, loadModules, materializeSql, planModules } from '../analyzers/modules.js';
import { tableRows } from '../analyzers/rows.js';
import { baseRelationsSql, BASE_RELATIONS, tableNameOf } from '../analyzers/session.js';
import { openTrace } from '../formats/trace/io.js';

/** Whether a Parquet file holds the derived columns. */
async function holdsDerived(engine: NativeEngine, parquet: string): Promise<boolean> {
  const names = new Set(tableRows(await engine.query(`SELECT name FROM parquet_schema(${literal(parquet)})`)).map((r) => r.name as string));
  return DERIVED_COLUMNS.every((c) => names.has(c));
}

/** Writes `out`: the export `parquet` of `trace` with the derived columns, computed by DuckDB's windows. */
export async function peerParquet(trace: string, parquet: string, out: string): Promise<void> {
  const t = await openTrace(trace);
  const engine = await NativeEngine.start();
  try {
    await engine.exec(
      `COPY (${derivedWindowSql(`read_parquet(${literal(parquet)})`, t.schema, queueGeometry(t.header))} ORDER BY seq) TO ${literal(out)} (FORMAT parquet)`,
    );
  } finally {
    await engine.close();
  }
}

export async function peerSession(trace: string, parquet: string): Promise<NativeEngine> {
  const t = await openTrace(trace);
  const engine = await NativeEngine.start();
  const from = `read_parquet(${literal(parquet)})`;
  const rows = Number((await engine.query(`SELECT count(*) AS n FROM ${from}`)).get(0)!.n);
  const rel = { file: trace, table: tableNameOf(trace), rows, header: t.header, schema: t.schema };
  const withDerived = (await holdsDerived(engine, parquet)) ? from : `(${derivedWindowSql(from, t.schema, queueGeometry(t.header))})`;
  for (const st of baseRelationsSql(
    [rel],
    () => from,
    () => withDerived,
  ))
    await engine.exec(st);
  await installModules(engine, new Set(BASE_RELATIONS), loadModules());
  for (const m of planModules(new Set(BASE_RELATIONS)).available)
    for (const o of m.objects) if (o.kind === 'table') await engine.exec(materializeSql(o));
  return engine;
}
