// `npm run fuzz`: the seeded fuzz campaign of issue 12 items 4 and 5, printing its seed and figures.
//   words      random commands through decode, bare hardware and every policy: 10^6 for SMMUv3,
//              10^6 for VT-d (half in 128-bit, half in 256-bit queues)
//   property   random gen workloads with fault injection, the invariants of invariants.ts:
//              500 traces per architecture
//   ingest     corrupted copies of the real captures through the CLI (corrupt.ts)
// Each part runs in a child process of its own with a time limit (a hang is a crash); two run at a
// time. Usage: npm run fuzz [-- --seed N] [--words N] [--traces N] [--files N] [--commands N]
//              [--only words,property,ingest]
// Exit 0: no crash and no invariant or report failure outside the known classes (known.ts); 1
// otherwise. Failing corrupted copies stay in the scratch folder printed at the end.

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cliScript } from '../../formats/paths.js';
import { runCorruption, type CopyResult } from './corrupt.js';
import { knownClass } from './known.js';
import { runWords, type WordVariant } from './words.js';
import { genCommand } from './workload.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const CLI = cliScript();

interface Args {
  seed: number;
  words: number;
  traces: number;
  files: number;
  commands: number;
  only: string[];
  part?: string;
  dir?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    seed: Date.now() % 1_000_000,
    words: 1_000_000,
    traces: 500,
    files: 60,
    commands: 250,
    only: ['words', 'property', 'ingest'],
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    const num = () => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${k} takes a whole number, not "${v}"`);
      i++;
      return n;
    };
    if (k === '--seed') a.seed = num();
    else if (k === '--words') a.words = num();
    else if (k === '--traces') a.traces = num();
    else if (k === '--files') a.files = num();
    else if (k === '--commands') a.commands = num();
    else if (k === '--only') {
      a.only = (v ?? '').split(',');
      i++;
    } else if (k === '--part') {
      a.part = v;
      i++;
    } else if (k === '--dir') {
      a.dir = v;
      i++;
    } else throw new Error(`unknown option ${k}`);
  }
  return a;
}

/** One part, in this process; prints one JSON line of figures last. */
async function runPart(a: Args): Promise<void> {
  const t0 = Date.now();
  const [kind, which] = a.part!.split(':') as [string, string];
  let figures: Record<string, unknown>;
  if (kind === 'words') {
    const v = which as WordVariant;
    const n = v === 'smmuv3' ? a.words : Math.ceil(a.words / 2);
    const r = await runWords(v, a.seed + (v === 'smmuv3' ? 0 : v === 'vtd-128' ? 1 : 2), n);
    figures = { words: r.words, chunks: r.chunks, errors_raised_by_bare_hardware: r.errorsRaised, crashes: r.crashes };
  } else if (kind === 'property') {
    const arch = which as 'smmuv3' | 'vtd';
    const failures: string[] = [];
    const known: Record<string, number> = {};
    let traces = 0;
    let commands = 0;
    let allDirect = 0;
    const faults: Record<string, number> = {};
    const { randomCase } = await import('./workload.js');
    const { runCase } = await import('./property.js');
    for (let i = 0; i < a.traces; i++) {
      const c = randomCase(arch, a.seed + i, a.commands);
      let r;
      try {
        r = await runCase(c);
      } catch (e) {
        failures.push(`crash: ${genCommand(c)}: ${(e as Error).stack}`);
        continue;
      }
      traces++;
      commands += r.counts.commands;
      faults[c.fault] = (faults[c.fault] ?? 0) + 1;
      if (r.allDirect) allDirect++;
      for (const f of r.failures) {
        const k = knownClass(arch, c.fault, f);
        if (k) known[k.id] = (known[k.id] ?? 0) + 1;
        else failures.push(`${genCommand(c)}: ${f}`);
      }
    }
    figures = { traces, commands, faults, hw_direct_took_every_command: allDirect, known, failures };
  } else {
    const results: CopyResult[] = runCorruption({
      cli: CLI,
      captures: join(ROOT, 'samples/captures'),
      dir: a.dir!,
      seed: a.seed,
      n: a.files,
      timeoutMs: 120_000,
    });
    const by = (k: keyof CopyResult) => results.filter((r) => r[k] !== undefined).map((r) => `${r.file}: ${String(r[k])}`);
    const codes: Record<string, number> = {};
    for (const r of results) codes[String(r.code)] = (codes[String(r.code)] ?? 0) + 1;
    figures = {
      files: results.length,
      exit_codes: codes,
      slowest_s: Math.max(0, ...results.map((r) => r.seconds)),
      crashes: by('crash'),
      report: by('report'),
      silent: by('silent'),
      strict: by('strict'),
    };
  }
  process.stdout.write(`${JSON.stringify({ part: a.part, seconds: (Date.now() - t0) / 1000, ...figures })}\n`);
}

interface PartResult {
  readonly part: string;
  readonly code: number | null;
  readonly figures?: Record<string, unknown>;
  readonly stderr: string;
  readonly seconds: number;
}

function spawnPart(part: string, a: Args, dir: string, limitMs: number): Promise<PartResult> {
  const args = [
    import.meta.filename,
    '--part',
    part,
    '--seed',
    String(a.seed),
    '--words',
    String(a.words),
    '--traces',
    String(a.traces),
    '--files',
    String(a.files),
    '--commands',
    String(a.commands),
    '--dir',
    dir,
  ];
  const t0 = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      let figures: Record<string, unknown> | undefined;
      try {
        figures = JSON.parse(last) as Record<string, unknown>;
      } catch {
        figures = undefined;
      }
      done({ part, code, ...(figures ? { figures } : {}), stderr: err, seconds: (Date.now() - t0) / 1000 });
    });
  });
}

async function pool<T, R>(items: readonly T[], n: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]!);
      }
    }),
  );
  return out;
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  if (a.part !== undefined) {
    await runPart(a);
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), 'invtrace-fuzz-'));
  const parts = [
    ...(a.only.includes('words') ? ['words:smmuv3', 'words:vtd-128', 'words:vtd-256'] : []),
    ...(a.only.includes('property') ? ['property:smmuv3', 'property:vtd'] : []),
    ...(a.only.includes('ingest') ? ['ingest:captures'] : []),
  ];
  console.log(
    `invtrace fuzz: seed ${a.seed} (repeat with --seed ${a.seed}); words ${a.words} per architecture, ${a.traces} traces per architecture of ${a.commands} commands, ${a.files} corrupted captures`,
  );
  const t0 = Date.now();
  const results = await pool(parts, 2, (p) => spawnPart(p, a, dir, 60 * 60_000));
  let bad = 0;
  for (const r of results) {
    const f = r.figures;
    const crashed = r.code !== 0 || f === undefined;
    const lists = f
      ? (['crashes', 'failures', 'report', 'silent', 'strict'] as const).flatMap((k) =>
          Array.isArray(f[k]) ? (f[k] as string[]).map((x) => `${k}: ${x}`) : [],
        )
      : [];
    const summary = f
      ? Object.entries(f)
          .filter(([k, v]) => k !== 'part' && !Array.isArray(v))
          .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean | undefined)}`)
          .join(' ')
      : '';
    console.log(`${r.part}: ${crashed ? `CRASH (exit ${r.code}) ${r.stderr.trim().split('\n').slice(0, 5).join(' | ')}` : summary}`);
    for (const x of lists) console.log(`  ${x.split('\n')[0]}`);
    const silentOnly = lists.every((x) => x.startsWith('silent:'));
    if (crashed || (lists.length > 0 && !silentOnly)) bad++;
  }
  const crashes = results.reduce(
    (n, r) => n + (r.code !== 0 || r.figures === undefined ? 1 : ((r.figures['crashes'] as unknown[] | undefined)?.length ?? 0)),
    0,
  );
  console.log(`total: ${((Date.now() - t0) / 1000).toFixed(1)} s, crashes ${crashes}; scratch (failing copies kept): ${dir}`);
  return bad === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`invtrace fuzz: ${(e as Error).message}`);
    process.exit(2);
  },
);
