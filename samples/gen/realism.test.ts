// The realism check (issue 7): each capture profile's generated trace against the real run it is
// named after. The capture-side numbers are computed here from the capture files (both sides
// ingested), never copied from generator output; the tolerances and their reasons are TOLERANCE
// in realism.ts. A generated trace compared with the wrong capture must fail.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAPTURES, haveCaptures, tempDir } from '../../test/helpers.js';
import { generate, plan } from './generate.js';
import { captureStats, compareStats, traceStats, type TrafficStats } from './realism.js';
import { WORKLOADS } from './workloads.js';

const dir = tempDir();
const profiles = WORKLOADS.filter((w) => w.capture !== undefined);

async function generated(name: string): Promise<TrafficStats> {
  const p = plan(name, {});
  if (!p.ok) throw new Error(p.error.message);
  const file = join(dir, `${name}.arrow`);
  await generate(p.value, file);
  return traceStats(file);
}

describe.skipIf(!haveCaptures).each(profiles.map((w) => [w.name, w.capture!] as const))('%s', (name, run) => {
  it(`reproduces the statistics of capture ${run}`, async () => {
    const [cap, gen] = await Promise.all([captureStats(CAPTURES, run, dir), generated(name)]);
    const rows = compareStats(cap, gen);
    console.log(
      `${name} vs ${run}\n${rows.map((r) => `  ${r.ok ? 'ok ' : 'BAD'} ${r.metric}: capture ${r.capture} | generated ${r.generated} | diff ${r.difference.toFixed(3)} (tol ${r.tolerance})`).join('\n')}`,
    );
    expect(rows.filter((r) => !r.ok)).toEqual([]);
    // Every statistic had something to compare.
    expect(Object.keys(cap.ops).length).toBeGreaterThan(3);
    expect(Object.keys(cap.perDoorbell).length).toBeGreaterThan(0);
  });
});

describe.skipIf(!haveCaptures)('the check can fail', () => {
  it('a strict trace does not pass for a lazy capture, nor a 6.12 batched one for a 6.1 capture', async () => {
    const strict = await generated('linux-6.1-vtd-strict');
    expect(compareStats(await captureStats(CAPTURES, 'vtd-legacy-lazy', dir), strict).some((r) => !r.ok)).toBe(true);
    const p = plan('linux-6.1-vtd-strict', { kernel: '6.12' });
    if (!p.ok) throw new Error(p.error.message);
    await generate(p.value, join(dir, 'batched.arrow'));
    const batched = await traceStats(join(dir, 'batched.arrow'));
    const rows = compareStats(await captureStats(CAPTURES, 'vtd-legacy-strict', dir), batched);
    expect(rows.find((r) => r.metric === 'entries per doorbell (mean)')?.ok).toBe(false);
  });
});
