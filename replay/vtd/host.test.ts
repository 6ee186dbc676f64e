// The VT-d host model: Linux's range alignment and device-TLB encoding (spec/vtd.md §3), the
// IOMMU_HWPT_INVALIDATE errno and entry_num rules (§5.2, selftest cases §5.3), what one entry does
// on the physical units (§5.2 "what one entry turns into", batching §4.1), hardware errors kept
// from userspace, reattach, the hardware-direct queue, and the replay kit.
import { describe, expect, it } from 'vitest';
import { U64_MAX } from '../../formats/bits.js';
import type { DeviceSpec, Topology } from '../../formats/trace/header.js';
import type { HostOp, HwptInvalidate } from '../host.js';
import { GuestMemory } from '../memory.js';
import type { UnitEvent } from '../unit.js';
import { devTlbDesc, psiAligned } from './linux.js';
import { IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, VtdHost, vtdKit, type VtdUserEntry } from './index.js';
import { desc } from './testkit.js';
import { devtlbRange } from '../../formats/vtd/scope.js';
import { VTD } from '../../formats/codecs.js';

describe('Linux range → (ADDR, AM) (spec/vtd.md §3, cache.c calculate_psi_aligned_address)', () => {
  it.each([
    ['one aligned page', 0x5000n, 0x5fffn, 0x5000n, 0],
    ['two aligned pages', 0x4000n, 0x5fffn, 0x4000n, 1],
    ['three pages round up to four', 0x4000n, 0x6fffn, 0x4000n, 2],
    // The digest's example: PFN 3..4 → one aligned block of 8 pages at 0 (AM 3).
    ['0x3000-0x4fff (spec example)', 0x3000n, 0x4fffn, 0x0n, 3],
    // PFN 1..2: pages 2 but PFN 1 is odd; PFN 1 and 2 first agree at bit 2 → AM 2 at 0.
    ['0x1000-0x2fff', 0x1000n, 0x2fffn, 0x0n, 2],
    ['a sub-page range in one page', 0x7010n, 0x7020n, 0x7000n, 0],
    ['the whole address space', 0n, U64_MAX, 0n, 52],
  ])('%s', (_, start, end, addr, mask) => {
    expect(psiAligned(start, end)).toEqual({ addr, mask });
  });

  it('device-TLB encoding (qi_desc_dev_iotlb): decodes back to the same block; everything is 0x7ffffffffffff001', () => {
    expect(devTlbDesc(0x100, 0, 0n, 52)[1]).toBe(0x7ffffffffffff001n);
    for (const [addr, mask] of [
      [0x5000n, 0],
      [0x2000n, 1],
      [0x0n, 2],
      [0x40000n, 6],
    ] as const) {
      const d = VTD.decode(devTlbDesc(0x100, 0, addr, mask));
      expect(d.error).toBeUndefined();
      expect(devtlbRange(d.fields)).toEqual({ base: addr, bytes: 4096n << BigInt(mask) });
    }
  });
});

const dev = (sid: number, iommu: number, domain: number, hwpt: number, ats: boolean, psid = sid + 0x400): DeviceSpec => ({
  sid,
  psid,
  iommu,
  domain,
  hwpt,
  ats,
});
/** Guest DID 6 spans two parents and two units; DID 7 is alone. */
const TOPO: Topology = {
  iommus: [
    { id: 0, vmid: 0 },
    { id: 1, vmid: 0 },
  ],
  devices: [
    dev(0x100, 0, 6, 0, true), // A ┐ nested HWPT (6, hwpt 0, unit 0)
    dev(0x108, 0, 6, 0, true), // B ┘
    dev(0x200, 1, 6, 0, true), // C   nested HWPT (6, hwpt 0, unit 1)
    dev(0x300, 0, 6, 1, false), // D  nested HWPT (6, hwpt 1, unit 0)
    dev(0x010, 0, 7, 0, false), // E  nested HWPT (7, hwpt 0, unit 0)
  ],
};
const [A, B, C, D, E] = [0x100, 0x108, 0x200, 0x300, 0x010];

function host(topo: Topology = TOPO) {
  const ops: HostOp[] = [];
  const events: UnitEvent[] = [];
  const h = new VtdHost(
    topo,
    (o) => ops.push(o),
    (e) => events.push(e),
  );
  const nestedOf = (sid: number) => h.objects.find((o) => o.devices.includes(sid))!.id;
  return { h, ops, events, nestedOf };
}

const entry = (addr: bigint, npages: bigint, flags = 0, reserved = 0): VtdUserEntry => ({ addr, npages, flags, reserved });
const req = (
  id: number,
  entries: VtdUserEntry[] | null,
  more: Partial<HwptInvalidate<VtdUserEntry>> = {},
): HwptInvalidate<VtdUserEntry> => ({
  id,
  dataType: IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
  entryLen: 24,
  entries,
  entryNum: entries?.length ?? 0,
  ...more,
});
const count = (ops: HostOp[], kind: HostOp['kind']) => ops.filter((o) => o.kind === kind).length;

describe('iommufd objects (one nested HWPT per guest domain, parent and unit)', () => {
  it('lists the nested HWPTs with their devices, units and domains', () => {
    const { h } = host();
    expect(h.objects.map((o) => ({ kind: o.kind, iommu: o.iommu, devices: o.devices, domain: o.domain, hwpt: o.hwpt }))).toEqual([
      { kind: 'nested_hwpt', iommu: 0, devices: [A, B], domain: 6, hwpt: 0 },
      { kind: 'nested_hwpt', iommu: 1, devices: [C], domain: 6, hwpt: 0 },
      { kind: 'nested_hwpt', iommu: 0, devices: [D], domain: 6, hwpt: 1 },
      { kind: 'nested_hwpt', iommu: 0, devices: [E], domain: 7, hwpt: 0 },
    ]);
    // Ids after 5 device objects, the IOAS and 3 paging HWPTs (hwpt 0 on units 0 and 1, hwpt 1 on unit 0).
    expect(h.objects.map((o) => o.id)).toEqual([10, 11, 12, 13]);
    expect([1, 6, 7, 10].map((id) => h.kindOf(id))).toEqual(['device', 'ioas', 'hwpt_paging', 'nested_hwpt']);
    // Objects are found by id in arrays: what is no id of this host names nothing.
    expect([0, 14, -1, 2.5, 2 ** 40, NaN].map((id) => h.kindOf(id))).toEqual(new Array(6).fill(undefined));
  });
});

describe('IOMMU_HWPT_INVALIDATE errno and entry_num (spec/vtd.md §5.2, §5.3)', () => {
  const ok = entry(0x1000n, 1n);
  it.each<[string, (id: number) => HwptInvalidate<VtdUserEntry>, string | 0, number]>([
    ['entry_num 0 probes the data type: success', (id) => req(id, null), 0, 0],
    ['entry_num 0 with an unsupported data type: EINVAL', (id) => req(id, null, { dataType: 1 }), 'EINVAL', 0],
    ['nonzero __reserved of the command: EOPNOTSUPP', (id) => req(id, [ok], { reserved: 1 }), 'EOPNOTSUPP', 0],
    ['data_uptr NULL with entries: EINVAL', (id) => req(id, null, { entryNum: 1 }), 'EINVAL', 0],
    ['entry_len 0 with entries: EINVAL', (id) => req(id, [ok], { entryLen: 0 }), 'EINVAL', 0],
    ['an id that names nothing: ENOENT', () => req(999, [ok]), 'ENOENT', 0],
    ['a paging (parent) HWPT: EINVAL', () => req(7, [ok]), 'EINVAL', 0],
    ['a device object: EINVAL', () => req(1, [ok]), 'EINVAL', 0],
    ['data type other than VTD_S1: EINVAL', (id) => req(id, [ok], { dataType: 1 }), 'EINVAL', 0],
    ['entry_len 1 (below 24): EINVAL', (id) => req(id, [ok], { entryLen: 1 }), 'EINVAL', 0],
    ['entry_len 25, zero trailing byte: accepted', (id) => req(id, [{ ...ok, tail: [0] }], { entryLen: 25 }), 0, 1],
    ['entry_len 25, nonzero trailing byte: E2BIG', (id) => req(id, [{ ...ok, tail: [7] }], { entryLen: 25 }), 'E2BIG', 0],
    ['entry_num beyond the user array: EFAULT after the readable ones', (id) => req(id, [ok], { entryNum: 2 }), 'EFAULT', 1],
    ['unknown flags: EOPNOTSUPP', (id) => req(id, [entry(0x1000n, 1n, 2)]), 'EOPNOTSUPP', 0],
    ['nonzero entry __reserved: EOPNOTSUPP', (id) => req(id, [entry(0x1000n, 1n, 0, 0x1234)]), 'EOPNOTSUPP', 0],
    ['addr not 4 KiB aligned: EINVAL', (id) => req(id, [entry(0x1800n, 1n)]), 'EINVAL', 0],
    ['U64_MAX pages from addr != 0: EINVAL', (id) => req(id, [entry(0x1000n, U64_MAX)]), 'EINVAL', 0],
    ['U64_MAX pages from 0: everything', (id) => req(id, [entry(0n, U64_MAX)]), 0, 1],
    ['second of two entries bad: EINVAL, entry_num 1', (id) => req(id, [ok, entry(0x1800n, 1n)]), 'EINVAL', 1],
    ['three good entries', (id) => req(id, [ok, entry(0x2000n, 4n, 1), entry(0n, U64_MAX)]), 0, 3],
  ])('%s', (_, make, errno, entryNum) => {
    const { h, ops, nestedOf } = host();
    const r = h.invalidate(make(nestedOf(A)));
    expect(r).toEqual({ errno, entryNum });
    expect(count(ops, 'ioctl')).toBe(1);
    // One submission (P-IOTLB + 2 device-TLB + wait) per entry handled, none for the rest.
    expect(count(ops, 'host_doorbell')).toBe(entryNum);
  });

  it('the first entry of a failing call took effect, the failing one did not (selftest "entry_num == 1")', () => {
    const { h, nestedOf } = host();
    for (const a of [0x1000n, 0x9000n]) h.translate(A, undefined, a);
    const r = h.invalidate(req(nestedOf(A), [entry(0x1000n, 1n), entry(0x9000n, 1n, 0, 1)]));
    expect(r).toEqual({ errno: 'EOPNOTSUPP', entryNum: 1 });
    expect(h.cached(A, undefined, 0x1000n)).toMatchObject({ iotlb: false, atc: false });
    expect(h.cached(A, undefined, 0x9000n)).toMatchObject({ iotlb: true, atc: true });
  });
});

describe('what an entry does on the physical units (spec/vtd.md §5.2, §4.1)', () => {
  function filled() {
    const t = host();
    for (const sid of [A, B, C, D, E])
      for (const a of [0x0n, 0x3000n, 0x4000n, 0x9000n]) expect(t.h.translate(sid, undefined, a).ok).toBe(true);
    t.ops.length = 0;
    t.events.length = 0;
    return t;
  }
  const execs = (events: UnitEvent[]) =>
    events.flatMap((e) => (e.kind === 'exec' ? [`${e.name}: ${e.effects.map((f) => f.detail).join(' | ')}`] : []));

  it('PSI: P-IOTLB with the host DID and RID_PASID, a type-3 device-TLB per ATS device, one wait', () => {
    const { h, ops, events, nestedOf } = filled();
    // 0x3000..0x4fff → ADDR 0, AM 3 (§3); host DID 2 on unit 0; devices A and B (physical SIDs 0x500, 0x508).
    expect(h.invalidate(req(nestedOf(A), [entry(0x3000n, 2n, 1)]))).toEqual({ errno: 0, entryNum: 1 });
    expect(execs(events)).toEqual([
      'p_iotlb_inv: iotlb invalidate domain 0x2 addr 0x0 mask 0x3 pasid 0x0',
      'dev_tlb_inv: device-tlb invalidate sid 0x500 addr 0x0 size 0x8000',
      'dev_tlb_inv: device-tlb invalidate sid 0x508 addr 0x0 size 0x8000',
      'inv_wait: ',
    ]);
    expect(ops.map((o) => `${o.kind}@${o.iommu}`)).toEqual([
      'ioctl@0',
      'host_cmd@0',
      'host_cmd@0',
      'devtlb_inv@0',
      'host_cmd@0',
      'devtlb_inv@0',
      'host_sync@0',
      'host_doorbell@0',
    ]);
    // IH (LEAF) kept the paging-structure entries; leaves and device TLBs in [0, 32K) are gone.
    for (const sid of [A, B]) {
      expect(h.cached(sid, undefined, 0x3000n)).toEqual({ iotlb: false, walk: true, config: true, atc: false });
      expect(h.cached(sid, undefined, 0x9000n)).toEqual({ iotlb: true, walk: true, config: true, atc: true });
    }
    // Same guest DID behind another parent or unit: another nested HWPT, untouched.
    expect(h.cached(C, undefined, 0x3000n).iotlb).toBe(true);
    expect(h.cached(D, undefined, 0x3000n).iotlb).toBe(true);
  });

  it('everything (addr 0, U64_MAX pages): PASID-selective P-IOTLB and device-TLB "everything"', () => {
    const { h, events, nestedOf } = filled();
    h.invalidate(req(nestedOf(A), [entry(0n, U64_MAX)]));
    expect(execs(events).slice(0, 2)).toEqual([
      'p_iotlb_inv: iotlb invalidate domain 0x2 pasid 0x0 | iotlb invalidate domain 0x2 pasid 0x0',
      'dev_tlb_inv: device-tlb invalidate sid 0x500 all',
    ]);
    expect(h.cached(A, undefined, 0x9000n)).toEqual({ iotlb: false, walk: false, config: true, atc: false });
    expect(h.cached(E, undefined, 0x9000n).iotlb).toBe(true);
  });

  it('an entry flushed again by its key, another entry under the same key, one entry on two objects: each its own descriptors', () => {
    const { h, events, nestedOf } = filled();
    const low = entry(0x3000n, 1n);
    const high = entry(0x9000n, 1n);
    const keyed = (id: number, e: VtdUserEntry) => req(id, [e], { entryKeys: [5] });
    const run = (id: number, e: VtdUserEntry) => {
      events.length = 0;
      expect(h.invalidate(keyed(id, e))).toEqual({ errno: 0, entryNum: 1 });
      return execs(events)[0]!.split(' | ')[0];
    };
    expect(run(nestedOf(A), low)).toBe('p_iotlb_inv: iotlb invalidate domain 0x2 addr 0x3000 mask 0x0 pasid 0x0');
    expect(run(nestedOf(A), low)).toBe('p_iotlb_inv: iotlb invalidate domain 0x2 addr 0x3000 mask 0x0 pasid 0x0');
    expect(run(nestedOf(A), high)).toBe('p_iotlb_inv: iotlb invalidate domain 0x2 addr 0x9000 mask 0x0 pasid 0x0');
    expect(run(nestedOf(A), low)).toBe('p_iotlb_inv: iotlb invalidate domain 0x2 addr 0x3000 mask 0x0 pasid 0x0');
    // Nested HWPT of E: host DID 4 on unit 0 (after A/B's 2 and D's 3), no ATS device.
    expect(run(nestedOf(E), low)).toBe('p_iotlb_inv: iotlb invalidate domain 0x4 addr 0x3000 mask 0x0 pasid 0x0');
    expect(execs(events).length).toBe(2); // no device-TLB descriptor: the P-IOTLB and the wait
    // A bad entry under a key: refused each time, never flushed.
    const bad = entry(0x3001n, 1n);
    expect(h.invalidate(keyed(nestedOf(A), bad))).toEqual({ errno: 'EINVAL', entryNum: 0 });
    expect(h.invalidate(keyed(nestedOf(A), bad))).toEqual({ errno: 'EINVAL', entryNum: 0 });
  });

  it('batches of at most 16 descriptors, each with its own wait (qi_batch, §4.1)', () => {
    const devices = Array.from({ length: 20 }, (_, i) => dev(0x1000 + i, 0, 9, 0, true));
    const { h, ops } = host({ iommus: [{ id: 0, vmid: 0 }], devices });
    h.invalidate(req(h.objects[0]!.id, [entry(0x1000n, 1n)]));
    // 1 P-IOTLB + 20 device-TLB = 21 descriptors → 16 + 5, two waits, two doorbells.
    expect([count(ops, 'host_cmd'), count(ops, 'devtlb_inv'), count(ops, 'host_sync'), count(ops, 'host_doorbell')]).toEqual([
      21, 20, 2, 2,
    ]);
  });

  it('a device-TLB time-out on the host is not reported to userspace; the host resubmits, then gives up', () => {
    const { h, ops, events, nestedOf } = filled();
    h.setAtcTimeout(A, true);
    expect(h.invalidate(req(nestedOf(A), [entry(0x3000n, 1n)]))).toEqual({ errno: 0, entryNum: 1 });
    expect(events.filter((e) => e.kind === 'error').map((e) => [e.error.code, e.error.sid])).toEqual([
      ['ITE', 0x500],
      ['ITE', 0x500],
    ]);
    expect(events.filter((e) => e.kind === 'abort_wait').length).toBe(2);
    expect(count(ops, 'host_doorbell')).toBe(2);
    expect(h.units[0]!.consumer().error).toBeUndefined();
    // The next call runs normally once the device answers again.
    h.setAtcTimeout(A, false);
    expect(h.invalidate(req(nestedOf(A), [entry(0x3000n, 1n)]))).toEqual({ errno: 0, entryNum: 1 });
    expect(h.cached(A, undefined, 0x3000n).atc).toBe(false);
  });

  it('reattach: PASID-cache, IOTLB domain-selective and device-TLB flushes of that host DID, each waited for', () => {
    const { h, ops, events } = filled();
    h.reattach(A);
    expect(execs(events)).toEqual([
      'pc_inv: pasid cache invalidate domain 0x2 pasid 0x0',
      'inv_wait: ',
      'iotlb_inv: iotlb invalidate whole domain 0x2 | iotlb invalidate whole domain 0x2',
      'inv_wait: ',
      'dev_tlb_inv: device-tlb invalidate sid 0x500 all',
      'inv_wait: ',
    ]);
    expect(count(ops, 'host_sync')).toBe(3);
    expect(h.cached(A, undefined, 0x3000n)).toEqual({ iotlb: false, walk: false, config: false, atc: false });
    // B shares the host DID and RID_PASID: the PASID-cache and IOTLB flushes (tagged DID, PASID)
    // reach it too; its device TLB is its own.
    expect(h.cached(B, undefined, 0x3000n)).toEqual({ iotlb: false, walk: false, config: false, atc: true });
    expect(h.cached(E, undefined, 0x3000n).iotlb).toBe(true);
  });
});

describe('hardware-direct queue (VCMDQ-like)', () => {
  it('translates the guest DID to every host DID of that domain and the guest SID to the physical one', () => {
    const { h, ops } = (() => {
      const t = host();
      for (const sid of [A, C, D, E]) t.h.translate(sid, undefined, 0x5000n);
      t.ops.length = 0;
      return t;
    })();
    expect(h.direct(desc('iotlb_inv', { G: 3, DID: 6, ADDR: 0x5000n }))).toEqual({ accepted: true });
    expect(ops.map((o) => `${o.kind}@${o.iommu}`)).toEqual(['direct_cmd@0', 'direct_cmd@1', 'direct_cmd@0']);
    for (const sid of [A, C, D]) expect(h.cached(sid, undefined, 0x5000n).iotlb).toBe(false);
    expect(h.cached(E, undefined, 0x5000n).iotlb).toBe(true);
    expect(h.cached(A, undefined, 0x5000n).atc).toBe(true);
    expect(h.direct(desc('dev_tlb_inv', { SID: A, ADDR: 0x5000n }))).toEqual({ accepted: true });
    expect(h.cached(A, undefined, 0x5000n).atc).toBe(false);
    expect(h.direct(desc('inv_wait', { SW: 1, STATUS_ADDR: 0x1000n }))).toEqual({ accepted: true });
  });

  it('context-cache, IEC and PASID-cache descriptors are not accepted; a time-out aborts the waits and ITE ends the pass', () => {
    const { h } = host();
    expect(h.direct(desc('cc_inv', { G: 1 })).accepted).toBe(false);
    expect(h.direct(desc('iec_inv', {})).accepted).toBe(false);
    expect(h.direct(desc('pc_inv', { G: 3 }, 4)).accepted).toBe(false);
    expect(h.directPassEnd()).toBeUndefined(); // nothing timed out
    h.setAtcTimeout(A, true);
    expect(h.direct(desc('dev_tlb_inv', { SID: A }))).toEqual({ accepted: true });
    // spec/vtd.md §1.3: every wait fetched after it is pending and will be aborted; FN=1 stops the fetch
    expect(h.direct(desc('inv_wait', { SW: 1 }))).toEqual({ accepted: true, aborted: true, fence: false });
    expect(h.direct(desc('inv_wait', { SW: 1, FN: 1 }))).toEqual({ accepted: true, aborted: true, fence: true });
    // ITE at the end of the pass, ITESID = the device as the guest knows it; then nothing is pending
    expect(h.directPassEnd()).toMatchObject({ code: 'ITE', sid: A });
    expect(h.directPassEnd()).toBeUndefined();
  });

  it('does a descriptor seen again as the first time, with the device state of now (the plan is kept, not the time-out)', () => {
    const { h, ops } = host();
    const dev = desc('dev_tlb_inv', { SID: A, ADDR: 0x5000n });
    const lines = () => ops.splice(0).map((o) => `${o.kind}@${o.iommu} ${o.detail}`);
    expect(h.direct(dev)).toEqual({ accepted: true });
    const first = lines();
    expect(first.some((l) => l.startsWith('devtlb_inv') && !l.includes('timed out'))).toBe(true);
    expect(h.direct([...dev])).toEqual({ accepted: true });
    expect(lines()).toEqual(first);
    // Near miss: the same descriptor once the device stopped answering.
    h.setAtcTimeout(A, true);
    expect(h.direct([...dev])).toEqual({ accepted: true });
    expect(lines().filter((l) => l.includes('(device timed out)')).length).toBe(1);
    expect(h.directPassEnd()).toMatchObject({ code: 'ITE', sid: A });
    // Only the unit asked for: a wait goes to every unit, or to the one named.
    const wait = desc('inv_wait', { SW: 1, STATUS_ADDR: 0x1000n });
    h.direct(wait);
    expect(lines().filter((l) => l.startsWith('direct_cmd')).length).toBe(2);
    h.direct(wait, h.topology.iommus[1]!.id);
    expect(lines().filter((l) => l.startsWith('direct_cmd'))).toEqual([`direct_cmd@${h.topology.iommus[1]!.id} inv_wait 0x25 0x1000`]);
  });

  it('refuses what bare hardware refuses, before any DID or SID rewrite (reserved bits, qw3, page responses)', () => {
    const { h } = host();
    // spec/vtd.md §2.2: IOTLB qw0 bit 8 is reserved (QEMU mask 0xffffffff0000f100); a global
    // invalidation would otherwise be rewritten into per-DID ones and lose the bit
    expect(h.direct([0x112n, 0n])).toMatchObject({ accepted: true, error: { code: 'IQE', value: 4 } });
    // 256-bit queue: qw2/qw3 are reserved for every type, even with a DID no nested HWPT has
    expect(h.direct([0x427b0022n, 0n, 0n, 1n])).toMatchObject({ accepted: true, error: { code: 'IQE', value: 4 } });
    // the same descriptor with qw3 = 0 is accepted (no HWPT for DID 0x427b: nothing to do)
    expect(h.direct([0x427b0022n, 0n, 0n, 0n])).toEqual({ accepted: true });
    // page group response without ECAP.PRS: invalid type for this unit (IQEI 3)
    expect(h.direct([0x100009n, 0xc2cn])).toMatchObject({ accepted: true, error: { code: 'IQE', value: 3 } });
  });
});

describe('vtdKit', () => {
  it('guestUnit: a context entry per guest SID pointing at the device domain; host: the model above', () => {
    const mem = new GuestMemory();
    mem.addRegion(0x1000n, 4096);
    const events: UnitEvent[] = [];
    const g = vtdKit.guestUnit(TOPO, mem, (e) => events.push(e));
    g.configureQueue(0x1000n, 256, 16);
    for (const sid of [A, C, E]) g.translate(sid, undefined, 0x7000n);
    mem.writeWords(0x1000n, desc('iotlb_inv', { G: 2, DID: 6 }));
    g.writeProducer(1, 0);
    expect([A, C, E].map((sid) => g.cached(sid, undefined, 0x7000n).iotlb)).toEqual([false, false, true]);
    expect(events.map((e) => e.kind)).toEqual(['exec']);
    const h = vtdKit.host(TOPO, () => {});
    expect(h.arch).toBe('vtd');
    expect(h.units.length).toBe(2);
  });
});
