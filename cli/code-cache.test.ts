// The bundled CLI's code cache (cli/code-cache.ts, trained by `npm run build`), on the built
// dist/bin/: the ingest chunks take their caches on this Node and give the same bytes as without;
// a cache V8 rejects (other flags) falls back to the normal compile; a rebuilt chunk with other bytes
// never takes the cache of the one it replaces; worker threads take theirs; the TUI (ink, an ES
// module, imported by the CommonJS bundle) still draws.

import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { capture, CLI, cliCodeCache, codeCacheReport, haveCaptures, ROOT, tempDir } from '../test/helpers.js';
import { cacheFile, HASHED_CHUNK } from './code-cache.js';

const dir = tempDir();
const BIN = dirname(CLI);
/** A plain QEMU log (the smallest capture, unzipped): the ingest of a log and nothing else. */
const plainLog = join(dir, 'plain.log');
if (haveCaptures) writeFileSync(plainLog, gunzipSync(readFileSync(capture('qemu-smmuv3-lazy.log.gz'))));
const chunks = (pattern: RegExp, names: Iterable<string>) => [...names].filter((f) => pattern.test(f));

describe.skipIf(!haveCaptures)('the code cache', () => {
  it('every chunk an ingest compiles takes its cache, and the output is the same without the caches', () => {
    const on = cliCodeCache({}, 'ingest', plainLog, '-o', join(dir, 'on.arrow'), '--json');
    expect(on.code).toBe(0);
    expect(on.threads).toHaveLength(1); // no worker thread for a plain log
    const report = on.threads[0]!;
    // The ingest command's two chunks (rolldown.config.js groups) and the command line's.
    expect(chunks(/^(ingest|ingest-shared|command-line|invtrace)-[\w-]{8}\.js$/, Object.keys(report))).toHaveLength(4);
    expect(new Set(Object.values(report))).toEqual(new Set(['accepted']));
    for (const chunk of Object.keys(report)) expect(existsSync(join(BIN, cacheFile(chunk)))).toBe(true);

    const off = spawnSync(process.execPath, [CLI, 'ingest', plainLog, '-o', join(dir, 'off.arrow'), '--json'], {
      encoding: 'utf8',
      env: { ...process.env, INVTRACE_CODE_CACHE: 'off' },
    });
    expect(off.status).toBe(0);
    expect(on.stdout.replace('on.arrow', 'off.arrow')).toBe(off.stdout);
    expect(on.stderr).toBe(off.stderr);
    expect(readFileSync(join(dir, 'on.arrow')).equals(readFileSync(join(dir, 'off.arrow')))).toBe(true);
  });

  it('a cache V8 rejects (--no-opt changes its flags) falls back to the normal compile, silently', () => {
    const r = cliCodeCache({ node: ['--no-opt'] }, 'ingest', plainLog, '-o', join(dir, 'no-opt.arrow'));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/smmuv3 trace, /);
    expect(new Set(Object.values(r.threads[0]!))).toEqual(new Set(['rejected']));
  });

  it('worker threads take their caches: a replay with --jobs 2, an ingest reading in its worker', () => {
    const trace = join(dir, 'pair.arrow');
    expect(cliCodeCache({}, 'ingest', capture('qemu-smmuv3-lazy.log.gz'), capture('guest-smmuv3-lazy.txt.gz'), '-o', trace).code).toBe(0);
    const replay = cliCodeCache({}, 'replay', trace, '-o', join(dir, 'replay'), '--jobs', '2');
    const ingest = cliCodeCache({ env: { INVTRACE_INGEST_WORKER: '1' } }, 'ingest', plainLog, '-o', join(dir, 'worker.arrow'));
    for (const [r, worker] of [
      [replay, /^replay-worker-/],
      [ingest, /^formats-ingest-qemu-worker-/],
    ] as const) {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      // The worker thread's own report, beside the command line's.
      expect(r.threads.filter((t) => chunks(worker, Object.keys(t)).length > 0)).toHaveLength(1);
      expect(r.threads.filter((t) => chunks(/^invtrace-/, Object.keys(t)).length > 0)).toHaveLength(1);
      for (const t of r.threads) expect(new Set(Object.values(t))).toEqual(new Set(['accepted']));
    }
  });

  it('a rebuilt chunk with other bytes has another name, so it never takes the cache of the one it replaces', () => {
    // A copy of the package bundled with caches from one ingest, then bundled again with one module of
    // the ingest command changed, and the first bundle's caches copied back over the new one (as an
    // install over an older version would leave them).
    const pkg = join(dir, 'pkg');
    cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true, filter: (f) => !f.startsWith(BIN) });
    for (const f of ['package.json', 'rolldown.config.js']) copyFileSync(join(ROOT, f), join(pkg, f));
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const bin = join(pkg, 'dist/bin');
    const bundle = () => {
      const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/rolldown/bin/cli.mjs'), '-c', 'rolldown.config.js'], {
        cwd: pkg,
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      return new Set(readdirSync(bin));
    };
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, [join(bin, 'invtrace.js'), 'ingest', plainLog, '-o', join(dir, 'rebuilt.arrow')], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });

    const report = () => {
      const r = run({ INVTRACE_CODE_CACHE: 'report' });
      expect(r.status).toBe(0);
      return Object.assign({}, ...codeCacheReport(r.stderr).values()) as Record<string, string>;
    };

    const first = bundle();
    expect(run({ INVTRACE_CODE_CACHE: 'train' }).status).toBe(0);
    const caches = readdirSync(bin).filter((f) => f.endsWith('.v8'));
    const saved = new Map(caches.map((f) => [f, readFileSync(join(bin, f))]));
    // The copy's caches do work: every chunk the ingest loads takes its own.
    const before = report();
    expect(Object.keys(before).sort()).toEqual(caches.map((f) => f.replace(/\.v8$/, '')).sort());
    expect(new Set(Object.values(before))).toEqual(new Set(['accepted']));

    const changed = join(pkg, 'dist/cli/commands/ingest.js');
    writeFileSync(changed, `${readFileSync(changed, 'utf8')}\nglobalThis.invtraceRebuilt = true;\n`);
    const second = bundle();
    for (const [f, bytes] of saved) writeFileSync(join(bin, f), bytes);
    const renamed = chunks(HASHED_CHUNK, second).filter((f) => !first.has(f));
    expect(chunks(/^ingest-[\w-]{8}\.js$/, renamed)).toHaveLength(1); // the chunk holding the changed module
    // Those that require it name it, so their bytes changed too: here every chunk the ingest loads.
    const after = report();
    for (const f of renamed) expect(after[f]).toBeUndefined(); // no cache under its name: Node's own compile
    for (const f of Object.keys(after)) expect([first.has(f), second.has(f), after[f]]).toEqual([true, true, 'accepted']);
  }, 90_000);
});

describe.skipIf(!haveCaptures || spawnSync('script', ['--version']).status !== 0)('the TUI from the CommonJS bundle', () => {
  it('loads ink (an ES module) and draws its first screen in a terminal, then quits on q', async () => {
    // `script` gives the TUI a terminal; `q`, once the screen is drawn, quits (exit 0: -e passes it
    // on), sent again every 2 s in case the first came before the TUI read keys (a loaded machine).
    const tui = `node ${CLI} tui ${capture('qemu-smmuv3-lazy.log.gz')}`;
    const child = spawn('script', ['-qec', tui, '/dev/null'], { env: { ...process.env, TERM: 'xterm' } });
    const plain = (t: string) => t.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '');
    let out = '';
    let resend: NodeJS.Timeout | undefined;
    const quit = () => child.stdin.write('q');
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      // the command list's header (cli/tui/smoke.sh waits for it too)
      if (resend === undefined && /seq +slot w op/.test(plain(out))) {
        quit();
        resend = setInterval(quit, 2000);
      }
    });
    const kill = setTimeout(() => child.kill(), 45_000);
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(resend);
    clearTimeout(kill);
    expect(status).toBe(0);
    expect(plain(out)).toMatch(/seq +slot w op/);
    expect(plain(out)).not.toMatch(/internal error|Error:/);
  }, 60_000);
});
