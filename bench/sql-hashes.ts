// Proof that SQL answers do not change with how rows reach DuckDB or how the views compute them:
// the sha256 of every public trace view's rows (ORDER BY ALL, as JSON) on every bundled capture,
// ingested one per session, and on any traces given (a generated trace, several traces joined
// with `+` for one session of them all: where ties, row order and per-trace keys go wrong).
//   node dist/bench/sql-hashes.js [--engine wasm|native] [--traces DIR] [TRACE[+TRACE...] ...] > hashes.json
// Run it with the code before and after a change (the script compiled beside each) and diff;
// --traces keeps the ingested traces in DIR (and reuses them), so both read the same traces.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModules, traceViews } from '../analyzers/modules.js';
import { tableRows } from '../analyzers/rows.js';
import { openSession } from '../analyzers/session.js';
import { ingest } from '../formats/ingest/ingest.js';
import { packageRoot } from '../formats/paths.js';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const engine = (option('--engine') ?? 'wasm') as 'wasm' | 'native';
const sets = args.filter((a, i) => !a.startsWith('--') && !['--engine', '--traces'].includes(args[i - 1] ?? ''));
const dir = mkdtempSync(join(tmpdir(), 'invtrace-sql-hashes-'));
const keep = option('--traces') ?? dir;
process.env.INVTRACE_CACHE_DIR = join(dir, 'cache');
const views = traceViews(loadModules());
const out: Record<string, Record<string, string>> = {};

/** The hashes of every view over one session of `traces`, under `key`. */
async function hashSession(key: string, traces: readonly string[], file: boolean): Promise<void> {
  const s = await openSession(traces, { engine });
  try {
    out[key] = {};
    for (const v of views) {
      // One trace per session: the file column (a temporary path) is left out.
      const rows = tableRows(
        file
          ? await s.query(`SELECT * FROM ${v} ORDER BY ALL`)
          : await s.query(`SELECT * EXCLUDE (file) FROM ${v} ORDER BY ALL`).catch(() => s.query(`SELECT * FROM ${v} ORDER BY ALL`)),
      );
      out[key][v] = createHash('sha256')
        .update(JSON.stringify(rows, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)))
        .digest('hex');
    }
  } finally {
    await s.close();
  }
}

try {
  const captures = join(packageRoot(), 'samples/captures');
  for (const c of readdirSync(captures)
    .filter((f) => f.endsWith('.gz'))
    .sort()) {
    const trace = join(keep, c.replace(/\.(txt|log)\.gz$/, '.arrow'));
    if (!existsSync(trace)) await ingest([join(captures, c)], { output: trace });
    await hashSession(c, [trace], false);
  }
  for (const set of sets) await hashSession(set, set.split('+'), true);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
