// The peer's analyzer set for `npm run bench -- sql`: native DuckDB with the bundled analyzer views
// over `trace` as a view straight on a Parquet export of the trace (read_parquet), the most direct
// way DuckDB answers them: the modules' tables are created as tables at once (as a Perfetto module's
// are when it is included). The base relations come from the same SQL a session uses; the running
// counts a session's loader computes (analyzers/sql-engine/derived-columns.ts) are DuckDB windows
// over the Parquet here, as plain DuckDB has no loader pass to compute them in.

import { derivedWindowSql } from '../analyzers/sql-engine/derived-columns.js';
import { literal } from '../analyzers/sql-engine/engine.js';
import { NativeEngine } from '../analyzers/sql-engine/native.js';
import { installModules, loadModules, materializeSql, planModules } from '../analyzers/modules.js';
import { baseRelationsSql, BASE_RELATIONS, tableNameOf } from '../analyzers/session.js';
import { openTrace } from '../formats/trace/io.js';

export async function peerSession(trace: string, parquet: string): Promise<NativeEngine> {
  const t = await openTrace(trace);
  const engine = await NativeEngine.start();
  const from = `read_parquet(${literal(parquet)})`;
  const rows = Number((await engine.query(`SELECT count(*) AS n FROM ${from}`)).get(0)!.n);
  const rel = { file: trace, table: tableNameOf(trace), rows, header: t.header, schema: t.schema };
  for (const st of baseRelationsSql(
    [rel],
    () => from,
    () => `(${derivedWindowSql(from, t.schema)})`,
  ))
    await engine.exec(st);
  await installModules(engine, new Set(BASE_RELATIONS), loadModules());
  for (const m of planModules(new Set(BASE_RELATIONS)).available)
    for (const o of m.objects) if (o.kind === 'table') await engine.exec(materializeSql(o));
  return engine;
}
