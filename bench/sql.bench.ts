// SQL speed (`npm run bench -- sql`), each figure beside its peer measured in the same run:
// DuckDB itself (native, @duckdb/node-api) over the same data exported to Parquet, the way someone
// would answer the question without invtrace (bench/sql-peer.ts). Traces come from the workload
// generator (`invtrace gen smmuv3 --seed 1`: the Linux arm-smmu-v3 driver's command mix) and the
// small one from a bundled capture; all are written to a temporary folder, removed afterwards.
//
//   - group-by: `SELECT op, count(*), count(DISTINCT slot) FROM trace WHERE kind='cmd' GROUP BY op`
//     over 1M commands, whole processes (`invtrace sql g.arrow -e ...` vs the peer), median of 5;
//   - analyzer set: open a session on 5M commands and run every public trace view (bench/sql-set.ts),
//     whole processes: the peer (the same views over the Parquet export, with the running counts a
//     session's loader adds computed once by DuckDB: bench/sql-peer-session.ts), native, duckdb-wasm;
//   - one-shot: `invtrace sql small.arrow -e "SELECT count(*) FROM trace"`, median of 5, beside
//     the floor of any duckdb-wasm program (bench/sql-wasm-floor.ts: the stock bindings answering
//     SELECT 42 in a fresh process) and invtrace's WasmEngine doing the same.
// $INVTRACE_BENCH_SQL_BASELINE=OTHER/dist/cli/main.js adds another build's `sql` to the same runs
// (before/after a change, same peer, same load). Each whole-process figure also gives its CPU
// seconds (user + system, all threads; bench/cpu-at-exit.ts), less sensitive to a shared machine.
// The Parquet cache the sessions keep (analyzers/sql-engine/parquet-cache.ts) lives in the temporary
// folder too; the first whole-process run on a trace fills it and is reported on its own line.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeBatches } from '../analyzers/export.js';
import { ingest } from '../formats/ingest/ingest.js';
import { cliScript, packageRoot } from '../formats/paths.js';
import { openTrace } from '../formats/trace/io.js';
import { generate, plan } from '../samples/gen/generate.js';
import { median, type Bench, type Measurement } from './harness.js';

const SMALL_CAPTURE = 'samples/captures/guest-vtd-legacy-lazy.txt.gz';
const GROUP_BY = "SELECT op, count(*), count(DISTINCT slot) FROM trace WHERE kind='cmd' GROUP BY op";
const BIG = Number(process.env.INVTRACE_BENCH_SQL_COMMANDS ?? 5_000_000);
const MID = Math.min(BIG, 1_000_000);
const REPS = Number(process.env.INVTRACE_BENCH_SQL_REPS ?? 5);
/** Parts to run (default all): group-by, set (analyzer set), one-shot; e.g. INVTRACE_BENCH_SQL_PARTS=set,one-shot. */
const PARTS = new Set((process.env.INVTRACE_BENCH_SQL_PARTS ?? 'group-by,set,one-shot').split(','));

async function synthesize(path: string, n: number): Promise<void> {
  const p = plan('smmuv3', { commands: String(n), seed: '1' });
  if (!p.ok) throw new Error(p.error.message);
  await generate(p.value, path);
}

/** The trace as Parquet for the peer (what `invtrace export -o X.parquet` writes). */
async function toParquet(trace: string, out: string): Promise<void> {
  const t = await openTrace(trace);
  await writeBatches(out, 'parquet', t.batches(), async () => t.schema);
}

/** Wall and CPU (user + system, every thread) seconds of one whole process. */
interface ProcessTime {
  readonly wall: number;
  readonly cpu: number;
}

/**
 * The baseline build keeps its Parquet copies in a cache folder of its own: two builds whose copies
 * differ (parquet-cache.ts FORMAT) would otherwise replace each other's copy of the same trace on
 * every run, and each native figure would include writing it.
 */
const baselineEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...env, INVTRACE_CACHE_DIR: `${env.INVTRACE_CACHE_DIR!}-baseline` });

function processTime(args: string[], env: NodeJS.ProcessEnv): ProcessTime {
  if (BASELINE !== undefined && args[0] === BASELINE) env = baselineEnv(env);
  const cpuFile = join(env.INVTRACE_CACHE_DIR!, '..', 'cpu.txt');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', join(packageRoot(), 'dist/bench/cpu-at-exit.js'), ...args], {
    encoding: 'utf8',
    env: { ...env, INVTRACE_BENCH_CPU_FILE: cpuFile },
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return { wall, cpu: Number(readFileSync(cpuFile, 'utf8')) };
}

const processSeconds = (args: string[], env: NodeJS.ProcessEnv): number => processTime(args, env).wall;

/** Median wall and CPU times of `reps` runs of each command, interleaved (the machine's load hits them alike). */
function interleavedTimes(cmds: readonly string[][], env: NodeJS.ProcessEnv, reps = REPS): ProcessTime[] {
  const times: ProcessTime[][] = cmds.map(() => []);
  for (let r = 0; r < reps; r++) cmds.forEach((c, i) => times[i]!.push(processTime(c, env)));
  return times.map((ts) => ({ wall: median(ts.map((t) => t.wall)), cpu: median(ts.map((t) => t.cpu)) }));
}

/** Median wall time of `reps` runs of each command, interleaved. */
const interleaved = (cmds: readonly string[][], env: NodeJS.ProcessEnv, reps = REPS): number[] =>
  interleavedTimes(cmds, env, reps).map((t) => t.wall);

/** "CPU 1.23 s, 2.5x the peer's". */
const cpuNote = (t: ProcessTime, peerT: ProcessTime) => `CPU ${t.cpu.toFixed(2)} s, ${(t.cpu / peerT.cpu).toFixed(2)}x the peer's`;

/** This build's CLI as users run it (the package's bin). */
const cli = (...args: string[]) => [cliScript(), ...args];
/**
 * $INVTRACE_BENCH_SQL_BASELINE: another build's dist/cli/main.js (the code before a change), measured
 * in the same interleaved runs as this one, so before and after share the peer and the load.
 */
const BASELINE = process.env.INVTRACE_BENCH_SQL_BASELINE;
const baseline = (...args: string[]) => [BASELINE!, ...args];
const peer = (parquet: string, sql: string) => [join(packageRoot(), 'dist/bench/sql-peer.js'), parquet, sql];

/** One analyzer set (bench/sql-set.ts) as a whole process: wall and CPU seconds. */
function setTime(trace: string, engine: 'wasm' | 'native' | 'peer', env: NodeJS.ProcessEnv, dist?: string, parquet?: string): ProcessTime {
  return processTime(
    [
      join(packageRoot(), 'dist/bench/sql-set.js'),
      trace,
      engine,
      ...(dist ? [dist] : parquet ? [join(packageRoot(), 'dist')] : []),
      ...(parquet ? [parquet] : []),
    ],
    env,
  );
}

const ratio = (x: number, peerSeconds: number) => `${(x / peerSeconds).toFixed(2)}x the peer`;

/** The $INVTRACE_BENCH_SQL_BASELINE build's rows of a part (none when it was not measured). */
function baselineRows(part: string, peer: ProcessTime, wasm: ProcessTime | undefined, native: ProcessTime | undefined): Measurement[] {
  const rows: Measurement[] = [];
  for (const [what, t] of [
    ['duckdb-wasm', wasm],
    ['--engine native', native],
  ] as const)
    if (t)
      rows.push({
        name: `${part}: baseline build, ${what}`,
        value: t.wall,
        unit: 's',
        note: `${ratio(t.wall, peer.wall)}; ${cpuNote(t, peer)}`,
      });
  return rows;
}

export const benches: readonly Bench[] = [
  {
    name: 'sql',
    async run() {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- optional dependency: `as string` keeps tsc from resolving its types
      const native = await import('@duckdb/node-api' as string).then(
        () => true,
        () => false,
      );
      if (!native) return [{ name: 'skipped: the peer (and --engine native) need the optional @duckdb/node-api', value: 0, unit: '' }];
      const dir = mkdtempSync(join(tmpdir(), 'invtrace-bench-sql-'));
      const env = { ...process.env, INVTRACE_CACHE_DIR: join(dir, 'cache') };
      process.env.INVTRACE_CACHE_DIR = env.INVTRACE_CACHE_DIR;
      const out: Measurement[] = [];
      const push = out.push.bind(out);
      out.push = (...ms: Measurement[]) => {
        for (const m of ms) process.stderr.write(`sql (progress): ${m.name} ${m.value.toFixed(2)} ${m.unit} ${m.note ?? ''}\n`);
        return push(...ms);
      };
      try {
        const size = (f: string) => `${(statSync(f).size / 2 ** 20).toFixed(0)} MiB`;
        if (PARTS.has('group-by')) {
          const mid = join(dir, 'mid.arrow');
          const midPq = join(dir, 'mid-peer.parquet');
          await synthesize(mid, MID);
          await toParquet(mid, midPq);
          out.push({
            name: `group-by, ${MID.toLocaleString('en-US')} commands: inputs`,
            value: 0,
            unit: '',
            note: `${size(mid)} .arrow, ${size(midPq)} Parquet`,
          });

          // First runs on a trace no session has seen (fills the Parquet cache where an engine keeps one).
          const [wasmFirst, nativeFirst] = [cli('sql', mid, '-e', GROUP_BY), cli('sql', '--engine', 'native', mid, '-e', GROUP_BY)].map(
            (c) => processSeconds(c, env),
          );
          if (BASELINE) processSeconds(baseline('sql', '--engine', 'native', mid, '-e', GROUP_BY), env);
          const [peerT, wasmT, nativeT, wasmB, nativeB] = interleavedTimes(
            [
              peer(midPq, GROUP_BY),
              cli('sql', mid, '-e', GROUP_BY),
              cli('sql', '--engine', 'native', mid, '-e', GROUP_BY),
              ...(BASELINE ? [baseline('sql', mid, '-e', GROUP_BY), baseline('sql', '--engine', 'native', mid, '-e', GROUP_BY)] : []),
            ],
            env,
          );
          out.push({
            name: 'group-by: peer (DuckDB native over Parquet, whole process)',
            value: peerT!.wall,
            unit: 's',
            note: `median of ${REPS}; CPU ${peerT!.cpu.toFixed(2)} s`,
          });
          out.push({
            name: 'group-by: `sql -e` default engine (duckdb-wasm)',
            value: wasmT!.wall,
            unit: 's',
            note: `${ratio(wasmT!.wall, peerT!.wall)} (goal <= 2x); ${cpuNote(wasmT!, peerT!)}; first run on the trace ${wasmFirst!.toFixed(2)} s`,
          });
          out.push({
            name: 'group-by: `sql --engine native -e`',
            value: nativeT!.wall,
            unit: 's',
            note: `${ratio(nativeT!.wall, peerT!.wall)} (goal <= 1.5x); ${cpuNote(nativeT!, peerT!)}; first run on the trace ${nativeFirst!.toFixed(2)} s`,
          });
          out.push(...baselineRows('group-by', peerT!, wasmB, nativeB));
        }
        if (PARTS.has('set')) {
          const big = join(dir, 'big.arrow');
          const bigPq = join(dir, 'big-peer.parquet');
          await synthesize(big, BIG);
          await toParquet(big, join(dir, 'big-export.parquet'));
          // The peer's Parquet also holds the running counts a session's loader computes, made once
          // by DuckDB's windows (bench/sql-peer-session.ts).
          const { peerParquet } = await import('./sql-peer-session.js');
          await peerParquet(big, join(dir, 'big-export.parquet'), bigPq);
          rmSync(join(dir, 'big-export.parquet'));
          const baseDist = BASELINE ? join(dirname(BASELINE), '..') : undefined;
          // The first native session on the trace writes its Parquet copy: timed on its own line.
          const first = setTime(big, 'native', env);
          const peerT = setTime(big, 'peer', env, undefined, bigPq);
          const nativeT = setTime(big, 'native', env);
          if (baseDist) setTime(big, 'native', baselineEnv(env), baseDist); // the baseline's first session
          const nativeB = baseDist ? setTime(big, 'native', baselineEnv(env), baseDist) : undefined;
          const wasmT = setTime(big, 'wasm', env);
          const wasmB = baseDist ? setTime(big, 'wasm', baselineEnv(env), baseDist) : undefined;
          out.push({
            name: `analyzer set, ${BIG.toLocaleString('en-US')} commands: peer (native DuckDB, the same views over Parquet)`,
            value: peerT.wall,
            unit: 's',
            note: `whole process; CPU ${peerT.cpu.toFixed(2)} s; ${size(big)} .arrow`,
          });
          out.push({
            name: 'analyzer set: native (open session + every trace view, whole process)',
            value: nativeT.wall,
            unit: 's',
            note: `${ratio(nativeT.wall, peerT.wall)} (goal <= 3 s); ${cpuNote(nativeT, peerT)}; first session on the trace ${first.wall.toFixed(2)} s`,
          });
          out.push({
            name: 'analyzer set: duckdb-wasm (open session + every trace view, whole process)',
            value: wasmT.wall,
            unit: 's',
            note: `${ratio(wasmT.wall, peerT.wall)} (goal <= 8 s); ${cpuNote(wasmT, peerT)}`,
          });
          out.push(...baselineRows('analyzer set', peerT, wasmB, nativeB));
        }
        if (PARTS.has('one-shot')) {
          const small = join(dir, 'small.arrow');
          const smallPq = join(dir, 'small-peer.parquet');
          await ingest([join(packageRoot(), SMALL_CAPTURE)], { output: small });
          await toParquet(small, smallPq);
          const count = 'SELECT count(*) FROM trace';
          processSeconds(cli('sql', small, '-e', count), env);
          processSeconds(cli('sql', '--engine', 'native', small, '-e', count), env);
          if (BASELINE) processSeconds(baseline('sql', '--engine', 'native', small, '-e', count), env);
          const [peerOne, wasmOne, nativeOne, floor, engineOnly, wasmOneB, nativeOneB] = interleavedTimes(
            [
              peer(smallPq, count),
              cli('sql', small, '-e', count),
              cli('sql', '--engine', 'native', small, '-e', count),
              [join(packageRoot(), 'dist/bench/sql-wasm-floor.js')],
              [join(packageRoot(), 'dist/bench/sql-wasm-floor.js'), '--engine'],
              ...(BASELINE ? [baseline('sql', small, '-e', count), baseline('sql', '--engine', 'native', small, '-e', count)] : []),
            ],
            env,
          );
          out.push({
            name: `one-shot on ${SMALL_CAPTURE.split('/').pop()}: peer`,
            value: peerOne!.wall,
            unit: 's',
            note: `median of ${REPS}; CPU ${peerOne!.cpu.toFixed(2)} s`,
          });
          out.push({
            name: 'duckdb-wasm floor: stock bindings, SELECT 42, whole process (bench/sql-wasm-floor.ts)',
            value: floor!.wall,
            unit: 's',
            note: `${ratio(floor!.wall, peerOne!.wall)}; CPU ${floor!.cpu.toFixed(2)} s; invtrace's WasmEngine alone, SELECT 42: ${engineOnly!.wall.toFixed(2)} s, CPU ${engineOnly!.cpu.toFixed(2)} s`,
          });
          out.push({
            name: 'one-shot `sql small.arrow -e` (duckdb-wasm)',
            value: wasmOne!.wall,
            unit: 's',
            note: `${ratio(wasmOne!.wall, peerOne!.wall)}, ${(wasmOne!.wall / floor!.wall).toFixed(2)}x the stock floor (goal <= 0.8 s); ${cpuNote(wasmOne!, peerOne!)}`,
          });
          out.push({
            name: 'one-shot `sql --engine native small.arrow -e`',
            value: nativeOne!.wall,
            unit: 's',
            note: `${ratio(nativeOne!.wall, peerOne!.wall)}; ${cpuNote(nativeOne!, peerOne!)}`,
          });
          out.push(...baselineRows('one-shot', peerOne!, wasmOneB, nativeOneB));
          out.push({ name: '`invtrace --help`', value: interleaved([cli('--help')], env)[0]!, unit: 's', note: `median of ${REPS}` });
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return out;
    },
  },
];
