// The analyzer set of `npm run bench -- sql`, as one whole process: open a session on a trace and
// materialize every public trace view inside DuckDB (the time is the analysis, not moving rows out):
//   node dist/bench/sql-set.js TRACE wasm|native|peer [DIST] [PARQUET]
// DIST is the dist/ folder of the build to measure (default this one): the bench runs the build
// before a change with the same script, so both are timed the same way. `peer` is native DuckDB
// running the same views over `trace` as a view straight on PARQUET (bench/sql-peer-session.ts).
// Prints one JSON line: {"seconds", "views"}; CPU seconds come from bench/cpu-at-exit.ts.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceViews } from '../analyzers/modules.js';
import type { SqlEngine } from '../analyzers/sql-engine/engine.js';

const [trace, engine, dist = join(dirname(fileURLToPath(import.meta.url)), '..'), parquet] = process.argv.slice(2);
if (trace === undefined || (engine !== 'wasm' && engine !== 'native' && engine !== 'peer')) {
  process.stderr.write('usage: sql-set TRACE wasm|native|peer [DIST] [PARQUET]\n');
  process.exit(2);
}

const { loadModules } = (await import(join(dist, 'analyzers/modules.js'))) as typeof import('../analyzers/modules.js');
// The same views for every build measured (a build may lack traceViews).
const views = traceViews(loadModules());
const t0 = process.hrtime.bigint();
let s: Pick<SqlEngine, 'exec' | 'close'>;
if (engine === 'peer') {
  const { peerSession } = (await import(join(dist, 'bench/sql-peer-session.js'))) as typeof import('./sql-peer-session.js');
  s = await peerSession(trace, parquet!);
} else {
  const { openSession } = (await import(join(dist, 'analyzers/session.js'))) as typeof import('../analyzers/session.js');
  s = (await openSession([trace], { engine })).engine;
}
try {
  for (const v of views) await s.exec(`CREATE OR REPLACE TEMP TABLE "_bench_${v}" AS SELECT * FROM "${v}"`);
} finally {
  await s.close();
}
process.stdout.write(`${JSON.stringify({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, views: views.length })}\n`);
