// Generator speed and memory: `invtrace gen` of 1M and 10M commands, each size in a child process
// of its own so its peak RSS is clean. Flat memory shows as the same peak for 1M and 10M (batches
// stream to disk; the generator's state is O(devices + live mappings)).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Bench, Measurement } from './harness.js';

const SIZES = [1_000_000, 10_000_000];
const WORKLOADS = ['vtd', 'smmuv3'];

interface ChildResult {
  readonly seconds: number;
  readonly peakRssMiB: number;
  readonly commands: number;
  readonly rows: number;
}

function child(workload: string, commands: number, out: string): ChildResult {
  const here = import.meta.dirname;
  const gen = pathToFileURL(join(here, '../samples/gen/generate.js')).href;
  const harness = pathToFileURL(join(here, 'harness.js')).href;
  const script = `
    const { plan, generate } = await import(${JSON.stringify(gen)});
    const { timeIt, peakRssMiB } = await import(${JSON.stringify(harness)});
    const p = plan(${JSON.stringify(workload)}, { commands: ${JSON.stringify(String(commands))} });
    if (!p.ok) throw new Error(p.error.message);
    const { seconds, value } = await timeIt(() => generate(p.value, ${JSON.stringify(out)}));
    console.log(JSON.stringify({ seconds, peakRssMiB: peakRssMiB(), commands: value.commands, rows: value.rows }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`gen bench child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

export const benches: readonly Bench[] = [
  {
    name: 'gen',
    async run() {
      const dir = mkdtempSync(join(tmpdir(), 'invtrace-gen-bench-'));
      const out: Measurement[] = [];
      try {
        for (const w of WORKLOADS) {
          for (const n of SIZES) {
            const file = join(dir, `${w}-${n}.arrow`);
            const r = child(w, n, file);
            const label = `${w} ${n / 1e6}M commands`;
            out.push({
              name: `${label}: time`,
              value: r.seconds,
              unit: 's',
              note: `${Math.round(r.commands / r.seconds).toLocaleString('en-US')} cmd/s, ${r.rows.toLocaleString('en-US')} rows`,
            });
            out.push({ name: `${label}: peak RSS`, value: r.peakRssMiB, unit: 'MiB' });
            out.push({ name: `${label}: file`, value: statSync(file).size / 2 ** 20, unit: 'MiB' });
            rmSync(file, { force: true });
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return out;
    },
  },
];
