// ProbePlans (replay/probe-plan.ts), the per-scope memo every oracle of a guest queue shares,
// against the plain rules it is made from: devicesInScope, probePasid, and the BigInt page rule
// `addr & ~4095` for the first and last byte of the range. Scopes come from real commands through
// the codecs and classify().

import { describe, expect, it } from 'vitest';
import { classify } from '../formats/classify.js';
import { SMMUV3, VTD } from '../formats/codecs.js';
import { unwrap } from '../formats/result.js';
import type { Scope } from '../formats/scope.js';
import type { Topology } from '../formats/trace/header.js';
import { StaleOracle } from './oracle.js';
import { deviceKey, devicesInScope, probePasid, ProbePlans, type ProbePlan } from './probe-plan.js';
import { guestSmmu } from './smmuv3/index.js';
import { GuestMemory } from './memory.js';
import { HIT_ATC, HIT_CONFIG, HIT_IOTLB, HIT_WALK } from './unit.js';

const dev = (sid: number, domain: number, ats = false) => ({ sid, psid: sid, iommu: 0, ats, domain, hwpt: 0 });
const T: Topology = { iommus: [{ id: 0, vmid: 1 }], devices: [dev(0x8, 1, true), dev(0x9, 1), dev(0x10, 2, true), dev(0x100, 6, true)] };

const smmu = (name: string, f: Record<string, number | bigint>): Scope => classify(SMMUV3.decode(unwrap(SMMUV3.encode(name, f)))).scope!;
const vtd = (name: string, f: Record<string, number | bigint>, words: 2 | 4 = 2): Scope =>
  classify(VTD.decode(unwrap(VTD.encode(name, f, words)), { descBytes: words === 4 ? 32 : 16 })).scope!;

/** The plan by the plain rules, written out again here: the BigInt page masks, a filter per call. */
function plain(s: Scope, arch: 'smmuv3' | 'vtd'): (Omit<ProbePlan, 'devices' | 'slots'> & { sids: number[] }) | null {
  const pasid = probePasid(s, arch);
  if (pasid === null) return null;
  const devices = devicesInScope(s, T, arch);
  const r = s.range;
  const first = r === undefined ? 0n : r.base & ~4095n;
  const last = r === undefined ? 0n : (r.base + r.bytes - 1n) & ~4095n;
  return {
    pasid,
    sids: devices.map((d) => d.sid),
    keys: devices.map((d) => d.sid * 0x200000 + (pasid === undefined ? 0 : pasid + 1)),
    sidSlots: devices.map((d) => T.devices.findIndex((t) => t.sid === d.sid)), // T's SIDs are distinct
    deviceLevel: s.cache === 'atc' || s.cache === 'devtlb',
    iotlb: s.cache === 'iotlb',
    // the caches it names: IOTLB leaves (and walk entries unless leaf-only), the ATC, the config
    want:
      s.cache === 'iotlb'
        ? HIT_IOTLB | (s.leaf ? 0 : HIT_WALK)
        : s.cache === 'atc' || s.cache === 'devtlb'
          ? HIT_ATC
          : s.cache === 'iec'
            ? 0
            : HIT_CONFIG,
    pages: r === undefined ? 0 : first === last ? 1 : 2,
    first,
    last,
    firstPage: Number(first >> 12n),
    lastPage: Number(last >> 12n),
  };
}

// Device slots are numbers ProbePlans gives as plans first name keys: checked apart (`slots` below).
const view = (p: ProbePlan | null) =>
  p === null ? null : { ...p, devices: undefined, slots: undefined, sids: p.devices.map((d) => d.sid) };
const expectPlain = (p: ProbePlan | null, s: Scope, arch: 'smmuv3' | 'vtd') => {
  const want = plain(s, arch);
  expect(view(p)).toEqual(want === null ? null : { ...want, devices: undefined, slots: undefined });
};

describe('ProbePlans', () => {
  const smmuScopes: [string, Scope][] = [
    ['one aligned page', smmu('CMD_TLBI_NH_VA', { ASID: 1, ADDR: 0x7ff0_0000n })],
    ['another page, same ASID', smmu('CMD_TLBI_NH_VA', { ASID: 1, ADDR: 0x7ff0_1000n })],
    ['a range of 8 pages (RIL)', smmu('CMD_TLBI_NH_VA', { ASID: 1, ADDR: 0x40_0000n, TG: 1, NUM: 7, SCALE: 0 })],
    ['every address of an ASID', smmu('CMD_TLBI_NH_ASID', { ASID: 2 })],
    ['every address of every ASID', smmu('CMD_TLBI_NH_ALL', {})],
    ['stage 2 only: no guest device', smmu('CMD_TLBI_S2_IPA', { VMID: 1, ADDR: 0x1000n })],
    ['an ATC span of 2^3 pages', smmu('CMD_ATC_INV', { SID: 0x10, ADDR: 0x12_3000n, SIZE: 3 })],
    ['an ATC of a substream', smmu('CMD_ATC_INV', { SID: 0x8, SSV: 1, SSID: 5, ADDR: 0x2000n, SIZE: 0 })],
    ['an ATC above 2^53', smmu('CMD_ATC_INV', { SID: 0x8, ADDR: 0xffff_ffff_ffff_f000n, SIZE: 0 })],
    ['a CD', smmu('CMD_CFGI_CD', { SID: 0x10, SSID: 0 })],
  ];
  it('SMMUv3: each scope planned as the plain rules say', () => {
    const plans = new ProbePlans(T, 'smmuv3');
    for (const [what, s] of smmuScopes) {
      const p = plans.of(s);
      expectPlain(p, s, 'smmuv3');
      expect(plans.of(s), what).toBe(p); // kept: asked again, the same plan
    }
    // the cases cover what the plan distinguishes: 1 and 2 pages, no range, no device, a PASID
    const p = smmuScopes.map(([, s]) => plans.of(s)!);
    // S2_IPA names one page (ADDR) but no guest device translates through stage 2 alone
    expect(p.map((x) => x.pages)).toEqual([1, 1, 2, 0, 0, 1, 2, 1, 1, 0]);
    expect(p[2]!.lastPage - p[2]!.firstPage).toBe(7); // pages 0x400..0x407
    expect(p[5]!.devices).toEqual([]);
    expect(p[7]!.pasid).toBe(5);
    expect(p[8]!.firstPage).toBe(2 ** 52 - 1); // exact above 2^53 bytes
  });
  it('VT-d: PASID-tagged scopes probe nothing or the untagged form', () => {
    const plans = new ProbePlans(T, 'vtd');
    const scopes = [
      vtd('iotlb_inv', { G: 3, DID: 6, ADDR: 0x5000n, AM: 2 }),
      vtd('dev_tlb_inv', { SID: 0x100, ADDR: 0x1000n }),
      vtd('p_iotlb_inv', { G: 3, DID: 6, PASID: 1, ADDR: 0x1000n }, 4),
      vtd('p_iotlb_inv', { G: 3, DID: 6, PASID: 0, ADDR: 0x1000n }, 4),
      vtd('cc_inv', { G: 1 }),
    ];
    for (const s of scopes) expectPlain(plans.of(s), s, 'vtd');
    expect(plans.of(scopes[2]!)).toBeNull();
    expect(plans.of(scopes[0]!)!.pages).toBe(2); // AM 2: 4 pages from 0x4000
  });
  it('plans are per scope, not per tag: two pages of one ASID get their own', () => {
    const plans = new ProbePlans(T, 'smmuv3');
    const [a, b] = [plans.of(smmuScopes[0]![1])!, plans.of(smmuScopes[1]![1])!];
    expect(b.firstPage).toBe(a.firstPage + 1);
    expect(a.keys).toEqual([deviceKey(0x8, 0), deviceKey(0x9, 0)]);
  });
  it('device slots: one number per device key across every plan of the queue, 0.. with no gap', () => {
    const plans = new ProbePlans(T, 'smmuv3');
    const slotOfKey = new Map<number, number>();
    for (const [, s] of smmuScopes) {
      const p = plans.of(s);
      if (p === null) continue;
      expect(p.slots.length).toBe(p.keys.length);
      p.keys.forEach((k, i) => {
        const had = slotOfKey.get(k);
        if (had === undefined) slotOfKey.set(k, p.slots[i]!);
        else expect(p.slots[i]).toBe(had);
      });
    }
    const slots = [...slotOfKey.values()].sort((a, b) => a - b);
    expect(slots).toEqual(slots.map((_, i) => i)); // distinct keys, distinct slots from 0
    expect(plans.deviceSlotCount).toBe(slots.length);
  });
  it('recent answers: the same plan for a scope asked again after others, and none for a look-alike', () => {
    const plans = new ProbePlans(T, 'smmuv3');
    const scopes = smmuScopes.map(([, s]) => s);
    const first = scopes.map((s) => plans.of(s));
    // Asked again in every order and distance (within the recent window and beyond it).
    for (let k = 0; k < 40; k++) {
      const i = (k * 7) % scopes.length;
      expect(plans.of(scopes[i]!)).toBe(first[i]);
    }
    // An equal scope that is another object is another plan (plans are kept by identity).
    const again = smmu('CMD_TLBI_NH_VA', { ASID: 1, ADDR: 0x7ff0_1000n });
    const p = plans.of(again)!;
    expect(p).not.toBe(first[1]);
    expect(p.firstPage).toBe(first[1]!.firstPage);
  });
  it("an oracle refuses another queue's plans", () => {
    const unit = guestSmmu(T, new GuestMemory());
    const other: Topology = { ...T, devices: T.devices.slice(1) };
    expect(() => new StaleOracle(T, 'smmuv3', unit, undefined, new ProbePlans(other, 'smmuv3'))).toThrow(/another queue/);
    expect(() => new StaleOracle(T, 'smmuv3', unit, undefined, new ProbePlans(T, 'vtd'))).toThrow(/another queue/);
    expect(() => new StaleOracle(T, 'smmuv3', unit, undefined, new ProbePlans(T, 'smmuv3'))).not.toThrow();
  });
});
