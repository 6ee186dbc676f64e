// The per-policy cost account: host work of one event aggregated per (host_ops kind, IOMMU) and
// written in (kind, IOMMU) order, whatever order the work came in; counts and clock as the table
// in cost/model.ts prices them.
import { describe, expect, it } from 'vitest';
import { compileCosts, workIndex } from './cost/model.js';
import { DEFAULT_COSTS } from './cost/params.js';
import { Ledger } from './ledger.js';
import { ALL_OP_KINDS, SUMMARY_COUNTS } from './tables.js';

const C = DEFAULT_COSTS;

describe('Ledger', () => {
  it('writes an event as one row per (kind, IOMMU), in kind then IOMMU order', () => {
    const l = new Ledger(compileCosts(C, 'smmuv3'), 3, 16);
    l.host({ kind: 'host_sync', iommu: 3, detail: '' });
    l.host({ kind: 'ioctl', iommu: 0, entries: 2, detail: '' });
    l.vmm(workIndex('trap'));
    l.host({ kind: 'host_sync', iommu: 0, detail: '' });
    l.host({ kind: 'host_sync', iommu: 3, detail: '' });
    const rows: unknown[][] = [];
    l.flush((...r) => rows.push(r));
    // OP_KINDS order: trap, vmm_cmd, ioctl, host_cmd, host_sync ...; iommu -1 is VMM work.
    expect(rows).toEqual([
      ['trap', -1, 1, 0, 0, C.trap_user],
      ['ioctl', 0, 1, 2, 32, C.ioctl + 2 * C.copy_per_entry], // bytes default to entries x entry_len 16
      ['host_sync', 0, 1, 0, 0, C.smmu_sync],
      ['host_sync', 3, 2, 0, 0, 2 * C.smmu_sync],
    ]);
    // The next event starts empty.
    const again: unknown[][] = [];
    l.flush((...r) => again.push(r));
    expect(again).toEqual([]);
    const counts = l.countsByName();
    expect(counts.traps).toBe(1);
    expect(counts.ioctls).toBe(1);
    expect(counts.host_syncs).toBe(3);
    expect(counts.bytes_copied).toBe(32);
    expect(Object.keys(counts)).toEqual([...SUMMARY_COUNTS]);
    expect(l.clock).toBeCloseTo(C.trap_user + C.ioctl + 2 * C.copy_per_entry + 3 * C.smmu_sync, 9);
  });

  it('charges a device that never answers the completion time-out, one that answers a round trip', () => {
    const l = new Ledger(compileCosts(C, 'vtd'), 0, 24);
    l.host({ kind: 'devtlb_inv', iommu: 0, detail: '' });
    expect(l.clock).toBe(C.atc_inv_rtt);
    l.host({ kind: 'devtlb_inv', iommu: 0, timedOut: true, detail: '' });
    expect(l.clock).toBe(C.atc_inv_rtt + C.atc_timeout);
    expect(l.countsByName().device_invalidations).toBe(2);
  });
});

describe('Ledger.flush with no sink', () => {
  it('ends the event all the same: the next one writes its own rows alone, sorted', () => {
    const l = new Ledger(compileCosts(C, 'smmuv3'), 3, 16);
    l.host({ kind: 'host_sync', iommu: 3, detail: '' });
    l.host({ kind: 'ioctl', iommu: 0, entries: 2, detail: '' });
    l.vmm(workIndex('trap'));
    l.flush(undefined); // compare: no host_ops table
    l.host({ kind: 'host_sync', iommu: 3, detail: '' });
    l.host({ kind: 'host_sync', iommu: 0, detail: '' });
    const rows: unknown[][] = [];
    l.flush((...r) => rows.push(r));
    expect(rows).toEqual([
      ['host_sync', 0, 1, 0, 0, C.smmu_sync],
      ['host_sync', 3, 1, 0, 0, C.smmu_sync],
    ]);
    expect(l.countsByName().host_syncs).toBe(3);
  });
});

describe('Ledger.host', () => {
  it('charges each host op kind by its own row of the cost model', () => {
    const hostKinds = ['ioctl', 'host_cmd', 'host_sync', 'host_doorbell', 'devtlb_inv', 'direct_cmd'] as const;
    const compiled = compileCosts(C, 'smmuv3');
    for (const kind of hostKinds) {
      const l = new Ledger(compiled, 0, 16);
      l.host({ kind, iommu: 0, detail: '' });
      const rows: unknown[][] = [];
      l.flush((...r) => rows.push(r));
      const w = workIndex(kind);
      expect(
        rows.map((r) => [r[0], r[5]]),
        kind,
      ).toEqual([[ALL_OP_KINDS[compiled.op[w]!], Math.round(compiled.cost[w]! * 1000) / 1000]]);
    }
  });
});

describe('Ledger without rows', () => {
  it('moves the clock and the counts as a ledger with rows does, and writes no row', () => {
    const withRows = new Ledger(compileCosts(C, 'smmuv3'), 3, 16);
    const without = new Ledger(compileCosts(C, 'smmuv3'), 3, 16, false);
    for (const l of [withRows, without]) {
      l.host({ kind: 'host_sync', iommu: 3, detail: '' });
      l.host({ kind: 'ioctl', iommu: 0, entries: 2, detail: '' });
      l.host({ kind: 'devtlb_inv', iommu: 0, timedOut: true, detail: '' });
      l.vmm(workIndex('trap'));
      l.wait(workIndex('host_sync'), 3, 1.5);
    }
    const rows: unknown[][] = [];
    without.flush((...r) => rows.push(r));
    expect(rows).toEqual([]);
    expect(without.clock).toBe(withRows.clock);
    expect(without.countsByName()).toEqual(withRows.countsByName());
  });
});
