// "Designs compared" (analyzers/report/designs.ts) on scenario (k): the rows follow the replay, the
// paragraphs' numbers are the scenario's derived ones, and the flip point the tlbi-on-map paragraph
// computes really flips the answer when the replay is run again with it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import { DEFAULT_COSTS, loadCosts } from '../../replay/cost/params.js';
import { runReplay } from '../../replay/run.js';
import { ROOT, tempDir } from '../../test/helpers.js';
import { designDebates, designRows, hasDesigns } from './designs.js';

const dir = tempDir();

async function scenarioTrace(name: string): Promise<string> {
  const trace = join(dir, `${name}.arrow`);
  await ingest([join(ROOT, 'samples/scenarios', `${name}.jsonl`)], { output: trace });
  return trace;
}

describe('Designs compared', () => {
  it('lists the designs the replay ran, in a fixed order; absent without them', async () => {
    const t = await scenarioTrace('k-vtd-caching-mode-map-unmap');
    const r = await runReplay(t, { policies: ['designs'] });
    expect(designRows(r).map((x) => x.policy)).toEqual([
      'qemu-accel',
      'per-command',
      'linear-batch',
      'kernel-ring',
      'shadow',
      'pv-map',
      'hw-direct',
      'migrate:from=hw-direct,to=linear-batch,at=50%',
    ]);
    expect(hasDesigns(r)).toBe(true);
    expect(hasDesigns(await runReplay(t, { policies: ['per-command', 'devtlb-nop'] }))).toBe(false);
  });

  it("the paragraphs carry the scenario's derived numbers", async () => {
    const r = await runReplay(await scenarioTrace('k-vtd-caching-mode-map-unmap'), { policies: ['designs'] });
    const text = designDebates(r, DEFAULT_COSTS).join('\n');
    // (k): 2 map flushes and 1 unmap flush; legacy VT-d, so QEMU takes the shadow path
    expect(text).toContain("67% of this trace's IOTLB invalidations are map flushes (2 of 3)");
    expect(text).toContain('QEMU took the shadow (legacy VT-d: caching mode, VFIO map/unmap) path');
    // pv-map pins 1 + 4 pages (the two maps) and unpins 1 (the unmap)
    expect(text).toContain('pv-map pins 5 pages and unpins 1');
  });

  it('the pin cost at which pv-map matches linear-batch does make them equal', async () => {
    const t = await scenarioTrace('k-vtd-caching-mode-map-unmap');
    const r = await runReplay(t, { policies: ['linear-batch', 'pv-map', 'shadow'] });
    const m = /would match linear-batch at ([\d.]+) µs per pinned page/.exec(designDebates(r, DEFAULT_COSTS).join('\n'));
    expect(m).not.toBeNull();
    const costs = join(dir, 'pin.json');
    writeFileSync(costs, JSON.stringify({ pin_page: Number(m![1]) }));
    const again = await runReplay(t, { policies: ['linear-batch', 'pv-map'], costsFile: costs });
    const [lb, pv] = again.policies;
    // within the rounding of the printed threshold (3 decimals) times the 6 pages pinned or unpinned
    expect(Math.abs(pv!.modeled_us - lb!.modeled_us)).toBeLessThan(0.01);
    // and with the default pin cost they differ
    expect(Math.abs(r.policies[1]!.modeled_us - r.policies[0]!.modeled_us)).toBeGreaterThan(0.5);
    expect((await loadCosts(costs)).pin_page).toBe(Number(m![1]));
  });
});
