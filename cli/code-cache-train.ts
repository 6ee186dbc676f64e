// The training run of the bundled CLI's code cache (cli/code-cache.ts), the last step of `npm run
// build`: a few commands on the bundled captures, run with INVTRACE_CODE_CACHE=train, each ending by
// saving the bytecode of what it compiled (and what the caches it started from held) beside each
// chunk. What they cover is what the caches hold: an ingest of a plain and a gzip QEMU log of each
// architecture (one through the reading worker thread), a pair, a guest trace alone, and a replay
// (its policy worker threads), ~2 s in all. A command the run does not cover still takes the caches
// of the chunks it shares, and compiles the rest as before.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cliScript, packageRoot } from '../formats/paths.js';

const captures = join(packageRoot(), 'samples/captures');
const capture = (name: string) => join(captures, name);

/** The training commands (`dir` a scratch folder), with the environment each adds. */
function commands(dir: string, plainLog: string): { args: string[]; env?: Record<string, string> }[] {
  const trace = join(dir, 'pair.arrow');
  return [
    { args: ['ingest', plainLog, '-o', join(dir, 'plain.arrow')] },
    { args: ['ingest', capture('qemu-vtd-legacy-lazy.log.gz'), '-o', join(dir, 'gz.arrow'), '--json'] },
    { args: ['ingest', capture('qemu-vtd-legacy-lazy.log.gz'), '-o', join(dir, 'worker.arrow')], env: { INVTRACE_INGEST_WORKER: '1' } },
    { args: ['ingest', capture('qemu-smmuv3-lazy.log.gz'), capture('guest-smmuv3-lazy.txt.gz'), '-o', trace] },
    { args: ['ingest', capture('guest-vtd-legacy-lazy.txt.gz'), '-o', join(dir, 'guest.arrow')] },
    { args: ['replay', trace, '-o', join(dir, 'replay'), '--jobs', '2'] },
  ];
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'invtrace-code-cache-'));
  try {
    const plainLog = join(dir, 'plain.log');
    writeFileSync(plainLog, gunzipSync(readFileSync(capture('qemu-smmuv3-lazy.log.gz'))));
    for (const { args, env } of commands(dir, plainLog)) {
      const r = spawnSync(process.execPath, [cliScript(), ...args], {
        env: { ...process.env, ...env, INVTRACE_CODE_CACHE: 'train' },
        stdio: ['ignore', 'ignore', 'pipe'],
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`code cache training: invtrace ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    // A worker thread's cache cut short by the end of its process (the main thread's exit ends it)
    // leaves its temporary file, never a partial cache.
    const bin = dirname(cliScript());
    for (const f of readdirSync(bin)) if (f.endsWith('.tmp')) rmSync(join(bin, f));
  }
}

main();
