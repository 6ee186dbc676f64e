// The cost model against published end-to-end figures (spec/costs.md "End-to-end checks"), on the
// real SMMUv3 capture: hardware-direct queues take 70-90 % less invalidation time than the trapped
// path on Grace (S10, hw_direct_ratio 0.1-0.3), and per-command accel costs trap_user plus
// ~1.6 us per command of a doorbell (S20).
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import { capture, tempDir } from '../../test/helpers.js';
import type { ReplayOutput } from '../replayer.js';
import { runReplay } from '../run.js';
import { COST_PARAMS, DEFAULT_COSTS, loadCosts } from './params.js';

const dir = tempDir();
let r: ReplayOutput;

beforeAll(async () => {
  const trace = join(dir, 'smmuv3-strict.arrow');
  await ingest([capture('qemu-smmuv3-strict.log.gz'), capture('guest-smmuv3-strict.txt.gz')], { output: trace });
  r = await runReplay(trace, { policies: ['hw-direct', 'per-command'] });
});

describe('cost model checks on the real smmuv3-strict capture', () => {
  it('hw-direct / per-command falls in the published 0.1-0.3 range', () => {
    const [direct, trapped] = r.policies;
    const ratio = direct!.modeled_us / trapped!.modeled_us;
    expect(ratio).toBeGreaterThan(0.1);
    expect(ratio).toBeLessThan(0.3);
  });
  it('per-command per doorbell ~ trap_user + N*(vmm_per_cmd + ioctl + host_cmd + host_doorbell + smmu_sync)', () => {
    // Linux 6.1 strict: one TLBI + one CMD_SYNC per doorbell; the VMM owns the CMD_SYNC.
    const c = DEFAULT_COSTS;
    const perDoorbell = c.trap_user + 2 * c.vmm_per_cmd + c.ioctl + c.copy_per_entry + c.host_cmd + c.host_doorbell + c.smmu_sync;
    const p = r.policies[1]!;
    expect(p.p50_us).toBeCloseTo(perDoorbell, 2);
  });
  it('every default is documented with a source or marked an assumption', async () => {
    for (const p of COST_PARAMS) expect(p.source.length > 0 && ['M', 'D', 'A'].includes(p.tag), p.key).toBe(true);
    await expect(loadCosts(join(dir, 'missing.json'))).rejects.toThrow(/no such file/);
  });
});

describe('the cost model table (replay/cost/model.ts)', () => {
  it('prices every kind of VMM and host work, and every cost key prices some work', async () => {
    const { COST_MODEL, compileCosts, workIndex } = await import('./model.js');
    // The work kinds of policy.ts (VmmOpKind) and host.ts (HostOpKind), written out here as the contract.
    const kinds = [
      'trap',
      'trap_kernel',
      'vmm_cmd',
      'pt_read',
      'pin',
      'map_ioctl',
      'ioctl',
      'host_cmd',
      'host_sync',
      'host_doorbell',
      'devtlb_inv',
      'direct_cmd',
    ] as const;
    for (const k of kinds) expect(() => workIndex(k), k).not.toThrow();
    expect(() => workIndex('no_such_work' as never)).toThrow(/no row/);
    const used = new Set<string>();
    for (const w of COST_MODEL) {
      for (const p of [w.param, w.perEntry, w.timedOut]) {
        if (p === undefined) continue;
        if (typeof p === 'string') used.add(p);
        else Object.values(p).forEach((v) => used.add(v));
      }
    }
    // hw_direct_ratio is the published figure the model is checked against, not a price.
    const unused = COST_PARAMS.map((p) => p.key as string).filter((k) => !used.has(k) && k !== 'hw_direct_ratio');
    expect(unused).toEqual([]);
    // A device that never answers costs the PCIe completion time-out, one that answers a round trip.
    const c = compileCosts(DEFAULT_COSTS, 'smmuv3');
    const d = workIndex('devtlb_inv');
    expect(c.cost[d]).toBe(DEFAULT_COSTS.atc_inv_rtt);
    expect(c.timedOut[d]).toBe(DEFAULT_COSTS.atc_timeout);
    expect(c.cost[workIndex('host_sync')]).toBe(DEFAULT_COSTS.smmu_sync);
    expect(compileCosts(DEFAULT_COSTS, 'vtd').cost[workIndex('host_sync')]).toBe(DEFAULT_COSTS.vtd_wait);
  });

  it('rejects a cost key nothing prices', async () => {
    const f = join(dir, 'costs.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(f, JSON.stringify({ iotlb_miss: 1 }));
    await expect(loadCosts(f)).rejects.toThrow(/unknown cost key/);
    writeFileSync(f, JSON.stringify({ trap_kernel: 1 }));
    await expect(loadCosts(f)).resolves.toMatchObject({ trap_kernel: 1 });
  });
});
