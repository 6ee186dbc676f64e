// Replay throughput: guest commands per second through the whole engine (bare-hardware reference,
// oracle probes, host model, physical units, cost model) for each policy, on the largest real
// capture (vtd-scalable-strict, QEMU + guest merged) and on a generated 1M-command SMMUv3 trace
// (4 devices, half with ATS, Linux 6.12 batching). One policy per run, so each figure is that
// policy alone plus the shared reference.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingest } from '../formats/ingest/ingest.js';
import { openTrace } from '../formats/trace/io.js';
import { traceInfo } from '../formats/trace/info.js';
import { ALL_POLICIES } from '../replay/policies/index.js';
import { runReplay } from '../replay/run.js';
import { generate, plan } from '../samples/gen/generate.js';
import { timeIt, type Bench, type Measurement } from './harness.js';

const capture = (f: string) => fileURLToPath(new URL(`../../samples/captures/${f}`, import.meta.url));

async function perPolicy(label: string, trace: string): Promise<Measurement[]> {
  const commands = (await traceInfo(await openTrace(trace))).commands;
  const out: Measurement[] = [];
  for (const policy of ALL_POLICIES) {
    const { seconds } = await timeIt(() => runReplay(trace, { policies: [policy] }));
    out.push({ name: `${label}: ${policy}`, value: commands / seconds, unit: 'cmd/s', note: `${commands} commands in ${seconds.toFixed(2)} s` });
  }
  const { seconds } = await timeIt(() => runReplay(trace, { policies: ['all'] }));
  out.push({ name: `${label}: all ${ALL_POLICIES.length} policies in one pass`, value: commands / seconds, unit: 'cmd/s', note: `${seconds.toFixed(2)} s` });
  return out;
}

export const benches: readonly Bench[] = [
  {
    name: 'replay',
    async run() {
      const dir = mkdtempSync(join(tmpdir(), 'invtrace-bench-replay-'));
      try {
        const real = join(dir, 'vtd-scalable-strict.arrow');
        await ingest([capture('qemu-vtd-scalable-strict.log.gz'), capture('guest-vtd-scalable-strict.txt.gz')], { output: real });
        const gen = join(dir, 'gen-1m.arrow');
        const p = plan('smmuv3', { commands: '1000000', requests: '100000000', seed: '7' });
        if (!p.ok) throw new Error(p.error.message);
        await generate(p.value, gen);
        return [...(await perPolicy('vtd-scalable-strict (34,762 descriptors)', real)), ...(await perPolicy('generated smmuv3, 1M commands', gen))];
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
