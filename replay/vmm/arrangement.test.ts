// The host arrangements (vmm/arrangement.ts) on the real host models: a shared vIOMMU (SMMUv3) or
// nested HWPT (VT-d) is one object the kernel fans out from, per physical unit; and the oracle's
// stale check, which probes each device through its own physical unit, flags a unit the host never
// reached and stays silent when every unit was reached.

import { describe, expect, it } from 'vitest';
import { classify } from '../../formats/classify.js';
import { SMMUV3 } from '../../formats/codecs.js';
import { unwrap } from '../../formats/result.js';
import type { Topology } from '../../formats/trace/header.js';
import type { HostOp, Smmuv3InvEntry } from '../host.js';
import { StaleOracle, type StaleFinding } from '../oracle.js';
import { cmd } from '../smmuv3/encode.js';
import { DATA_ARM_SMMUV3, Smmuv3Host } from '../smmuv3/host.js';
import { IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, VTD_S1_INV_ENTRY_LEN, VtdHost } from '../vtd/host.js';
import { takeArrangement } from './arrangement.js';

// Two physical SMMUs (VMIDs 1 and 2); ASID 1 has a device behind each, ASID 3 one behind SMMU 0.
const TOPO: Topology = {
  iommus: [
    { id: 0, vmid: 1 },
    { id: 1, vmid: 2 },
  ],
  devices: [
    { sid: 0x8, psid: 0x108, iommu: 0, ats: false, domain: 1, hwpt: 0 },
    { sid: 0x10, psid: 0x210, iommu: 1, ats: false, domain: 1, hwpt: 0 },
    { sid: 0x18, psid: 0x118, iommu: 0, ats: false, domain: 3, hwpt: 0 },
  ],
};
const PAGE = 0x10_0000n;
const va = (asid: number): Smmuv3InvEntry => {
  const w = cmd('CMD_TLBI_NH_VA', { VMID: 77, ASID: asid, ADDR: PAGE, LEAF: 1 });
  return [w[0], w[1]];
};

function smmu(arrangement: 'per-iommu' | 'shared') {
  const ops: HostOp[] = [];
  const host = new Smmuv3Host(TOPO, (o) => ops.push(o), undefined, { arrangement });
  const inv = (id: number, entries: Smmuv3InvEntry[]) =>
    host.invalidate({ id, dataType: DATA_ARM_SMMUV3, entryLen: 16, entries, entryNum: entries.length });
  const count = (k: HostOp['kind'], iommu?: number) => ops.filter((o) => o.kind === k && (iommu === undefined || o.iommu === iommu)).length;
  return { host, ops, inv, count };
}

describe('SMMUv3: one vIOMMU holding a VMID per physical SMMU', () => {
  it('lists one object spanning both SMMUs; per-iommu lists one per SMMU', () => {
    expect(smmu('shared').host.objects.map((o) => [o.iommu, o.devices, o.spans])).toEqual([[0, [0x8, 0x18, 0x10], [0, 1]]]);
    expect(smmu('per-iommu').host.objects.map((o) => [o.iommu, o.devices, o.spans])).toEqual([
      [0, [0x8, 0x18], undefined],
      [1, [0x10], undefined],
    ]);
  });

  it("one ioctl; the kernel converts a TLBI with each SMMU's VMID and issues it + CMD_SYNC on both", () => {
    const s = smmu('shared');
    for (const sid of [0x8, 0x10]) expect(s.host.translate(sid, undefined, PAGE).ok).toBe(true);
    expect(s.inv(s.host.objects[0]!.id, [va(1)])).toEqual({ errno: 0, entryNum: 1 });
    // 1 ioctl; 1 command and 1 sync per SMMU
    expect([s.count('ioctl'), s.count('host_cmd', 0), s.count('host_cmd', 1), s.count('host_sync', 0), s.count('host_sync', 1)]).toEqual([
      1, 1, 1, 1, 1,
    ]);
    // the entries are gone on both SMMUs: VMID 1 on SMMU 0 and VMID 2 on SMMU 1 were each forced
    expect([s.host.cached(0x8, undefined, PAGE).iotlb, s.host.cached(0x10, undefined, PAGE).iotlb]).toEqual([false, false]);
  });

  it('a TLBI of an ASID living behind SMMU 0 alone still reaches both (the kernel cannot tell): the cost of sharing', () => {
    const shared = smmu('shared');
    shared.inv(shared.host.objects[0]!.id, [va(3)]);
    expect([shared.count('host_cmd', 0), shared.count('host_cmd', 1)]).toEqual([1, 1]);
    // per-iommu: the VMM targets SMMU 0's vIOMMU only (vmm/smmuv3.ts asidTargets)
    const per = smmu('per-iommu');
    per.inv(per.host.objects[0]!.id, [va(3)]);
    expect([per.count('host_cmd', 0), per.count('host_cmd', 1)]).toEqual([1, 0]);
  });

  it('a SID-scoped command goes to the SMMU of its vDEVICE only; an unknown vSID is EIO', () => {
    const s = smmu('shared');
    const cd = cmd('CMD_CFGI_CD', { SID: 0x10, SSID: 0, LEAF: 1 });
    expect(s.inv(s.host.objects[0]!.id, [[cd[0], cd[1]]])).toEqual({ errno: 0, entryNum: 1 });
    expect([s.count('host_cmd', 0), s.count('host_cmd', 1)]).toEqual([0, 1]);
    const bad = cmd('CMD_CFGI_CD', { SID: 0x99, SSID: 0, LEAF: 1 });
    expect(s.inv(s.host.objects[0]!.id, [va(1), [bad[0], bad[1]]])).toEqual({ errno: 'EIO', entryNum: 1 });
  });
});

describe('VT-d: one nested HWPT of a guest domain on both units', () => {
  const T: Topology = {
    iommus: [
      { id: 0, vmid: 0 },
      { id: 1, vmid: 0 },
    ],
    devices: [
      { sid: 0x100, psid: 0x100, iommu: 0, ats: true, domain: 6, hwpt: 0 },
      { sid: 0x110, psid: 0x110, iommu: 1, ats: true, domain: 6, hwpt: 0 },
    ],
  };
  it('one entry is flushed on both units: P-IOTLB + the device-TLB there, and a wait, per unit', () => {
    const ops: HostOp[] = [];
    const host = new VtdHost(T, (o) => ops.push(o), undefined, { arrangement: 'shared' });
    expect(host.objects.map((o) => o.spans)).toEqual([[0, 1]]);
    for (const sid of [0x100, 0x110]) expect(host.translate(sid, undefined, PAGE).ok).toBe(true);
    const r = host.invalidate({
      id: host.objects[0]!.id,
      dataType: IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
      entryLen: VTD_S1_INV_ENTRY_LEN,
      entries: [{ addr: PAGE, npages: 1n, flags: 0, reserved: 0 }],
      entryNum: 1,
    });
    expect(r).toEqual({ errno: 0, entryNum: 1 });
    const n = (k: HostOp['kind'], iommu: number) => ops.filter((o) => o.kind === k && o.iommu === iommu).length;
    expect([
      ops.filter((o) => o.kind === 'ioctl').length,
      n('host_cmd', 0),
      n('host_cmd', 1),
      n('host_sync', 0),
      n('host_sync', 1),
    ]).toEqual([1, 2, 2, 1, 1]);
    for (const sid of [0x100, 0x110]) expect(host.cached(sid, undefined, PAGE)).toMatchObject({ iotlb: false, atc: false });
    // per-iommu: two nested HWPTs, one per unit
    expect(new VtdHost(T, () => {}).objects.map((o) => o.iommu)).toEqual([0, 1]);
  });
});

describe('the oracle checks each physical unit that may cache a covered translation', () => {
  // The guest's TLBI_NH_VA of ASID 1, covering devices 0x8 (SMMU 0) and 0x10 (SMMU 1).
  const d = SMMUV3.decode(unwrap(SMMUV3.encode('CMD_TLBI_NH_VA', { ASID: 1, ADDR: PAGE, LEAF: 1 })));
  const run = (reach: (s: ReturnType<typeof smmu>) => void): StaleFinding[] => {
    const s = smmu('per-iommu');
    const oracle = new StaleOracle(TOPO, 'smmuv3', s.host);
    oracle.published(0, 0, d, classify(d));
    reach(s);
    const found: StaleFinding[] = [];
    oracle.completedBefore(1, 'the CMD_SYNC at slot 1 completed', (f) => found.push(f));
    return found;
  };
  it('fires for the device behind the SMMU the VMM skipped', () => {
    const found = run((s) => s.inv(s.host.objects[0]!.id, [va(1)])); // SMMU 0's vIOMMU only
    expect(found).toHaveLength(1);
    expect(found[0]!.hits.map((h) => [h.probe.sid, h.hit])).toEqual([[0x10, 'IOTLB entry']]);
  });
  it('stays silent when both SMMUs were reached', () => {
    expect(
      run((s) => {
        for (const o of s.host.objects) s.inv(o.id, [va(1)]);
      }),
    ).toEqual([]);
  });
});

describe('takeArrangement', () => {
  it('splits viommu off the variant; per-iommu by default; refuses other values', () => {
    expect(takeArrangement({ split_on_wrap: 'true', viommu: 'shared' }, 'p')).toEqual({
      arrangement: 'shared',
      rest: { split_on_wrap: 'true' },
    });
    expect(takeArrangement({}, 'p')).toEqual({ arrangement: 'per-iommu', rest: {} });
    expect(() => takeArrangement({ viommu: 'one' }, 'per-command:viommu=one')).toThrow(
      'per-command:viommu=one: viommu must be one of per-iommu, shared, not "one"',
    );
  });
});
