// Unit tests of the oracle's rules (replay/oracle.ts, docs/oracle.md), on real units: a VT-d unit
// with its own queue (vtd/testkit.ts) and the guest SMMUv3. Scopes come from real commands through
// the codecs and classify(); each check is shown to fire and to stay silent in a near-identical case.

import { describe, expect, it } from 'vitest';
import { classify } from '../formats/classify.js';
import { SMMUV3, VTD } from '../formats/codecs.js';
import { unwrap } from '../formats/result.js';
import type { Scope } from '../formats/scope.js';
import type { Topology } from '../formats/trace/header.js';
import { errorKey, MAX_OPEN_EPOCHS, StaleOracle, staleHit, type StaleFinding } from './oracle.js';
import { devicesInScope, pageBounds, probePasid } from './probe-plan.js';
import type { CacheHits, Translator } from './unit.js';
import { GuestMemory } from './memory.js';
import { guestSmmu } from './smmuv3/index.js';
import { desc, rig, BLK, NVME } from './vtd/testkit.js';

const dev = (sid: number, domain: number, ats = false, iommu = 0) => ({ sid, psid: sid, iommu, ats, domain, hwpt: 0 });
const topo = (devices: ReturnType<typeof dev>[]): Topology => ({ iommus: [{ id: 0, vmid: 1 }], devices });

const smmuScope = (name: string, f: Record<string, number | bigint>): Scope =>
  classify(SMMUV3.decode(unwrap(SMMUV3.encode(name, f)))).scope!;
const vtdScope = (name: string, f: Record<string, number | bigint>, words: 2 | 4 = 2): Scope =>
  classify(VTD.decode(unwrap(VTD.encode(name, f, words)), { descBytes: words === 4 ? 32 : 16 })).scope!;
const sids = (ds: readonly { sid: number }[]) => ds.map((d) => d.sid);

describe('devicesInScope', () => {
  const T = topo([dev(0x8, 1, true), dev(0x9, 1), dev(0x10, 2, true), dev(0x20, 3)]);
  it("SMMUv3 stage-1 TLBIs: the ASID's devices; NH_ALL every device; stage-2 and EL2 none", () => {
    expect(sids(devicesInScope(smmuScope('CMD_TLBI_NH_VA', { ASID: 1, ADDR: 0x1000n }), T, 'smmuv3'))).toEqual([0x8, 0x9]);
    expect(sids(devicesInScope(smmuScope('CMD_TLBI_NH_ASID', { ASID: 2 }), T, 'smmuv3'))).toEqual([0x10]);
    expect(sids(devicesInScope(smmuScope('CMD_TLBI_NH_ALL', {}), T, 'smmuv3'))).toEqual([0x8, 0x9, 0x10, 0x20]);
    // no guest device translates through stage 2 only or the EL2 regime
    expect(devicesInScope(smmuScope('CMD_TLBI_S2_IPA', { VMID: 1, ADDR: 0x1000n }), T, 'smmuv3')).toEqual([]);
    // S12_VMALL drops both stages of the VMID: the guest's stage-1 entries of every device too
    expect(sids(devicesInScope(smmuScope('CMD_TLBI_S12_VMALL', { VMID: 1 }), T, 'smmuv3'))).toEqual([0x8, 0x9, 0x10, 0x20]);
    expect(devicesInScope(smmuScope('CMD_TLBI_EL2_VA', { ASID: 1, ADDR: 0x1000n }), T, 'smmuv3')).toEqual([]);
    expect(devicesInScope(smmuScope('CMD_TLBI_EL2_ALL', {}), T, 'smmuv3')).toEqual([]);
  });
  it('ATC: the one ATS device of that SID, none without ATS', () => {
    expect(sids(devicesInScope(smmuScope('CMD_ATC_INV', { SID: 0x10, SIZE: 52 }), T, 'smmuv3'))).toEqual([0x10]);
    expect(devicesInScope(smmuScope('CMD_ATC_INV', { SID: 0x9, SIZE: 52 }), T, 'smmuv3')).toEqual([]);
    expect(sids(devicesInScope(vtdScope('dev_tlb_inv', { SID: 0x8 }), T, 'vtd'))).toEqual([0x8]);
  });
  it('SID masks: CFGI_STE_RANGE covers 2^(RANGE+1) SIDs aligned down; RANGE 31 every SID', () => {
    // RANGE 3: 16 SIDs from 0x0 (0x8 & ~0xf): 0x8, 0x9; not 0x10 or 0x20
    expect(sids(devicesInScope(smmuScope('CMD_CFGI_STE_RANGE', { SID: 0x8, RANGE: 3 }), T, 'smmuv3'))).toEqual([0x8, 0x9]);
    // RANGE 0: 2 SIDs (0x8, 0x9)
    expect(sids(devicesInScope(smmuScope('CMD_CFGI_STE_RANGE', { SID: 0x9, RANGE: 0 }), T, 'smmuv3'))).toEqual([0x8, 0x9]);
    expect(sids(devicesInScope(smmuScope('CMD_CFGI_STE_RANGE', { SID: 0, RANGE: 31 }), T, 'smmuv3'))).toEqual([0x8, 0x9, 0x10, 0x20]);
    expect(sids(devicesInScope(smmuScope('CMD_CFGI_STE', { SID: 0x9 }), T, 'smmuv3'))).toEqual([0x9]);
    expect(sids(devicesInScope(smmuScope('CMD_CFGI_CD', { SID: 0x10, SSID: 0 }), T, 'smmuv3'))).toEqual([0x10]);
  });
  it('VT-d context scopes: global, domain, device with the function mask (spec/vtd.md §2.2)', () => {
    const V = topo([dev(0x100, 6, true), dev(0x101, 6), dev(0x104, 6), dev(0x10, 7)]);
    expect(sids(devicesInScope(vtdScope('cc_inv', { G: 1 }), V, 'vtd'))).toEqual([0x100, 0x101, 0x104, 0x10]);
    expect(sids(devicesInScope(vtdScope('cc_inv', { G: 2, DID: 7 }), V, 'vtd'))).toEqual([0x10]);
    // FM 0: exactly the SID; FM 3 ignores SID bits 2:0 (functions 0-7 of the device)
    expect(sids(devicesInScope(vtdScope('cc_inv', { G: 3, DID: 6, SID: 0x100, FM: 0 }), V, 'vtd'))).toEqual([0x100]);
    expect(sids(devicesInScope(vtdScope('cc_inv', { G: 3, DID: 6, SID: 0x100, FM: 3 }), V, 'vtd'))).toEqual([0x100, 0x101, 0x104]);
  });
  it("VT-d PASID scopes: the DID's devices (or all, global); IOTLB by DID; IEC nothing", () => {
    const V = topo([dev(0x100, 6, true), dev(0x10, 7)]);
    expect(sids(devicesInScope(vtdScope('pc_inv', { G: 1, DID: 6, PASID: 0 }, 4), V, 'vtd'))).toEqual([0x100]);
    expect(sids(devicesInScope(vtdScope('pc_inv', { G: 3 }, 4), V, 'vtd'))).toEqual([0x100, 0x10]);
    expect(sids(devicesInScope(vtdScope('iotlb_inv', { G: 2, DID: 7 }), V, 'vtd'))).toEqual([0x10]);
    expect(devicesInScope(vtdScope('iec_inv', { G: 0 }), V, 'vtd')).toEqual([]);
  });
  it('probePasid: VT-d probes RID_PASID only; a PASID-tagged scope has nothing attached', () => {
    expect(probePasid(vtdScope('p_iotlb_inv', { G: 3, DID: 6, PASID: 1, ADDR: 0x1000n }, 4), 'vtd')).toBeNull();
    // PASID 0 = RID_PASID: the untagged DMA of an attached device (probed without a PASID)
    expect(probePasid(vtdScope('p_iotlb_inv', { G: 3, DID: 6, PASID: 0, ADDR: 0x1000n }, 4), 'vtd')).toBeUndefined();
    // a PASID-based device-TLB invalidation covers PASID-tagged device-TLB entries only: none attached
    expect(probePasid(vtdScope('p_dev_tlb_inv', { SID: 0x100, PASID: 0, ADDR: 0x1000n }, 4), 'vtd')).toBeNull();
    expect(probePasid(vtdScope('dev_tlb_inv', { SID: 0x100, ADDR: 0x1000n }), 'vtd')).toBeUndefined();
    expect(probePasid(vtdScope('iotlb_inv', { G: 3, DID: 6, ADDR: 0x1000n }), 'vtd')).toBeUndefined();
    // SMMUv3: the SSID of the scope (its CD decides whether anything is there), SSID 0 without one
    expect(probePasid(smmuScope('CMD_ATC_INV', { SID: 0x8, SSV: 1, SSID: 5, SIZE: 0 }), 'smmuv3')).toBe(5);
    expect(probePasid(smmuScope('CMD_TLBI_NH_VA', { ASID: 1, ADDR: 0x1000n }), 'smmuv3')).toBe(0);
  });
});

describe('pageBounds', () => {
  // The reference: the BigInt rule it replaces (first and last byte of the range, page-aligned down).
  const MASK = ~4095n;
  const reference = (base: bigint, bytes: bigint) => [base & MASK, (base + bytes - 1n) & MASK];
  const of = (base: bigint, bytes: bigint) => {
    const out = [0n, 0n];
    pageBounds({ base, bytes }, out);
    return out;
  };
  it('matches the BigInt rule on aligned, unaligned, multi-page and huge ranges', () => {
    const cases: [bigint, bigint][] = [
      [0x1000n, 4096n], // one aligned page: first = last = base
      [0x1234n, 4096n], // unaligned: spans two pages
      [0x1000n, 1n],
      [0x1fffn, 2n], // crosses a page boundary by one byte
      [0x7fff_f000n, 0x20_0000n],
      [0n, 1n << 48n],
      [(1n << 53n) - 4096n, 4096n], // the last page below 2^53: still the double path
      [(1n << 53n) - 4096n, 4097n], // ends at 2^53: the BigInt path
      [1n << 60n, 0x3000n], // above 2^53 (a 64-bit IOVA)
      [0xffff_ffff_ffff_f000n, 4096n],
      [0x5000n, 0n], // empty: the BigInt rule's answer, whatever it means
    ];
    for (const [base, bytes] of cases) expect(of(base, bytes), `${base} + ${bytes}`).toEqual(reference(base, bytes));
  });
  it('a byte count just above 2^53 (rounded down to 2^53 as a double) takes the exact path', () => {
    // Number(2^53 + 1) is 2^53: a double sum would end the range one byte early, on the page before.
    expect(of(0n, (1n << 53n) + 1n)).toEqual([0n, 1n << 53n]);
    expect(of(0n, 1n << 53n)).toEqual([0n, (1n << 53n) - 4096n]);
  });
});

describe('staleHit', () => {
  const H = (x: Partial<CacheHits>): CacheHits => ({ iotlb: false, walk: false, config: false, atc: false, ...x });
  const va = smmuScope('CMD_TLBI_NH_VA', { ASID: 1, ADDR: 0x1000n, LEAF: 0 });
  const leaf = smmuScope('CMD_TLBI_NH_VA', { ASID: 1, ADDR: 0x1000n, LEAF: 1 });
  it('an IOTLB leaf entry is stale for any IOTLB scope; a walk entry only when not leaf-only', () => {
    expect(staleHit(va, H({ iotlb: true }))).toBe('IOTLB entry');
    expect(staleHit(leaf, H({ iotlb: true }))).toBe('IOTLB entry');
    expect(staleHit(va, H({ walk: true }))).toBe('table-walk entry');
    expect(staleHit(leaf, H({ walk: true }))).toBeUndefined(); // LEAF=1 lets walk entries stay
    expect(staleHit(va, H({ atc: true, config: true }))).toBeUndefined(); // not this cache
  });
  it('ATC / device-TLB, configuration scopes, IEC', () => {
    expect(staleHit(smmuScope('CMD_ATC_INV', { SID: 8, SIZE: 0 }), H({ atc: true }))).toBe('ATC/device-TLB entry');
    expect(staleHit(smmuScope('CMD_ATC_INV', { SID: 8, SIZE: 0 }), H({ iotlb: true }))).toBeUndefined();
    expect(staleHit(smmuScope('CMD_CFGI_CD', { SID: 8 }), H({ config: true }))).toBe('configuration entry');
    expect(staleHit(vtdScope('cc_inv', { G: 1 }), H({ config: true }))).toBe('configuration entry');
    expect(staleHit(vtdScope('iec_inv', { G: 0 }), H({ iotlb: true, walk: true, config: true, atc: true }))).toBeUndefined();
  });
});

/**
 * A VT-d unit (legacy mode) with BLK (DID 6, ATS) and NVME (DID 7), its oracle, and helpers.
 * `bitsLookup` false: the oracle sees the unit through `translate` and `cached` alone (a
 * Translator without `hits`).
 */
function vtdOracle(maxEpochs = MAX_OPEN_EPOCHS, bitsLookup = true) {
  const r = rig();
  const T = topo([dev(BLK, 6, true), dev(NVME, 7)]);
  const u = r.unit;
  const unit: Translator = bitsLookup
    ? u
    : {
        translate: (sid, pasid, iova, page) => u.translate(sid, pasid, iova, page),
        cached: (sid, pasid, iova) => u.cached(sid, pasid, iova),
      };
  const o = new StaleOracle(T, 'vtd', unit, maxEpochs);
  let pos = 0;
  const publish = (name: string, f: Record<string, number | bigint>) => {
    const words = desc(name, f);
    const d = VTD.decode(words, { descBytes: 16 });
    const at = pos++;
    o.published(at, at, d, classify(d));
    return { at, words };
  };
  const findings: StaleFinding[] = [];
  const complete = (at: number) => o.completedBefore(at, `the wait at ${at} completed`, (f) => findings.push(f));
  return { r, o, publish, complete, findings, next: () => pos++ };
}

const A = 0x7ff00000n;

describe('unmap epochs', () => {
  it('an IOTLB invalidation opens one per ATS device and page; the device-TLB one closes it and only checks', () => {
    const t = vtdOracle();
    const iotlb = t.publish('iotlb_inv', { G: 3, DID: 6, ADDR: A });
    expect(t.o.openEpochCount).toBe(1); // BLK has ATS: one (device, page)
    t.r.submit(iotlb.words); // bare hardware drops the IOTLB entry; the device TLB keeps its copy
    t.r.submit(desc('dev_tlb_inv', { SID: BLK, ADDR: A }));
    expect(t.r.unit.cached(BLK, undefined, A).atc).toBe(false);
    t.publish('dev_tlb_inv', { SID: BLK, ADDR: A });
    expect(t.o.openEpochCount).toBe(0);
    // only checked: the page is unmapped since, so no DMA can refill the device TLB
    expect(t.r.unit.cached(BLK, undefined, A).atc).toBe(false);
  });
  it('without an IOTLB invalidation before it, a device-TLB invalidation fills (the device may have cached the page all along)', () => {
    const t = vtdOracle();
    t.publish('dev_tlb_inv', { SID: BLK, ADDR: A });
    expect(t.r.unit.cached(BLK, undefined, A).atc).toBe(true);
    t.complete(t.next()); // nothing executed it: stale
    expect(t.findings.map((f) => f.hits[0]!.hit)).toEqual(['ATC/device-TLB entry']);
  });
  it('a device without ATS opens no epoch', () => {
    const t = vtdOracle();
    t.publish('iotlb_inv', { G: 3, DID: 7, ADDR: A });
    expect(t.o.openEpochCount).toBe(0);
  });
  it('too many open epochs: all are forgotten, and a forgotten one fills again instead of only checking', () => {
    const t = vtdOracle(2);
    t.publish('iotlb_inv', { G: 3, DID: 6, ADDR: A });
    t.publish('iotlb_inv', { G: 3, DID: 6, ADDR: A + 0x1000n });
    expect(t.o.openEpochCount).toBe(2);
    t.publish('iotlb_inv', { G: 3, DID: 6, ADDR: A + 0x2000n }); // at the bound: reset, then this one
    expect(t.o.openEpochCount).toBe(1);
    t.r.submit(desc('dev_tlb_inv', { SID: BLK, ADDR: A }));
    expect(t.r.unit.cached(BLK, undefined, A).atc).toBe(false);
    t.publish('dev_tlb_inv', { SID: BLK, ADDR: A }); // its epoch was forgotten: it fills
    expect(t.r.unit.cached(BLK, undefined, A).atc).toBe(true);
    // the page whose epoch is still open only checks
    t.r.submit(desc('dev_tlb_inv', { SID: BLK, ADDR: A + 0x2000n }));
    t.publish('dev_tlb_inv', { SID: BLK, ADDR: A + 0x2000n });
    expect(t.r.unit.cached(BLK, undefined, A + 0x2000n).atc).toBe(false);
  });
});

describe('completion and refills', () => {
  it('an executed invalidation is clean at its completion point; an unexecuted one is stale', () => {
    const t = vtdOracle();
    const a = t.publish('iotlb_inv', { G: 3, DID: 7, ADDR: A });
    t.r.submit(a.words);
    t.publish('iotlb_inv', { G: 3, DID: 7, ADDR: A + 0x1000n }); // never executed
    t.complete(t.next());
    expect(t.findings.map((f) => f.seq)).toEqual([1]);
    expect(t.findings[0]!.hits.map((h) => h.probe.iova)).toEqual([A + 0x1000n]);
  });
  it('a unit without `hits`: its `cached` answers, and the findings are the same', () => {
    for (const bitsLookup of [true, false]) {
      const t = vtdOracle(MAX_OPEN_EPOCHS, bitsLookup);
      const a = t.publish('iotlb_inv', { G: 3, DID: 7, ADDR: A });
      t.r.submit(a.words);
      t.publish('iotlb_inv', { G: 3, DID: 7, ADDR: A + 0x1000n }); // never executed
      t.publish('dev_tlb_inv', { SID: BLK, ADDR: A }); // no epoch open: fills, never executed
      t.complete(t.next());
      expect(
        t.findings.map((f) => [f.seq, f.hits.map((h) => `${h.probe.iova}|${h.hit}`)]),
        bitsLookup ? 'hits' : 'cached',
      ).toEqual([
        [1, [`${A + 0x1000n}|IOTLB entry`]],
        [2, [`${A}|ATC/device-TLB entry`]],
      ]);
    }
  });
  it('a later DMA of another page refills the shared walk entries: not stale for the earlier one', () => {
    const t = vtdOracle();
    const a = t.publish('iotlb_inv', { G: 3, DID: 7, ADDR: A }); // IH=0: walk entries must go too
    t.r.submit(a.words);
    expect(t.r.unit.cached(NVME, undefined, A).walk).toBe(false);
    t.publish('iotlb_inv', { G: 3, DID: 7, ADDR: A + 0x1000n }); // its probe walks the same upper levels
    expect(t.r.unit.cached(NVME, undefined, A).walk).toBe(true);
    t.complete(1);
    expect(t.findings).toEqual([]);
  });
  it('a later probe refilling a removed entry belongs to the later invalidation; one refilling nothing does not', () => {
    const t = vtdOracle();
    const a = t.publish('iotlb_inv', { G: 3, DID: 7, ADDR: A });
    t.r.submit(a.words); // removed
    t.publish('iotlb_inv', { G: 3, DID: 7, ADDR: A }); // refills: a DMA after the guest mapped it again
    t.complete(1); // the completion point between them: the first is clean
    expect(t.findings).toEqual([]);
    // near-identical: the first was NOT executed before the second probe; its own entry stays stale
    const u = vtdOracle();
    u.publish('iotlb_inv', { G: 3, DID: 7, ADDR: A });
    u.publish('iotlb_inv', { G: 3, DID: 7, ADDR: A });
    u.complete(1);
    expect(u.findings.map((f) => f.seq)).toEqual([0]);
  });
  it('the whole-space probe window: a fixed address and the last 4 first pages seen for the device', () => {
    const t = vtdOracle();
    const pages = [0x1000n, 0x2000n, 0x3000n, 0x4000n, 0x5000n].map((p) => A + p);
    for (const p of pages) t.publish('iotlb_inv', { G: 3, DID: 7, ADDR: p });
    t.complete(5); // the five PSIs (positions 0-4), never executed: all stale; judged and gone
    t.findings.length = 0;
    t.publish('iotlb_inv', { G: 2, DID: 7 }); // position 5, domain-selective: no range
    t.complete(6);
    // DEFAULT_IOVA 0x100000, then the last RECENT = 4 pages (the first one fell out of the window)
    expect(t.findings[0]!.hits.map((h) => h.probe.iova)).toEqual([0x100000n, ...pages.slice(1)]);
    // A page already in the window stays where it is (no duplicate, nothing falls out); a new one
    // then pushes the oldest out. BLK (DID 6) has its own window: NVME's is not touched by it.
    t.findings.length = 0;
    t.publish('iotlb_inv', { G: 3, DID: 7, ADDR: pages[2]! }); // 7
    t.publish('iotlb_inv', { G: 3, DID: 6, ADDR: A + 0x9000n }); // 8: BLK
    t.publish('iotlb_inv', { G: 3, DID: 7, ADDR: A + 0x6000n }); // 9
    t.complete(10);
    t.findings.length = 0;
    t.publish('iotlb_inv', { G: 2, DID: 7 }); // 11
    t.complete(12);
    expect(t.findings[0]!.hits.map((h) => h.probe.iova)).toEqual([0x100000n, pages[2]!, pages[3]!, pages[4]!, A + 0x6000n]);
  });
});

describe('time-outs: what the guest is told has failed is not stale', () => {
  it('ITE: invalidations before the last aborted wait and device-TLB ones of ITESID are dropped; later ones stay pending', () => {
    const t = vtdOracle();
    t.publish('iotlb_inv', { G: 3, DID: 6, ADDR: A }); // 0
    t.publish('dev_tlb_inv', { SID: BLK, ADDR: A }); // 1
    const w = VTD.decode(desc('inv_wait', { SW: 1, STATUS_ADDR: 0x1000n }), { descBytes: 16 });
    t.o.published(2, 2, w, classify(w)); // the wait that will be aborted
    t.next();
    t.publish('iotlb_inv', { G: 3, DID: 7, ADDR: A }); // 3: after the wait, executed, no wait yet
    const failed: number[] = [];
    t.o.stopped(
      4,
      { code: 'ITE', value: 0, sid: BLK },
      'the queue stopped on ITE at slot 4',
      (f) => t.findings.push(f),
      (x) => failed.push(x.pos),
    );
    expect(t.findings).toEqual([]);
    expect(failed).toEqual([0, 1]);
    expect(t.o.isPending(3)).toBe(true);
    // near-identical: the same queue stopped by IQE there counts as a completion point: all checked
    const u = vtdOracle();
    u.publish('iotlb_inv', { G: 3, DID: 6, ADDR: A });
    u.publish('dev_tlb_inv', { SID: BLK, ADDR: A });
    u.o.stopped(2, { code: 'IQE', value: 4 }, 'the queue stopped on IQE at slot 2', (f) => u.findings.push(f));
    expect(u.findings.map((f) => f.seq)).toEqual([0, 1]);
  });
  it("CERROR_ATC_INV_SYNC: the timed-out device's ATC_INVs stay pending for that CMD_SYNC; the rest is checked", () => {
    const T = topo([dev(0x8, 1, true), dev(0x10, 1, true)]);
    {
      const unit = guestSmmu(T, new GuestMemory());
      const o = new StaleOracle(T, 'smmuv3', unit);
      const pub = (at: number, name: string, f: Record<string, number | bigint>) => {
        const d = SMMUV3.decode(unwrap(SMMUV3.encode(name, f)));
        o.published(at, at, d, classify(d));
      };
      pub(0, 'CMD_ATC_INV', { SID: 0x8, ADDR: A, SIZE: 0 });
      pub(1, 'CMD_ATC_INV', { SID: 0x10, ADDR: A, SIZE: 0 });
      const found: number[] = [];
      o.stopped(2, { code: 'CERROR_ATC_INV_SYNC', value: 3, sid: 0x8 }, 'the queue stopped on CERROR_ATC_INV_SYNC at slot 2', (f) =>
        found.push(f.seq),
      );
      expect(found).toEqual([1]); // 0x10 answered (nothing ran here, so its entry is stale); 0x8's is not judged yet
      expect(o.isPending(0)).toBe(true);
      o.completedBefore(3, 'the CMD_SYNC at slot 2 completed', (f) => found.push(f.seq));
      expect(found).toEqual([1, 0]); // judged when that CMD_SYNC completes
    }
  });
  it('errorKey: ITE carries ITESID (IQERCD), an SMMUv3 ATC time-out only CONS.ERR', () => {
    expect(errorKey({ code: 'ITE', value: 0, sid: 0x108 })).not.toBe(errorKey({ code: 'ITE', value: 0, sid: 0x200 }));
    expect(errorKey({ code: 'CERROR_ATC_INV_SYNC', value: 3, sid: 0x8 })).toBe(errorKey({ code: 'CERROR_ATC_INV_SYNC', value: 3 }));
    expect(errorKey(undefined)).toBe('');
  });
});
