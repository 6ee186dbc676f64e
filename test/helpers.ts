// Shared test helpers: temporary folders, the shared captures, and running the built CLI.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';
import { cliScript } from '../formats/paths.js';

export const ROOT = resolve(import.meta.dirname, '..');
/** The real captures (copied from ../shared/captures, bundled so tests run on any checkout). */
export const CAPTURES = resolve(ROOT, 'samples/captures');
export const capture = (name: string) => join(CAPTURES, name);
export const haveCaptures = existsSync(CAPTURES);
/** The CLI as users run it (package.json's bin). */
export const CLI = cliScript();

/** A temporary folder removed after the test file. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'invtrace-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the compiled CLI (npm test builds it first). */
export function cli(...args: string[]): CliResult {
  return cliWith({}, ...args);
}

/** `cli` with Node options before the script (`node`), another copy of the bundle (`script`), and environment variables added. */
export function cliWith(opts: { node?: string[]; script?: string; env?: Record<string, string> }, ...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [...(opts.node ?? []), opts.script ?? CLI, ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export type CodeCacheOutcome = 'accepted' | 'rejected' | 'none';
const CODE_CACHE_LINE = /^\{"code-cache":.*\}$/;

/** The INVTRACE_CODE_CACHE=report lines of a run's stderr (cli/code-cache.ts), per thread: chunk -> what V8 did with its cache. */
export function codeCacheReport(stderr: string): Map<number, Record<string, CodeCacheOutcome>> {
  const threads = new Map<number, Record<string, CodeCacheOutcome>>();
  for (const line of stderr.split('\n').filter((l) => CODE_CACHE_LINE.test(l))) {
    const r = JSON.parse(line) as { 'code-cache': Record<string, CodeCacheOutcome>; thread: number };
    threads.set(r.thread, { ...threads.get(r.thread), ...r['code-cache'] });
  }
  return threads;
}

/**
 * A run of the bundled CLI with INVTRACE_CODE_CACHE=report (cli/code-cache.ts): its result with the
 * report lines taken off stderr, and each thread's report (chunk -> what V8 did with its cache).
 */
export function cliCodeCache(
  opts: { node?: string[]; script?: string; env?: Record<string, string> },
  ...args: string[]
): CliResult & { readonly threads: Record<string, CodeCacheOutcome>[] } {
  const r = cliWith({ ...opts, env: { ...opts.env, INVTRACE_CODE_CACHE: 'report' } }, ...args);
  const stderr = r.stderr
    .split('\n')
    .filter((l) => !CODE_CACHE_LINE.test(l))
    .join('\n');
  return { ...r, stderr, threads: [...codeCacheReport(r.stderr).values()] };
}

/**
 * The built-in modules the CLI loaded running `args` (`process.moduleLoadList` at its exit, as
 * `NativeModule <name>` entries): what a start-up cost test looks for. The run must succeed. stdout
 * is a pipe, or /dev/null with `stdout: 'ignore'`. The list is taken before anything is written, and
 * written with fs.writeSync taken through `require`, so that the hook itself makes no stderr stream
 * and builds no ES namespace of node:fs (either would load the stream modules).
 */
export function cliBuiltinsWith(opts: { stdout?: 'pipe' | 'ignore' }, ...args: string[]): string[] {
  const atExit = [
    "import { createRequire } from 'node:module';",
    "const { writeSync } = createRequire('/')('node:fs');",
    "process.on('exit', () => { const loaded = JSON.stringify(process.moduleLoadList); writeSync(2, loaded); });",
  ].join('');
  const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(atExit)}`, CLI, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`invtrace ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stderr) as string[];
}

/** `cliBuiltinsWith` with stdout a pipe. */
export const cliBuiltins = (...args: string[]): string[] => cliBuiltinsWith({}, ...args);

/** The ingest inputs of each real capture run: the QEMU log (plus, for the scalable run, the guest
 * trace, which alone has the PASID descriptors' words; samples/captures/README.md caveats). */
export const CAPTURE_RUNS = {
  'vtd-legacy-strict': ['qemu-vtd-legacy-strict.log.gz'],
  'vtd-legacy-lazy': ['qemu-vtd-legacy-lazy.log.gz'],
  'vtd-scalable-strict': ['qemu-vtd-scalable-strict.log.gz', 'guest-vtd-scalable-strict.txt.gz'],
  'smmuv3-strict': ['qemu-smmuv3-strict.log.gz'],
  'smmuv3-lazy': ['qemu-smmuv3-lazy.log.gz'],
} as const;
export type CaptureRun = keyof typeof CAPTURE_RUNS;

/** Ingests a capture run into `dir` once per test file; returns the trace path. */
const ingested = new Map<string, Promise<string>>();
export function captureTrace(run: CaptureRun, dir: string): Promise<string> {
  const key = `${dir}/${run}`;
  let p = ingested.get(key);
  if (p === undefined) {
    const out = join(dir, `${run}.arrow`);
    p = import('../formats/ingest/ingest.js').then(({ ingest }) => ingest(CAPTURE_RUNS[run].map(capture), { output: out })).then(() => out);
    ingested.set(key, p);
  }
  return p;
}
