// The host kernel model: IOMMU_HWPT_INVALIDATE on an SMMUv3 vIOMMU as iommufd and
// arm_vsmmu_cache_invalidate process it (spec/smmuv3.md §5.1–§5.3), checked on the physical
// SMMUs' caches; the VMM's nested-STE install and the direct (VCMDQ-like) queue (§5.4).
import { describe, expect, it } from 'vitest';
import type { Topology } from '../../formats/trace/header.js';
import { RequestMemo, type HostOp, type HwptInvalidate, type Smmuv3InvEntry } from '../host.js';
import { cmd, type Words } from './encode.js';
import { DATA_ARM_SMMUV3, Smmuv3Host } from './host.js';

const TOPO: Topology = {
  iommus: [
    { id: 0, vmid: 1 },
    { id: 1, vmid: 2 },
  ],
  devices: [
    { sid: 0x8, psid: 0x108, iommu: 0, ats: true, domain: 1, hwpt: 0 },
    { sid: 0x10, psid: 0x210, iommu: 1, ats: false, domain: 2, hwpt: 0 },
    { sid: 0x18, psid: 0x118, iommu: 0, ats: false, domain: 3, hwpt: 0 },
  ],
};
const page = (i: number) => 0x10_0000n + BigInt(i) * 0x1000n;
/** A guest TLBI_NH_VA of device 0x8's ASID for page i, with a VMID the host must overwrite. */
const va = (i: number, asid = 1): Words => cmd('CMD_TLBI_NH_VA', { VMID: 77, ASID: asid, ADDR: page(i), LEAF: 1 });

function setup() {
  const ops: HostOp[] = [];
  const host = new Smmuv3Host(TOPO, (o) => ops.push(o));
  const viommu = (iommu: number) => host.objects.find((o) => o.iommu === iommu)!.id;
  const fill = (n: number, sid = 0x8) => {
    for (let i = 0; i < n; i++) expect(host.translate(sid, undefined, page(i)).ok).toBe(true);
  };
  const hit = (i: number, sid = 0x8) => host.cached(sid, undefined, page(i)).iotlb;
  const inv = (entries: readonly Smmuv3InvEntry[] | null, over: Partial<HwptInvalidate<Smmuv3InvEntry>> = {}) =>
    host.invalidate({ id: viommu(0), dataType: DATA_ARM_SMMUV3, entryLen: 16, entries, entryNum: entries?.length ?? 0, ...over });
  const count = (k: HostOp['kind']) => ops.filter((o) => o.kind === k).length;
  return { host, ops, viommu, fill, hit, inv, count };
}

describe('objects and translation through the physical SMMUs (spec/smmuv3.md §5.1, §5.2 item 3)', () => {
  it('one vIOMMU per physical SMMU the VM spans, holding its devices', () => {
    const { host } = setup();
    expect(host.units).toHaveLength(2);
    expect(host.objects.map((o) => [o.kind, o.iommu, o.devices])).toEqual([
      ['viommu', 0, [0x8, 0x18]],
      ['viommu', 1, [0x10]],
    ]);
  });

  it("a device probe walks its SMMU with the guest ASID and that SMMU's VMID, into its ATC", () => {
    const { host } = setup();
    expect(host.translate(0x8, undefined, page(0)).ok).toBe(true);
    expect(host.cached(0x8, undefined, page(0))).toEqual({ iotlb: true, walk: true, config: true, atc: true });
    // Tags: ASID 1 under VMID 1 on SMMU 0 (a physical TLBI of VMID 1 / ASID 1 removes it).
    expect(host.units[0]!.cached(0x108, undefined, page(0)).iotlb).toBe(true);
    expect(host.units[1]!.cached(0x108, undefined, page(0)).iotlb).toBe(false);
  });
});

describe('conversion of the 8 accepted opcodes (spec/smmuv3.md §5.2 item 3)', () => {
  it("TLBI_NH_VA gets the vIOMMU's VMID forced (the guest's VMID 77 would miss)", () => {
    const { fill, hit, inv } = setup();
    fill(2);
    expect(inv([va(0)])).toEqual({ errno: 0, entryNum: 1 });
    expect([hit(0), hit(1)]).toEqual([false, true]);
  });

  it("TLBI_NSNH_ALL becomes TLBI_NH_ALL of this SMMU's VMID only", () => {
    const { fill, hit, inv } = setup();
    fill(1, 0x8);
    fill(1, 0x18);
    fill(1, 0x10);
    expect(inv([cmd('CMD_TLBI_NSNH_ALL')])).toEqual({ errno: 0, entryNum: 1 });
    expect([hit(0, 0x8), hit(0, 0x18), hit(0, 0x10)]).toEqual([false, false, true]);
  });

  it('ATC_INV, CFGI_CD and CFGI_CD_ALL get vSID → pSID through the vDEVICE table', () => {
    const { host, fill, inv } = setup();
    fill(1);
    expect(inv([cmd('CMD_ATC_INV', { SID: 0x8, SIZE: 52 }), cmd('CMD_CFGI_CD', { SID: 0x8, SSID: 0 })])).toEqual({ errno: 0, entryNum: 2 });
    expect(host.cached(0x8, undefined, page(0))).toMatchObject({ atc: false, config: false, iotlb: true });
  });

  it.each([
    ['CMD_SYNC', cmd('CMD_SYNC', { CS: 2 })],
    ['CMD_CFGI_STE', cmd('CMD_CFGI_STE', { SID: 0x8 })],
    ['CMD_CFGI_STE_RANGE', cmd('CMD_CFGI_STE_RANGE', { RANGE: 31 })],
    ['CMD_TLBI_S2_IPA', cmd('CMD_TLBI_S2_IPA', { VMID: 1 })],
    ['CMD_TLBI_S12_VMALL', cmd('CMD_TLBI_S12_VMALL', { VMID: 1 })],
    ['CMD_TLBI_EL2_ALL', cmd('CMD_TLBI_EL2_ALL')],
    ['CMD_PREFETCH_CONFIG', cmd('CMD_PREFETCH_CONFIG', { SID: 0x8 })],
    ['CMD_PRI_RESP', cmd('CMD_PRI_RESP')],
    ['ATC_INV of a vSID behind another SMMU', cmd('CMD_ATC_INV', { SID: 0x10, SIZE: 52 })],
    ['CFGI_CD of an unknown vSID', cmd('CMD_CFGI_CD', { SID: 0x99 })],
  ] as const)('%s → EIO at its index', (_n, bad) => {
    const { fill, hit, inv, count } = setup();
    fill(2);
    // Entries 0 and 1 are converted, then entry 2 fails: entry_num = 2, but the block holding
    // 0 and 1 was never issued, so their TLBIs never reached the SMMU (§5.2 item 5, the over-count).
    expect(inv([va(0), va(1), bad, va(0)])).toEqual({ errno: 'EIO', entryNum: 2 });
    expect([hit(0), hit(1)]).toEqual([true, true]);
    expect(count('host_cmd')).toBe(0);
  });
});

describe('blocks of 63 + CMD_SYNC and entry_num (spec/smmuv3.md §5.2 items 4–5)', () => {
  it('130 entries go out as 63 + 63 + 4 commands, each block with its CMD_SYNC and doorbell, waited for', () => {
    const { fill, hit, inv, count } = setup();
    fill(130);
    expect(inv(Array.from({ length: 130 }, (_, i) => va(i)))).toEqual({ errno: 0, entryNum: 130 });
    expect([count('ioctl'), count('host_cmd'), count('host_sync'), count('host_doorbell')]).toEqual([1, 130, 3, 3]);
    expect(Array.from({ length: 130 }, (_, i) => hit(i)).some(Boolean)).toBe(false);
  });

  it('a conversion failure in the second block counts the converted-but-unsent entries', () => {
    const { fill, hit, inv } = setup();
    fill(70);
    const entries = Array.from({ length: 100 }, (_, i) => (i === 70 ? cmd('CMD_CFGI_STE', { SID: 0x8 }) : va(i)));
    // Block 1 (0..62) was issued; 63..69 converted, never sent; entry 70 fails: entry_num = 70.
    expect(inv(entries)).toEqual({ errno: 'EIO', entryNum: 70 });
    expect(Array.from({ length: 63 }, (_, i) => hit(i)).some(Boolean)).toBe(false);
    expect(Array.from({ length: 7 }, (_, i) => hit(63 + i)).every(Boolean)).toBe(true);
  });

  it("an ATC time-out fails the block's CMD_SYNC: ETIMEDOUT, entry_num = index of the block's last command", () => {
    const { host, ops, fill, hit, inv } = setup();
    fill(70);
    host.setAtcTimeout(0x8, true);
    const entries = Array.from({ length: 70 }, (_, i) => (i === 65 ? cmd('CMD_ATC_INV', { SID: 0x8, SIZE: 52 }) : va(i)));
    // Block 2 = entries 63..69 (7 commands) + SYNC; it fails, so entry_num = 69.
    expect(inv(entries)).toEqual({ errno: 'ETIMEDOUT', entryNum: 69 });
    expect(ops.filter((o) => o.kind === 'devtlb_inv').map((o) => o.detail)).toEqual(['sid=0x108 (device timed out)']);
    expect(host.units[0]!.consumer().error).toMatchObject({ code: 'CERROR_ATC_INV_SYNC', sid: 0x108 });
    expect(hit(64)).toBe(false); // commands before the SYNC did execute
    expect(host.cached(0x8, undefined, page(0)).atc).toBe(true); // the device never invalidated
    // While the device stays silent, the next block waits behind the stuck SYNC and times out too.
    expect(inv([va(0)])).toEqual({ errno: 'ETIMEDOUT', entryNum: 0 });
    // It answers again: the pending invalidation lands and the queue completes.
    host.setAtcTimeout(0x8, false);
    expect(host.units[0]!.consumer().error).toBeUndefined();
    expect(host.cached(0x8, undefined, page(0)).atc).toBe(false);
    expect(inv([va(1)])).toEqual({ errno: 0, entryNum: 1 });
  });

  it('a request with a memo (one that never changes) is issued from its kept blocks: the same answers, ops and effects', () => {
    const run = (memo: RequestMemo | undefined) => {
      const { host, ops, fill, hit, viommu } = setup();
      const req = {
        id: viommu(0),
        dataType: DATA_ARM_SMMUV3,
        entryLen: 16,
        entries: [va(0), cmd('CMD_ATC_INV', { SID: 0x8, SIZE: 52 }), va(1, 3)],
        entryNum: 3,
        ...(memo !== undefined ? { memo } : {}),
      };
      const out: unknown[] = [];
      for (let round = 0; round < 4; round++) {
        fill(2);
        fill(2, 0x18);
        if (round === 2) host.setAtcTimeout(0x8, true); // the third call times out: entry_num 2
        if (round === 3) host.setAtcTimeout(0x8, false);
        out.push(host.invalidate(req), [hit(0), hit(1), hit(0, 0x18), hit(1, 0x18)]);
      }
      return { out, ops: ops.map((o) => [o.kind, o.iommu, o.detail, o.entries]) };
    };
    const memo = new RequestMemo();
    const kept = run(memo);
    expect(kept).toEqual(run(undefined));
    expect(kept.out[4]).toEqual({ errno: 'ETIMEDOUT', entryNum: 2 });
    expect(memo.value).toHaveProperty('blocks'); // kept at the second call
  });

  it('a memo keeps nothing for a request of more than one block, or one whose conversion fails', () => {
    const { inv } = setup();
    const long = new RequestMemo();
    const entries = Array.from({ length: 70 }, (_, i) => va(i));
    const bad = new RequestMemo();
    const unknown = [va(0), cmd('CMD_ATC_INV', { SID: 0x99, SIZE: 52 })];
    for (let k = 0; k < 3; k++) {
      expect(inv(entries, { memo: long })).toEqual({ errno: 0, entryNum: 70 });
      expect(inv(unknown, { memo: bad })).toEqual({ errno: 'EIO', entryNum: 1 });
    }
    expect(long.value).toBeUndefined();
    expect(bad.value).toBeUndefined();
  });

  it('a command the hardware finds illegal is skipped by the GERROR handler and counted as handled (§1.3)', () => {
    const { fill, hit, inv, count } = setup();
    fill(3);
    const bad: Words = [va(1)[0], va(1)[1] | 0x2n]; // a reserved DW1 bit passes conversion unchanged
    expect(inv([va(0), bad, va(2)])).toEqual({ errno: 0, entryNum: 3 });
    expect([hit(0), hit(1), hit(2)]).toEqual([false, true, false]);
    expect(count('host_sync')).toBe(1);
  });
});

describe('errno cases (spec/smmuv3.md §5.2 items 1–2, §5.3)', () => {
  it.each([
    ['__reserved != 0 → EOPNOTSUPP', { reserved: 1 }, 'EOPNOTSUPP'],
    ['data_uptr = 0 with entry_num > 0 → EINVAL', { entries: null, entryNum: 1 }, 'EINVAL'],
    ['entry_len = 0 → EINVAL', { entryLen: 0 }, 'EINVAL'],
    ['wrong data_type → EINVAL', { dataType: 0 }, 'EINVAL'],
    ['entry_num = 0 → EINVAL for the SMMUv3 driver (no empty probe array)', { entryNum: 0 }, 'EINVAL'],
    ['unknown object id → ENOENT', { id: 999 }, 'ENOENT'],
    ['the IOAS id → EINVAL (neither nested HWPT nor vIOMMU)', { id: 1 }, 'EINVAL'],
    ['entry_num past the user buffer → EFAULT', { entryNum: 3 }, 'EFAULT'],
  ] as const)('%s, entry_num 0', (_what, over, errno) => {
    const { fill, hit, inv, count } = setup();
    fill(1);
    expect(inv([va(0), va(1)], over as Partial<HwptInvalidate<Smmuv3InvEntry>>)).toEqual({ errno, entryNum: 0 });
    expect(hit(0)).toBe(true);
    expect(count('ioctl')).toBe(1);
  });

  it('a nested HWPT id → EOPNOTSUPP (the SMMUv3 nested HWPT has no cache_invalidate_user)', () => {
    const { host, inv } = setup();
    expect(inv([va(0)], { id: host.nestedHwpts.get(0x8)! })).toEqual({ errno: 'EOPNOTSUPP', entryNum: 0 });
  });

  it('entry_len > 16: trailing bytes must be zero, else E2BIG', () => {
    const { fill, hit, inv } = setup();
    fill(1);
    const e = va(0);
    expect(inv([[e[0], e[1], 0x100n]], { entryLen: 24 })).toEqual({ errno: 'E2BIG', entryNum: 0 });
    expect(hit(0)).toBe(true);
    expect(inv([[e[0], e[1], 0n]], { entryLen: 24 })).toEqual({ errno: 0, entryNum: 1 });
    expect(hit(0)).toBe(false);
  });

  it('entry_len < 16: the entry is zero-extended (an NH_ASID needs only DW0)', () => {
    const { fill, hit, inv } = setup();
    fill(1);
    const asid = cmd('CMD_TLBI_NH_ASID', { ASID: 1 });
    expect(inv([[asid[0], 0xdeadn]], { entryLen: 8 })).toEqual({ errno: 0, entryNum: 1 });
    expect(hit(0)).toBe(false);
  });

  it('selftest "partial failure" shape (§5.3): 2 entries, the 2nd bad → error, entry_num 1; on SMMUv3 the 1st was never issued', () => {
    const { fill, hit, inv } = setup();
    fill(1);
    expect(inv([va(0), cmd('CMD_SYNC')])).toEqual({ errno: 'EIO', entryNum: 1 });
    expect(hit(0)).toBe(true); // unlike the mock driver, the counted entry had no effect
  });
});

describe('VMM operations (spec/smmuv3.md §4.2, §5.4)', () => {
  it('reattach installs the nested STE: CFGI_STE + CMD_SYNC on the physical queue', () => {
    const { host, fill, count, ops } = setup();
    fill(1);
    host.reattach(0x8);
    expect(host.cached(0x8, undefined, page(0)).config).toBe(false);
    expect(ops.filter((o) => o.kind === 'host_cmd').map((o) => o.detail)).toEqual(['CMD_CFGI_STE']);
    expect([count('host_sync'), count('host_doorbell')]).toEqual([1, 1]);
  });

  it('direct: TLBI_NH_ASID / NH_VA / ATC_INV / CMD_SYNC(CS=NONE) run on the physical SMMUs; the rest is refused', () => {
    const { host, fill, hit, count } = setup();
    fill(1, 0x8);
    fill(1, 0x10);
    expect(host.direct(cmd('CMD_TLBI_NH_ASID', { ASID: 2 }))).toEqual({ accepted: true });
    expect([hit(0, 0x8), hit(0, 0x10)]).toEqual([true, false]); // VMID 2 inserted on SMMU 1
    expect(host.direct(va(0))).toEqual({ accepted: true });
    expect(hit(0, 0x8)).toBe(false);
    expect(host.direct(cmd('CMD_ATC_INV', { SID: 0x8, SIZE: 52 }))).toEqual({ accepted: true });
    expect(host.cached(0x8, undefined, page(0)).atc).toBe(false);
    expect(host.direct(cmd('CMD_SYNC', { CS: 0 }))).toEqual({ accepted: true });
    for (const op of ['CMD_CFGI_STE', 'CMD_CFGI_CD', 'CMD_TLBI_NH_ALL', 'CMD_TLBI_NSNH_ALL', 'CMD_TLBI_NH_VAA']) {
      expect(host.direct(cmd(op))).toEqual({ accepted: false });
    }
    expect(host.direct(cmd('CMD_SYNC', { CS: 2 })).error?.code).toBe('CERROR_ILL');
    expect(count('ioctl')).toBe(0);
    expect(count('direct_cmd')).toBeGreaterThan(0);
  });

  it('direct: a CMD_SYNC after an ATC_INV to a silent device reports CERROR_ATC_INV_SYNC', () => {
    const { host, fill } = setup();
    fill(1);
    host.setAtcTimeout(0x8, true);
    expect(host.direct(cmd('CMD_ATC_INV', { SID: 0x8, SIZE: 52 }))).toEqual({ accepted: true });
    expect(host.direct(cmd('CMD_SYNC'))).toMatchObject({ accepted: true, error: { code: 'CERROR_ATC_INV_SYNC', value: 3 } });
  });

  it('direct: one ATC_INV words array, planned once, reports the device as it answers at each command', () => {
    const { host, ops } = setup();
    const atc = cmd('CMD_ATC_INV', { SID: 0x8, SIZE: 52 });
    const devtlb = () => ops.filter((o) => o.kind === 'devtlb_inv').map((o) => [o.detail, o.kind === 'devtlb_inv' && o.timedOut]);
    host.direct(atc, undefined, 3);
    host.setAtcTimeout(0x8, true);
    host.direct(atc, undefined, 3);
    host.setAtcTimeout(0x8, false);
    host.direct(atc, undefined, 3);
    expect(devtlb()).toEqual([
      ['sid=0x108', false],
      ['sid=0x108 (device timed out)', true],
      ['sid=0x108', false],
    ]);
  });
});
