// Proof that SQL answers do not change with how rows reach DuckDB: the sha256 of every trace
// view's rows (ORDER BY ALL, as JSON) on every bundled capture, ingested one per session.
//   node dist/bench/sql-hashes.js [--engine wasm|native] [--traces DIR] > hashes.json
// Run it with the code before and after a change (the script compiled beside each) and diff;
// --traces keeps the ingested traces in DIR (and reuses them), so both read the same traces.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModules } from '../analyzers/modules.js';
import { tableRows } from '../analyzers/rows.js';
import { openSession } from '../analyzers/session.js';
import { ingest } from '../formats/ingest/ingest.js';
import { packageRoot } from '../formats/paths.js';

const engine = process.argv.includes('--engine') ? (process.argv[process.argv.indexOf('--engine') + 1] as 'wasm' | 'native') : 'wasm';
const dir = mkdtempSync(join(tmpdir(), 'invtrace-sql-hashes-'));
const keep = process.argv.includes('--traces') ? process.argv[process.argv.indexOf('--traces') + 1]! : dir;
process.env.INVTRACE_CACHE_DIR = join(dir, 'cache');
const views = loadModules()
  .filter((m) => m.requires.every((r) => ['trace', 'traces', 'devices'].includes(r) || loadModules().some((x) => x.name === r)))
  .flatMap((m) => m.objects.filter((o) => o.kind === 'view' && !o.name.startsWith('_')).map((o) => o.name));
const out: Record<string, Record<string, string>> = {};
try {
  const captures = join(packageRoot(), 'samples/captures');
  for (const c of readdirSync(captures)
    .filter((f) => f.endsWith('.gz'))
    .sort()) {
    const trace = join(keep, c.replace(/\.(txt|log)\.gz$/, '.arrow'));
    if (!existsSync(trace)) await ingest([join(captures, c)], { output: trace });
    const s = await openSession([trace], { engine });
    try {
      out[c] = {};
      for (const v of views) {
        const rows = tableRows(
          await s.query(`SELECT * EXCLUDE (file) FROM ${v} ORDER BY ALL`).catch(() => s.query(`SELECT * FROM ${v} ORDER BY ALL`)),
        );
        out[c][v] = createHash('sha256')
          .update(JSON.stringify(rows, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)))
          .digest('hex');
      }
    } finally {
      await s.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
