// The floor of a duckdb-wasm one-shot, for `npm run bench -- sql`: the stock @duckdb/duckdb-wasm
// (its synchronous Node bindings: no worker, no invtrace code) started in a fresh process, answering
// one constant query, as a whole process:
//   node dist/bench/sql-wasm-floor.js
// No program built on duckdb-wasm answers a one-shot faster than this on the same machine; it is
// measured beside `sql -e` and the native peer in the same run. Prints the answer (42).
//   node dist/bench/sql-wasm-floor.js --engine
// does the same through invtrace's WasmEngine (its worker, with wasm-link.ts's rewrites), and no
// more: what the engine costs before any trace or view is involved.

import { createRequire } from 'node:module';

interface Blocking {
  createDuckDB(
    bundles: Record<string, { mainModule: string; mainWorker: string }>,
    logger: unknown,
    runtime: unknown,
  ): Promise<{
    instantiate(): Promise<unknown>;
    open(config: object): void;
    connect(): { query(sql: string): { getChildAt(i: number): { get(i: number): unknown } | null } };
  }>;
  VoidLogger: new () => unknown;
  NODE_RUNTIME: unknown;
}

if (process.argv.includes('--engine')) {
  const { WasmEngine } = await import('../analyzers/sql-engine/wasm.js');
  const e = await WasmEngine.start();
  process.stdout.write(`${String((await e.query('SELECT 42 AS x')).get(0)!.x)}\n`);
  await e.close();
  process.exit(0);
}

const require = createRequire(import.meta.url);
const d = require('@duckdb/duckdb-wasm/dist/duckdb-node-blocking.cjs') as Blocking;
const db = await d.createDuckDB(
  { eh: { mainModule: require.resolve('@duckdb/duckdb-wasm/dist/duckdb-eh.wasm'), mainWorker: '' } },
  new d.VoidLogger(),
  d.NODE_RUNTIME,
);
await db.instantiate();
db.open({});
const answer = db.connect().query('SELECT 42 AS x').getChildAt(0)?.get(0);
process.stdout.write(`${String(answer)}\n`);
