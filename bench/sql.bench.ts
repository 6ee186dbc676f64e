// SQL session speed (`npm run bench -- sql`): loading a 5M-command trace into duckdb-wasm (and the
// optional native DuckDB when installed), running the standard analyzer set on it, and the start-up
// of a one-shot `invtrace sql -e` on a small trace. The big trace comes from the workload generator (samples/gen, `invtrace gen smmuv3`: the
// Linux arm-smmu-v3 driver's command mix), written to a temporary folder and removed afterwards.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ident, startEngine, type EngineKind } from '../analyzers/engine/engine.js';
import { installModules, loadModules } from '../analyzers/modules.js';
import { openSession } from '../analyzers/session.js';
import { ingest } from '../formats/ingest/ingest.js';
import { packageRoot } from '../formats/paths.js';
import { generate, plan } from '../samples/gen/generate.js';
import { peakRssMiB, timeIt, type Bench, type Measurement } from './harness.js';

const COMMANDS = Number(process.env.INVTRACE_BENCH_SQL_COMMANDS ?? 5_000_000);
const WORKLOAD = process.env.INVTRACE_BENCH_SQL_WORKLOAD ?? 'smmuv3';

async function synthesize(path: string, n: number) {
  const p = plan(WORKLOAD, { commands: String(n) });
  if (!p.ok) throw new Error(p.error.message);
  return generate(p.value, path);
}

/**
 * The analyzer views a report would run on a trace: every public view of the bundled modules that
 * installed (those over replay result tables are skipped without them).
 */
const publicViews = (installed: readonly string[]) =>
  loadModules().filter((m) => installed.includes(m.name)).flatMap((m) => m.objects.filter((o) => o.kind === 'view' && !o.name.startsWith('_')).map((o) => o.name));

function cliSeconds(args: string[], reps = 3): number {
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [join(packageRoot(), 'dist/cli/main.js'), ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`invtrace ${args.join(' ')}: ${r.stderr}`);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

/** Start, load, views and the analyzer set on one engine; the per-view times only with `detail`. */
async function measureEngine(kind: EngineKind, big: string, detail: boolean): Promise<Measurement[]> {
  const out: Measurement[] = [];
  const start = await timeIt(() => startEngine(kind));
  const engine = start.value;
  out.push({ name: `${kind}: start`, value: start.seconds, unit: 's' });
  const load = await timeIt(() => openSession([big], { engine, views: false }));
  const session = load.value;
  const rows = session.files[0]!.rows;
  out.push({ name: `${kind}: load trace (Arrow file -> IPC stream segments -> table)`, value: load.seconds, unit: 's', note: `${rows.toLocaleString('en-US')} rows, ${(rows / load.seconds / 1e6).toFixed(2)} M rows/s` });
  const views = await timeIt(() => installModules(engine, new Set(['trace', 'traces', 'devices'])));
  out.push({ name: `${kind}: install analyzer views (CREATE VIEW + COMMENT ON)`, value: views.seconds, unit: 's' });
  let total = 0;
  for (const v of publicViews(views.value.installed)) {
    // Materialized inside DuckDB, so the time is the analysis, not the transfer of its rows.
    const t = await timeIt(() => engine.exec(`CREATE OR REPLACE TEMP TABLE ${ident(`_bench_${v}`)} AS SELECT * FROM ${ident(v)}`));
    const n = Number((await engine.query(`SELECT count(*) AS n FROM ${ident(`_bench_${v}`)}`)).get(0)!.n);
    await engine.exec(`DROP TABLE ${ident(`_bench_${v}`)}`);
    total += t.seconds;
    if (detail) out.push({ name: `${kind}:   view ${v}`, value: t.seconds, unit: 's', note: `${n.toLocaleString('en-US')} rows` });
  }
  out.push({ name: `${kind}: standard analyzer set (every public trace view)`, value: total, unit: 's', note: `modules: ${views.value.installed.join(', ')}` });
  const mem = await engine.query('SELECT sum(memory_usage_bytes) AS b FROM duckdb_memory()');
  out.push({ name: `${kind}: DuckDB memory in use after the analyses`, value: Number(mem.get(0)!.b) / 2 ** 20, unit: 'MiB' });
  await session.close();
  return out;
}

export const benches: readonly Bench[] = [
  {
    name: 'sql',
    async run() {
      const dir = mkdtempSync(join(tmpdir(), 'invtrace-bench-sql-'));
      const out: Measurement[] = [];
      try {
        const big = join(dir, 'big.arrow');
        const gen = await timeIt(() => synthesize(big, COMMANDS));
        const g = gen.value;
        out.push({ name: `gen ${WORKLOAD} ${COMMANDS.toLocaleString('en-US')} commands`, value: gen.seconds, unit: 's', note: `${g.commands.toLocaleString('en-US')} commands, ${g.doorbells.toLocaleString('en-US')} doorbells, ${(statSync(big).size / 2 ** 20).toFixed(0)} MiB file` });
        out.push(...(await measureEngine('wasm', big, true)));
        out.push({ name: 'peak RSS of this process (wasm)', value: peakRssMiB(), unit: 'MiB' });
        const native = await import('@duckdb/node-api' as string).then(() => true, () => false);
        if (native) out.push(...(await measureEngine('native', big, false)));

        const small = join(dir, 'small.arrow');
        await ingest([join(packageRoot(), 'analyzers/testdata/smmuv3-views.jsonl')], { output: small });
        const oneShot = ['sql', small, '-e', 'SELECT count(*) FROM trace'];
        out.push({ name: 'one-shot `sql small.arrow -e` (best of 3)', value: cliSeconds(oneShot), unit: 's' });
        out.push({ name: 'one-shot `sql --no-views small.arrow -e` (best of 3)', value: cliSeconds(['sql', '--no-views', ...oneShot.slice(1)]), unit: 's' });
        if (native) out.push({ name: 'one-shot `sql --engine native small.arrow -e` (best of 3)', value: cliSeconds(['sql', '--engine', 'native', ...oneShot.slice(1)]), unit: 's' });
        out.push({ name: '`invtrace --help` (best of 3)', value: cliSeconds(['--help']), unit: 's' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return out;
    },
  },
];
