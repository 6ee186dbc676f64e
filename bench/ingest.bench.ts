// Ingest speed against the tools people use on a QEMU log today, measured in the same run on the
// same files (issue 17). The input is the largest bundled VT-d QEMU capture
// (qemu-vtd-scalable-strict.log, Linux 6.1, 10.97 MB) concatenated COPIES times (~99 MB of log
// text); the issue's own figure used 9 copies of a Linux 6.12 strict capture, which the samples do
// not have. Figures, each the best of REPS runs, wall time including process start:
//   - plain text: `invtrace ingest` / `mawk '/vtd_inv_desc invalidate desc type/ {print $5","$7","$9}'`;
//     also with the log read in two stages, a worker thread reading (INVTRACE_INGEST_WORKER=1)
//   - gzip: `invtrace ingest big.log.gz` / `gzip -dc big.log.gz > /dev/null`, also in two stages
//   - a QEMU + guest pair / its QEMU side alone, for the VT-d scalable-strict run and the SMMUv3
//     strict one (PAIRS, plain): the median of PAIR_ROUNDS alternated rounds' ratios
//   - the other input shapes read alone (SHAPES: the SMMUv3 QEMU log, the VT-d and SMMUv3 guest
//     traces, each COPIES copies): MB/s, / mawk selecting the same lines, peak RSS at COPIES and
//     3 x COPIES copies
//   - a gzip capture with a 10 MiB line / the same with a 2.5 MiB line (linear: <= 4)
//   - peak RSS of one ingest process at ~99 MB and at ~990 MB (HUGE copies; INVTRACE_BENCH_HUGE=0
//     skips the large one), the ~990 MB ingest / mawk and, gzip-compressed, / `gzip -dc` (best of
//     HUGE_REPS each)
//   - node's own start (`node -e 0`) / mawk; where NODE_EXTRA_CA_CERTS is set, which has node parse
//     that certificate file at every start, the start and the plain ingest also without it
//   - the limits of the design, measured in the same run (bench/ingest-floor.ts, a node process of
//     its own like an ingest): node reading the plain file once (blocking 1 MiB reads, lines found
//     with indexOf) / mawk, and node inflating the gzip file alone (a createGunzip stream) /
//     `gzip -dc`. An ingest of this runtime cannot go below them; each is printed beside its goal.
// Each ingest is the CLI as users run it (`invtrace ingest FILE... -o OUT --json`, package.json's
// bin: the bundled CLI), one process per run so that its peak RSS is its own, measured from inside
// at exit (bench/cpu-at-exit.ts). Each run writes a new trace; the plain ingest is also timed
// writing over an existing one (the replacement's own cost, on a row of its own: timeIngest). Each ratio also gives the CPU-time ratio (user + system,
// /usr/bin/time for the peers), steadier than wall time when other jobs share the machine.
// mawk is installed with apt-get when missing (root only); otherwise that ratio is skipped with a
// message.

import { spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { cliScript } from '../formats/paths.js';
import { median, type Bench, type Measurement } from './harness.js';

const captures = (name: string) => fileURLToPath(new URL(`../../samples/captures/${name}`, import.meta.url));
const USAGE_HOOK = fileURLToPath(new URL('./cpu-at-exit.js', import.meta.url));
const FLOOR = fileURLToPath(new URL('./ingest-floor.js', import.meta.url));
const RUN = 'vtd-scalable-strict';
const COPIES = 9;
const HUGE = 90;
/**
 * Runs of each figure at HUGE copies: one run writes a ~780 MB trace, and a single run met the
 * disk's writeback of the files before it (3.9 s against its usual 2.3-2.6 s).
 */
const HUGE_REPS = 2;
const REPS = 3;
/** Rounds of a pair against its QEMU side (one run of each a round). */
const PAIR_ROUNDS = 9;
/** The runs whose two sides are ingested as a pair: a VT-d one (the log above) and the SMMUv3 one. */
const PAIRS = [RUN, 'smmuv3-strict'] as const;
/**
 * Runs of a peer (mawk, `gzip -dc`): each takes a fraction of a second, and its best is the
 * denominator of a goal, so one slow set of REPS (all three disturbed by another job: mawk's
 * best once came out 0.25 s against its usual 0.14-0.17 s, and the ratio 2.68x) would flatter the
 * ingest.
 */
const PEER_REPS = 9;
const MAWK_PROGRAM = '/vtd_inv_desc invalidate desc type/ {print $5","$7","$9}';
/**
 * The other input shapes (each read alone, COPIES copies) and the mawk program that selects the same
 * lines: the commands in an SMMUv3 QEMU log (time stamp and opcode name), the descriptors in a VT-d
 * guest trace (time, type, qw0, qw1), the command lists in an SMMUv3 one (time, n, c0_0, c0_1).
 */
const SHAPES: readonly { readonly capture: string; readonly what: string; readonly mawk: string }[] = [
  { capture: 'qemu-smmuv3-strict.log.gz', what: 'SMMUv3 QEMU log', mawk: '/smmuv3_cmdq_opcode/ {print $1","$3}' },
  { capture: `guest-${RUN}.txt.gz`, what: 'VT-d guest trace', mawk: '/qi_submit:/ {print $4","$6","$8","$9}' },
  { capture: 'guest-smmuv3-strict.txt.gz', what: 'SMMUv3 guest trace', mawk: '/cmdlist:/ {print $4","$7","$9","$10}' },
];

const TIME = '/usr/bin/time';
const haveTime = spawnSync(TIME, ['-f', '%U', 'true'], { stdio: 'ignore' }).status === 0;

interface Timed {
  readonly seconds: number;
  /** Best CPU seconds (user + system, all threads), when measurable. */
  readonly cpu: number | undefined;
  readonly stdout: string;
}

/**
 * Best wall time in seconds of a command (stdout to /dev/null unless it is an ingest), and its best
 * CPU time through /usr/bin/time (an ingest's from its own usage file); undefined when it fails.
 * The CPU figures are steadier than wall time on a shared machine.
 */
function timeCmd(cmd: string, args: readonly string[], reps = REPS, env?: NodeJS.ProcessEnv): Timed | undefined {
  let best = Infinity;
  let cpu = Infinity;
  let stdout = '';
  const child = cmd === process.execPath;
  const usageFile = env?.INVTRACE_BENCH_USAGE_FILE;
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    const [c, a] = haveTime && !child ? [TIME, ['-f', '@cpu %U %S', cmd, ...args]] : [cmd, args];
    // An ignored stream is null, whatever spawnSync's return type says.
    const r: { status: number | null; error?: Error; stdout: Buffer | null; stderr: Buffer | null } = spawnSync(c, a, {
      stdio: ['ignore', child ? 'pipe' : 'ignore', 'pipe'],
      maxBuffer: 1 << 24,
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) {
      console.error(`bench ingest: ${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr?.toString().trim()}`);
      return undefined;
    }
    best = Math.min(best, s);
    stdout = r.stdout?.toString() ?? '';
    const m = /@cpu ([\d.]+) ([\d.]+)/.exec(r.stderr?.toString() ?? '');
    if (m) cpu = Math.min(cpu, Number(m[1]) + Number(m[2]));
    else if (usageFile !== undefined) cpu = Math.min(cpu, usageOf(usageFile).cpuSeconds);
  }
  return { seconds: best, cpu: Number.isFinite(cpu) ? cpu : undefined, stdout };
}

const usageOf = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { cpuSeconds: number; maxRssMiB: number };

/**
 * One ingest per process (the CLI): best wall and CPU time and the peak RSS of the runs. Each run
 * writes a new file, removed after it (outside the timed span), unless `replace`: then every run
 * writes `out` over the trace an untimed first run left there. Renaming over an existing file has
 * ext4 (auto_da_alloc, the default) start the writeback of the new file inside the rename, ~20-40
 * ms for a 78 MB trace here: a cost of replacing a file, which mawk has no counterpart of, shown on
 * a row of its own (docs/ingest.md, twenty-first pass).
 */
function timeIngest(
  files: readonly string[],
  out: string,
  reps = REPS,
  env?: NodeJS.ProcessEnv,
  replace = false,
): { seconds: number; cpu: number; rssMiB: number; rows: number } {
  let rssMiB = 0;
  let rows = 0;
  let seconds = Infinity;
  let cpu = Infinity;
  const usage = `${out}.usage.json`;
  const argsFor = (o: string) => ['--import', USAGE_HOOK, cliScript(), 'ingest', ...files, '-o', o, '--json'];
  if (replace && timeCmd(process.execPath, argsFor(out), 1, { ...env, INVTRACE_BENCH_USAGE_FILE: usage }) === undefined)
    throw new Error('ingest failed');
  for (let i = 0; i < reps; i++) {
    const o = replace ? out : out.replace(/(\.arrow)?$/, `-${i}$1`);
    const r = timeCmd(process.execPath, argsFor(o), 1, { ...env, INVTRACE_BENCH_USAGE_FILE: usage });
    if (!replace) rmSync(o, { force: true });
    if (r === undefined) throw new Error('ingest failed');
    const u = usageOf(usage);
    rssMiB = Math.max(rssMiB, u.maxRssMiB);
    rows = (JSON.parse(r.stdout) as { rows: number }).rows;
    seconds = Math.min(seconds, r.seconds);
    cpu = Math.min(cpu, u.cpuSeconds);
  }
  return { seconds, cpu, rssMiB, rows };
}

/** node alone going through `file` once (bench/ingest-floor.ts `mode`): best wall and CPU time. */
function timeFloor(mode: 'read' | 'read-bytes' | 'inflate', file: string, usage: string): Timed {
  const r = timeCmd(process.execPath, ['--import', USAGE_HOOK, FLOOR, mode, file], REPS, { INVTRACE_BENCH_USAGE_FILE: usage });
  if (r === undefined) throw new Error(`ingest floor ${mode} failed`);
  return r;
}

/** `a / b` of CPU times, when both are known. */
const cpuRatio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined ? `; CPU ${(a / b).toFixed(2)}x (${a.toFixed(2)} s / ${b.toFixed(2)} s)` : '';

function haveMawk(): boolean {
  if (spawnSync('mawk', ['-W', 'version'], { stdio: 'ignore' }).status === 0) return true;
  if (process.getuid?.() === 0) {
    console.error('bench ingest: mawk is missing; installing it with apt-get');
    spawnSync('apt-get', ['install', '-y', '-q', 'mawk'], { stdio: 'ignore' });
    return spawnSync('mawk', ['-W', 'version'], { stdio: 'ignore' }).status === 0;
  }
  return false;
}

/** `copies` copies of `text` in one file. */
function repeat(path: string, text: Buffer, copies: number): number {
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < copies; i++) writeSync(fd, text);
    // On disk before anything is timed: the kernel's writeback of a fresh ~1 GB file would share
    // the two cores with the first command timed on it.
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return statSync(path).size;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export const benches: readonly Bench[] = [
  {
    name: 'ingest',
    async run() {
      const dir = mkdtempSync(join(tmpdir(), 'invtrace-bench-ingest-'));
      try {
        const out: Measurement[] = [];
        const arrow = join(dir, 'out.arrow');
        const qemuText = gunzipSync(readFileSync(captures(`qemu-${RUN}.log.gz`)));
        const guestText = gunzipSync(readFileSync(captures(`guest-${RUN}.txt.gz`)));
        const big = join(dir, 'big.log');
        const bytes = repeat(big, qemuText, COPIES);
        const bigText = readFileSync(big);
        let lines = 0;
        for (let i = bigText.indexOf(10); i >= 0; i = bigText.indexOf(10, i + 1)) lines++;
        const gz = join(dir, 'big.log.gz');
        const gzText = gzipSync(bigText, { level: constants.Z_DEFAULT_COMPRESSION });
        repeat(gz, gzText, 1);
        const label = `${COPIES} x qemu-${RUN}.log (${mb(bytes)}, ${lines.toLocaleString('en-US')} lines)`;

        const plain = timeIngest([big], arrow);
        out.push({
          name: `${label}: plain`,
          value: bytes / 1e6 / plain.seconds,
          unit: 'MB/s',
          note: `${plain.seconds.toFixed(2)} s, ${Math.round(lines / plain.seconds / 1000).toLocaleString('en-US')} K lines/s, ${plain.rows.toLocaleString('en-US')} rows`,
        });
        const m = haveMawk() ? timeCmd('mawk', [MAWK_PROGRAM, big], PEER_REPS) : undefined;
        if (m !== undefined) {
          out.push({
            name: `${label}: plain / mawk`,
            value: plain.seconds / m.seconds,
            unit: 'x',
            note: `mawk ${m.seconds.toFixed(2)} s; goal <= 3${cpuRatio(plain.cpu, m.cpu)}`,
          });
        } else
          out.push({
            name: `${label}: plain / mawk`,
            value: NaN,
            unit: 'x',
            note: 'skipped: mawk is not installed (apt-get install mawk)',
          });
        // The same ingest writing over the trace of the run before (see timeIngest).
        const over = timeIngest([big], arrow, REPS, undefined, true);
        out.push({
          name: `${label}: plain, over an existing trace / a new one`,
          value: over.seconds / plain.seconds,
          unit: 'x',
          note: `${over.seconds.toFixed(2)} s / ${plain.seconds.toFixed(2)} s (ext4 starts the new file's writeback inside the rename)`,
        });
        // The limit of the design: node reading the file once, finding its lines and nothing else.
        const usage = join(dir, 'floor.usage.json');
        const read = timeFloor('read', big, usage);
        const readBytes = timeFloor('read-bytes', big, usage);
        out.push({
          name: `${label}: node reading the file once / mawk`,
          value: m !== undefined ? read.seconds / m.seconds : NaN,
          unit: 'x',
          note: `${read.seconds.toFixed(2)} s (every byte in a JS loop: ${readBytes.seconds.toFixed(2)} s); limit of the design, goal <= 3${cpuRatio(read.cpu, m?.cpu)}`,
        });

        // node's own start, which every ingest pays and mawk does not. Where NODE_EXTRA_CA_CERTS is
        // set (a sandbox or a company network that adds its certificate authorities), node reads and
        // parses that file at every start, before any script runs (~40 ms for ~140 certificates
        // here); an empty value skips it. The start and the plain ingest are then also timed
        // without it, so that the ratio can be read for a machine that does not set it.
        const start = timeCmd(process.execPath, ['-e', '0'], PEER_REPS)!;
        const extraCa = process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: '' } : undefined;
        const bareStart = extraCa !== undefined ? timeCmd(process.execPath, ['-e', '0'], PEER_REPS, extraCa) : undefined;
        out.push({
          name: `node starting (node -e 0) / mawk`,
          value: m !== undefined ? start.seconds / m.seconds : NaN,
          unit: 'x',
          note:
            `${start.seconds.toFixed(3)} s` +
            (bareStart !== undefined ? `; ${bareStart.seconds.toFixed(3)} s without NODE_EXTRA_CA_CERTS, which is set here` : ''),
        });
        if (extraCa !== undefined) {
          const bare = timeIngest([big], arrow, REPS, extraCa);
          out.push({
            name: `${label}: plain without NODE_EXTRA_CA_CERTS / mawk`,
            value: m !== undefined ? bare.seconds / m.seconds : NaN,
            unit: 'x',
            note: `${bare.seconds.toFixed(2)} s (the environment's certificates not read at node's start)${cpuRatio(bare.cpu, m?.cpu)}`,
          });
        }

        // The QEMU log read in two stages (INVTRACE_INGEST_WORKER=1, formats/ingest/qemu-side.ts
        // readVtdLogPipelined: a worker thread reads and runs the queue, this one writes), which
        // is asked for; the default, one thread, is the figure above.
        const piped = timeIngest([big], arrow, REPS, { INVTRACE_INGEST_WORKER: '1' });
        out.push({
          name: `${label}: plain, worker thread / mawk`,
          value: m !== undefined ? piped.seconds / m.seconds : NaN,
          unit: 'x',
          note: `${piped.seconds.toFixed(2)} s (INVTRACE_INGEST_WORKER=1)${cpuRatio(piped.cpu, m?.cpu)}`,
        });

        const zipped = timeIngest([gz], arrow);
        const gunzip = timeCmd('gzip', ['-dc', gz], PEER_REPS)!;
        out.push({ name: `${label}: gzip`, value: bytes / 1e6 / zipped.seconds, unit: 'MB/s', note: `${zipped.seconds.toFixed(2)} s` });
        out.push({
          name: `${label}: gzip / gzip -dc`,
          value: zipped.seconds / gunzip.seconds,
          unit: 'x',
          note: `gzip -dc ${gunzip.seconds.toFixed(2)} s; goal <= 1.2${cpuRatio(zipped.cpu, gunzip.cpu)}`,
        });
        // The limit of the design: node inflating the file and nothing else.
        const inflate = timeFloor('inflate', gz, join(dir, 'floor.usage.json'));
        out.push({
          name: `${label}: node inflating alone / gzip -dc`,
          value: inflate.seconds / gunzip.seconds,
          unit: 'x',
          note: `${inflate.seconds.toFixed(2)} s; limit of the design, goal <= 1.2${cpuRatio(inflate.cpu, gunzip.cpu)}`,
        });
        // The same in two stages (asked for; the default, one thread, is the figure above).
        const pipedGz = timeIngest([gz], arrow, REPS, { INVTRACE_INGEST_WORKER: '1' });
        out.push({
          name: `${label}: gzip, worker thread / gzip -dc`,
          value: pipedGz.seconds / gunzip.seconds,
          unit: 'x',
          note: `${pipedGz.seconds.toFixed(2)} s (INVTRACE_INGEST_WORKER=1)${cpuRatio(pipedGz.cpu, gunzip.cpu)}`,
        });

        // Both architectures' real runs as pairs (PAIRS): PAIR_ROUNDS rounds, each the QEMU side
        // alone and the pair one after the other (in turn first); the figure is the median of the
        // rounds' ratios. The best of each, taken apart, came from different moments of a shared
        // machine (1.19x and 1.45x in two runs of one build).
        for (const run of PAIRS) {
          const qText = run === RUN ? qemuText : gunzipSync(readFileSync(captures(`qemu-${run}.log.gz`)));
          const gText = run === RUN ? guestText : gunzipSync(readFileSync(captures(`guest-${run}.txt.gz`)));
          const q = join(dir, `qemu-${run}.log`);
          const g = join(dir, `guest-${run}.txt`);
          repeat(q, qText, 1);
          repeat(g, gText, 1);
          const ratios: number[] = [];
          const qOnly = { seconds: Infinity, cpu: Infinity };
          const pair = { seconds: Infinity, cpu: Infinity };
          for (let r = 0; r < PAIR_ROUNDS; r++) {
            const [a, b] = r % 2 === 0 ? [[q], [q, g]] : [[q, g], [q]];
            const ta = timeIngest(a, arrow, 1);
            const tb = timeIngest(b, arrow, 1);
            const [tq, tp] = r % 2 === 0 ? [ta, tb] : [tb, ta];
            ratios.push(tp.seconds / tq.seconds);
            qOnly.seconds = Math.min(qOnly.seconds, tq.seconds);
            qOnly.cpu = Math.min(qOnly.cpu, tq.cpu);
            pair.seconds = Math.min(pair.seconds, tp.seconds);
            pair.cpu = Math.min(pair.cpu, tp.cpu);
          }
          out.push({
            name: `${run} pair (QEMU ${mb(qText.length)} + guest ${mb(gText.length)}) / QEMU alone`,
            value: median(ratios),
            unit: 'x',
            note: `median of ${PAIR_ROUNDS} alternated rounds (${ratios.map((x) => x.toFixed(2)).join(' ')}); best: pair ${pair.seconds.toFixed(2)} s, QEMU alone ${qOnly.seconds.toFixed(2)} s; goal <= 1.3${cpuRatio(pair.cpu, qOnly.cpu)}`,
          });
        }

        // The other input shapes read alone, each COPIES copies of a bundled capture: the SMMUv3
        // QEMU log and the two architectures' guest traces (issue 17's title: QEMU logs and guest
        // traces at >= 150 MB/s). Each beside mawk selecting the same lines and printing a few of
        // their fields, and its peak RSS at COPIES and at 3 x COPIES copies (flat).
        for (const s of SHAPES) {
          const text = gunzipSync(readFileSync(captures(s.capture)));
          const base = s.capture.replace(/\.gz$/, '');
          const p = join(dir, `${COPIES}x-${base}`);
          const n = repeat(p, text, COPIES);
          const shapeLabel = `${COPIES} x ${base} (${mb(n)}, ${s.what})`;
          const r = timeIngest([p], arrow);
          out.push({
            name: `${shapeLabel}: plain`,
            value: n / 1e6 / r.seconds,
            unit: 'MB/s',
            note: `${r.seconds.toFixed(2)} s, ${r.rows.toLocaleString('en-US')} rows; goal >= 150`,
          });
          const sm = haveMawk() ? timeCmd('mawk', [s.mawk, p], PEER_REPS) : undefined;
          out.push({
            name: `${shapeLabel}: plain / mawk`,
            value: sm !== undefined ? r.seconds / sm.seconds : NaN,
            unit: 'x',
            note:
              sm !== undefined ? `mawk ${sm.seconds.toFixed(2)} s (${s.mawk})${cpuRatio(r.cpu, sm.cpu)}` : 'skipped: mawk is not installed',
          });
          const p3 = join(dir, `${3 * COPIES}x-${base}`);
          const n3 = repeat(p3, text, 3 * COPIES);
          const r3 = timeIngest([p3], arrow, 1);
          rmSync(p3);
          rmSync(p);
          out.push({
            name: `peak RSS: ${base}, ${mb(n)} / ${mb(n3)}`,
            value: r.rssMiB,
            unit: 'MiB',
            note: `${r.rssMiB.toFixed(0)} MiB at ${mb(n)}, ${r3.rssMiB.toFixed(0)} MiB at ${mb(n3)} (goal: flat); ${(n3 / 1e6 / r3.seconds).toFixed(0)} MB/s at ${mb(n3)}, one run`,
          });
        }

        // A 10 MB line in a gzip capture (../shared/findings/fuzz-2026-12/gz-long-line-quadratic.sh):
        // reading it must be linear, so 4x the line costs at most 4x (it was 10.5x: 1.2 s -> 12.6 s).
        const lazy = gunzipSync(readFileSync(captures('qemu-vtd-legacy-lazy.log.gz')))
          .toString('latin1')
          .split('\n');
        const longLine = (mib: number) => {
          const ls = [...lazy];
          const i = ls.length >> 1;
          ls.splice(i, 0, ls[i]!.slice(0, 40) + 'A'.repeat(mib * (1 << 20)));
          const p = join(dir, `long-${mib}.log.gz`);
          repeat(p, gzipSync(Buffer.from(ls.join('\n'), 'latin1')), 1);
          return timeIngest([p], arrow).seconds;
        };
        const l10 = longLine(10);
        const l2 = longLine(2.5);
        out.push({
          name: 'a 10 MiB line / a 2.5 MiB line, gzip',
          value: l10 / l2,
          unit: 'x',
          note: `${l10.toFixed(2)} s / ${l2.toFixed(2)} s; linear <= 4`,
        });

        out.push({ name: `peak RSS: ${mb(bytes)} plain`, value: plain.rssMiB, unit: 'MiB' });
        out.push({ name: `peak RSS: ${mb(bytes)} gzip`, value: zipped.rssMiB, unit: 'MiB' });
        if (process.env.INVTRACE_BENCH_HUGE !== '0') {
          const huge = join(dir, 'huge.log');
          const hb = repeat(huge, qemuText, HUGE);
          const h = timeIngest([huge], arrow, HUGE_REPS);
          // The same ratio at ten times the size, where the start-up (node and the modules, ~0.2 s)
          // no longer weighs; mawk's on the page cache the ingest just warmed.
          const hm = haveMawk() ? timeCmd('mawk', [MAWK_PROGRAM, huge], HUGE_REPS) : undefined;
          rmSync(huge);
          out.push({
            name: `peak RSS: ${mb(hb)} plain`,
            value: h.rssMiB,
            unit: 'MiB',
            note: `${h.seconds.toFixed(1)} s, ${(hb / 1e6 / h.seconds).toFixed(0)} MB/s`,
          });
          out.push({
            name: `${mb(hb)} plain / mawk`,
            value: hm !== undefined ? h.seconds / hm.seconds : NaN,
            unit: 'x',
            note:
              hm !== undefined
                ? `${h.seconds.toFixed(2)} s / mawk ${hm.seconds.toFixed(2)} s; best of ${HUGE_REPS} each${cpuRatio(h.cpu, hm.cpu)}`
                : 'skipped: mawk is not installed',
          });
          // The gzip goal at the same size: the ~99 MB gzip file HUGE / COPIES times over, a gzip
          // file of as many members, which `gzip -dc` and node's gunzip inflate as one stream (the
          // ingest's trace of it is byte for byte that of the plain file).
          const hugeGz = join(dir, 'huge.log.gz');
          const hz = repeat(hugeGz, gzText, HUGE / COPIES);
          const hzi = timeIngest([hugeGz], arrow, HUGE_REPS);
          const hzd = timeCmd('gzip', ['-dc', hugeGz], HUGE_REPS);
          rmSync(hugeGz);
          out.push({
            name: `${mb(hb)} gzip (${mb(hz)}) / gzip -dc`,
            value: hzd !== undefined ? hzi.seconds / hzd.seconds : NaN,
            unit: 'x',
            note:
              hzd !== undefined
                ? `${hzi.seconds.toFixed(2)} s / gzip -dc ${hzd.seconds.toFixed(2)} s; goal <= 1.2; best of ${HUGE_REPS} each${cpuRatio(hzi.cpu, hzd.cpu)}`
                : 'skipped: gzip -dc failed',
          });
        } else {
          out.push({ name: 'peak RSS: ~990 MB plain', value: NaN, unit: 'MiB', note: 'skipped (INVTRACE_BENCH_HUGE=0)' });
          out.push({ name: '~990 MB gzip / gzip -dc', value: NaN, unit: 'x', note: 'skipped (INVTRACE_BENCH_HUGE=0)' });
        }
        return out;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
