// TUI speed and memory (`npm run bench -- tui`): a 1M-command SMMUv3 trace from the workload
// generator (`invtrace gen smmuv3 --commands 1000000 --requests 100000000`), read into the TUI's
// model and scrolled key by key in the real App (bench/tui-keys.ts, in a child process of its own
// so its RSS is the TUI's); and `invtrace --help`, which must not load Ink or React.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cliScript } from '../formats/paths.js';
import { generate, plan } from '../samples/gen/generate.js';
import type { Bench, Measurement } from './harness.js';
import type { TuiBenchResult } from './tui-keys.js';

const COMMANDS = Number(process.env.INVTRACE_BENCH_TUI_COMMANDS ?? 1_000_000);

function child(trace: string): TuiBenchResult {
  const mod = pathToFileURL(join(import.meta.dirname, 'tui-keys.js')).href;
  // As `invtrace tui` runs it (cli/commands/tui.ts): not CI (Ink would draw only a last frame), React's production build.
  const script = `process.env.CI = 'false'; process.env.NODE_ENV = 'production'; const { measureTui } = await import(${JSON.stringify(mod)});
    console.log(JSON.stringify(await measureTui(${JSON.stringify(trace)})));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 1 << 22 });
  if (r.status !== 0) throw new Error(`tui bench child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TuiBenchResult;
}

function helpSeconds(reps = 5): number {
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [cliScript(), '--help'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`invtrace --help: ${r.stderr}`);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

export const benches: readonly Bench[] = [
  {
    name: 'tui',
    async run(): Promise<Measurement[]> {
      const dir = mkdtempSync(join(tmpdir(), 'invtrace-bench-tui-'));
      try {
        const trace = join(dir, 'big.arrow');
        const p = plan('smmuv3', { commands: String(COMMANDS), requests: '100000000' });
        if (!p.ok) throw new Error(p.error.message);
        await generate(p.value, trace);
        const r = child(trace);
        const rows = `${r.rows.toLocaleString('en-US')} rows`;
        const out: Measurement[] = [
          { name: 'invtrace --help (no Ink, no React)', value: helpSeconds(), unit: 's', note: 'best of 5' },
          { name: `read ${COMMANDS.toLocaleString('en-US')}-command trace into the model`, value: r.loadSeconds, unit: 's', note: rows },
          { name: 'model: typed arrays', value: r.modelMiB, unit: 'MiB', note: `${((r.modelMiB * 2 ** 20) / r.rows).toFixed(0)} B/row` },
          { name: 'RSS with the trace loaded', value: r.rssLoadedMiB, unit: 'MiB' },
          { name: 'RSS after every key below', value: r.rssAfterKeysMiB, unit: 'MiB' },
          {
            name: 'RSS after 5,000 keys and 5 filters more',
            value: r.rssAgainMiB,
            unit: 'MiB',
            note: `JS heap ${r.heapMiB.toFixed(0)} MiB`,
          },
        ];
        for (const k of r.keys) {
          out.push({
            name: `key ${k.key}: mean`,
            value: k.meanMs,
            unit: 'ms',
            note: `p50 ${k.p50Ms.toFixed(2)}, p99 ${k.p99Ms.toFixed(2)}, max ${k.maxMs.toFixed(2)} ms over ${k.presses}${k.bytesPerKey ? `; ${Math.round(k.bytesPerKey)} B written a key` : ''}`,
          });
        }
        return out;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
