// The SMMUv3 driver model against spec/smmuv3.md §3–4 and against command words the real Linux 6.1
// driver wrote in the captures (samples/captures/README.md, guest-smmuv3-*.txt).
import { describe, expect, it } from 'vitest';
import { SMMUV3 } from '../../formats/codecs.js';
import type { DomainView } from './driver.js';
import { atcInvSpan, Smmuv3Linux, tlbiRange, type TlbiParams } from './smmuv3.js';
import type { GenDevice } from './topology.js';

const leaf61: TlbiParams = { ril: true, kernel: '6.1', leaf: true, granuleLog2: 12, tgLog2: 12 };
const P = 4096;

const dev = (sid: number, ats: boolean, index = 0): GenDevice => ({
  index,
  name: `d${index}`,
  sid,
  psid: sid,
  iommu: 0,
  hwpt: 0,
  ats,
  domain: 0,
  driver: 'sg',
  weight: 1,
});
const dom = (tag: number, ats: GenDevice[] = []): DomainView => ({ index: 0, tag, ats });
const names = (cmds: readonly (readonly bigint[])[]) => cmds.map((w) => SMMUV3.decode(w).name);

describe('range TLBI decomposition (__arm_smmu_tlb_inv_range, spec §3)', () => {
  it.each([
    [256, [{ num: 0, scale: 8, at: 0 }]], // 1 MiB: one command
    [
      33,
      [
        { num: 0, scale: 0, at: 0 },
        { num: 0, scale: 5, at: 1 },
      ],
    ], // two 5-bit chunks
    [31, [{ num: 30, scale: 0, at: 0 }]],
    [10, [{ num: 4, scale: 1, at: 0 }]], // the captures' 40K unmaps: NUM=4 SCALE=1
  ])('%i pages', (pages, want) => {
    const got = tlbiRange(0x100000, pages * P, leaf61);
    expect(got.map((c) => ({ num: c.num, scale: c.scale, at: (c.addr - 0x100000) / P }))).toEqual(want);
    expect(got.every((c) => c.tg === 1 && c.ttl === 3)).toBe(true);
    const covered = got.reduce((a, c) => a + (c.num + 1) * 2 ** c.scale, 0);
    expect(covered).toBe(pages);
  });
  it('without RIL: one non-range command per 4 KiB page', () => {
    const got = tlbiRange(0x200000, 3 * P, { ...leaf61, ril: false });
    expect(got).toEqual([0, 1, 2].map((i) => ({ addr: 0x200000 + i * P, num: 0, scale: 0, ttl: 0, tg: 0 })));
  });
  it('6.12 non-leaf: no TTL, and a count whose low five bits are 1 is rounded up', () => {
    const got = tlbiRange(0, 33 * P, { ...leaf61, kernel: '6.12', leaf: false });
    expect(got).toEqual([{ addr: 0, num: 16, scale: 1, ttl: 0, tg: 1 }]);
    expect(tlbiRange(0, 33 * P, { ...leaf61, leaf: false })).toHaveLength(2); // 6.1 keeps 33
  });
});

describe('ATC_INV span (arm_smmu_atc_inv_to_cmd, spec §3)', () => {
  it.each([
    [8, 4, 8, 2], // pages 8..11 → SIZE 2 at page 8
    [7, 4, 0, 4], // pages 7..10 → SIZE 4 at page 0 (over-invalidates to stay one command)
    [5, 1, 5, 0],
  ])('pages %i+%i → page %i SIZE %i', (first, n, page, size) => {
    expect(atcInvSpan(first * P, n * P)).toEqual({ addr: page * P, size });
  });
  it('size 0 is everything', () => expect(atcInvSpan(0, 0)).toEqual({ addr: 0, size: 52 }));
});

describe('Linux 6.1 sequences', () => {
  const drv = new Smmuv3Linux({ kernel: '6.1', ril: true });
  it("a strict 4 KiB unmap writes the captures' words: TLBI_NH_VA ASID 1 + SYNC", () => {
    const subs = drv.unmap(dom(1), 0xffff6000, P);
    expect(subs).toHaveLength(1);
    expect(subs[0]!.cmds).toEqual([[0x1000000000012n, 0xffff6701n]]);
    expect(subs[0]!.sync).toBe(true);
    // guest-smmuv3-strict.txt: n=1 sync=1 c0_0=0x1000000100012 c0_1=0xfffec701 (8 KiB)
    expect(drv.unmap(dom(1), 0xfffec000, 2 * P)[0]!.cmds).toEqual([[0x1000000100012n, 0xfffec701n]]);
  });
  it('tlbi-on-map (caching mode on): a map flushes its range like an unmap, cause map, no ATC_INV; off: nothing', () => {
    const cm = new Smmuv3Linux({ kernel: '6.1', ril: true, cachingMode: true });
    const ats = { index: 0, tag: 1, ats: [{ sid: 8 } as never] };
    // the same TLBI_NH_VA words as the 8 KiB unmap above, but no ATC_INV for the ATS device
    expect(cm.map(ats, 0xfffec000, 2 * P)).toEqual([{ cmds: [[0x1000000100012n, 0xfffec701n]], sync: true, cause: 'map' }]);
    expect(cm.unmap(ats, 0xfffec000, 2 * P).map((s) => s.cause)).toEqual(['unmap', 'unmap']); // TLBI + SYNC, ATC_INV + SYNC
    expect(drv.map(ats, 0xfffec000, 2 * P)).toEqual([]);
  });
  it('boot: CFGI_ALL + SYNC, TLBI_NSNH_ALL + SYNC, as the captures begin', () => {
    const subs = drv.boot();
    expect(subs.map((s) => [s.cmds, s.sync])).toEqual([
      [[[0x4n, 0x1fn]], true],
      [[[0x30n, 0n]], true],
    ]);
  });
  it('attach: two bare syncs for a new domain, CFGI_STE + SYNC twice, PREFETCH_CONFIG unsynced, then the domain flush', () => {
    const subs = drv.attach(dev(0x8, false), dom(1), true);
    expect(subs.map((s) => [names(s.cmds), s.sync])).toEqual([
      [[], true],
      [[], true],
      [['CMD_CFGI_STE'], true],
      [['CMD_CFGI_STE'], true],
      [['CMD_PREFETCH_CONFIG'], false],
      [['CMD_TLBI_NH_ASID'], true],
    ]);
    expect(subs[2]!.cmds[0]).toEqual([0x800000003n, 0x1n]); // the captures' CFGI_STE of SID 8
    expect(drv.attach(dev(0x10, false), dom(1), false)).toHaveLength(4); // joining a live domain: no CD syncs
  });
  it('CMD_SYNC is CS=SEV, MSH=ISH, MSIATTR=OIWB and valid', () => {
    const d = SMMUV3.decode(drv.completion());
    expect(d.name).toBe('CMD_SYNC');
    expect(d.error).toBeUndefined();
    expect(d.fields).toMatchObject({ CS: 2n, MSH: 3n, MSIATTR: 0xfn });
  });
});

describe('ATS and batching', () => {
  const drv = new Smmuv3Linux({ kernel: '6.12', ril: false });
  const ats = [dev(0x100, true, 0), dev(0x108, true, 1)];
  it('TLBIs complete (SYNC) before the ATC_INVs of the same unmap, which end with their own SYNC', () => {
    const subs = drv.unmap(dom(3, ats), 0x40000, 2 * P);
    expect(subs.map((s) => [names(s.cmds), s.sync])).toEqual([
      [['CMD_TLBI_NH_VA', 'CMD_TLBI_NH_VA'], true],
      [['CMD_ATC_INV', 'CMD_ATC_INV'], true],
    ]);
    expect(subs[1]!.ats).toEqual([0x100, 0x108]);
    const atc = SMMUV3.decode(subs[1]!.cmds[1]!);
    expect(atc.fields).toMatchObject({ SID: 0x108n, SIZE: 1n, ADDR: 0x40000n, SSV: 0n });
  });
  it('at most 64 commands per publish: full batches go out without a SYNC, the rest with one', () => {
    const subs = drv.unmap(dom(3), 0, 150 * P); // no RIL: 150 TLBIs
    expect(subs.map((s) => [s.cmds.length, s.sync])).toEqual([
      [64, false],
      [64, false],
      [22, true],
    ]);
  });
  it('lazy flush: TLBI_NH_ASID + SYNC, then ATC_INV SIZE=52 per ATS StreamID + SYNC', () => {
    const subs = drv.flushAll(dom(3, ats));
    expect(names(subs[0]!.cmds)).toEqual(['CMD_TLBI_NH_ASID']);
    expect(subs[1]!.cmds.map((w) => SMMUV3.decode(w).fields.SIZE)).toEqual([52n, 52n]);
  });
  it('the injected command is refused (CERROR_ILL)', () => {
    expect(SMMUV3.decode(drv.illegal()).error?.code).toBe('CERROR_ILL');
  });
});
