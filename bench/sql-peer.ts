// The peer of `npm run bench -- sql`: DuckDB itself (native, @duckdb/node-api) answering a query
// over a Parquet file, as a whole process, the way someone would without invtrace:
//   node dist/bench/sql-peer.js FILE.parquet "SELECT ... FROM trace ..."
// `trace` is a view over read_parquet(FILE). Prints the number of result rows.

const [file, sql] = process.argv.slice(2);
if (file === undefined || sql === undefined) {
  process.stderr.write('usage: sql-peer FILE.parquet SQL\n');
  process.exit(2);
}
interface Api {
  DuckDBInstance: {
    create(path: string): Promise<{
      connect(): Promise<{ run(s: string): Promise<unknown>; runAndReadAll(s: string): Promise<{ currentRowCount: number }> }>;
    }>;
  };
}
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- optional dependency: `as string` keeps tsc from resolving its types
const api = (await import('@duckdb/node-api' as string)) as Api;
const conn = await (await api.DuckDBInstance.create(':memory:')).connect();
await conn.run(`CREATE VIEW trace AS SELECT * FROM read_parquet('${file.replaceAll("'", "''")}')`);
const r = await conn.runAndReadAll(sql);
process.stdout.write(`${r.currentRowCount}\n`);
