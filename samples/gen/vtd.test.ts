// The VT-d driver model against spec/vtd.md §3–4 and against descriptors the real Linux 6.1 driver
// wrote in the captures (samples/captures/README.md, guest-vtd-*.txt).
import { describe, expect, it } from 'vitest';
import { VTD } from '../../formats/codecs.js';
import type { DomainView } from './driver.js';
import type { GenDevice } from './topology.js';
import { devtlbAddr, psiAligned, psiMask, VtdLinux, type VtdConfig } from './vtd.js';

const P = 4096;
const dev = (sid: number, ats = true, index = 0): GenDevice => ({
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
const legacy61: VtdConfig = { kernel: '6.1', cachingMode: true, scalable: false, firstStage: false };
const names = (cmds: readonly (readonly bigint[])[]) => cmds.map((w) => VTD.decode(w).name);

describe('PSI address and mask (spec §3)', () => {
  it('IOVA 0x3000-0x4fff (PFN 3..4) → AM 3 at 0', () => expect(psiAligned(0x3000n, 0x2000n)).toEqual({ addr: 0n, mask: 3 }));
  it('aligned ranges keep log2 of the rounded-up page count', () => {
    expect(psiAligned(0x40000n, 0x3000n)).toEqual({ addr: 0x40000n, mask: 2 });
    expect(psiMask(0x100n, 16n, 64)).toBe(4);
  });
  it('device-TLB size encoding: S and the address bits below the size', () => {
    expect(devtlbAddr(0n, 52)).toEqual({ addr: 0x7ffffffffffff000n, s: 1n }); // the captures' "all"
    expect(devtlbAddr(0x10000n, 4)).toEqual({ addr: 0x17000n, s: 1n }); // bits 12..14 set, 15 clear: 64 KiB
    expect(devtlbAddr(0xffff8000n, 0)).toEqual({ addr: 0xffff8000n, s: 0n });
  });
});

describe('Linux 6.1 legacy mode with caching mode (capture vtd-legacy-strict)', () => {
  const drv = new VtdLinux(legacy61);
  it('a strict unmap: IOTLB PSI, then devTLB, each in its own submission with a wait', () => {
    const subs = drv.unmap(dom(6, [dev(0x100)]), 0xffff8000, P);
    expect(subs.map((s) => [s.cmds, s.sync])).toEqual([
      [[[0x600f2n, 0xffff8000n]], true],
      [[[0x10000000003n, 0xffff8000n]], true],
    ]);
    expect(subs[1]!.ats).toEqual([0x100]);
  });
  it('a map: IOTLB PSI only (caching mode), no devTLB', () => {
    expect(drv.map(dom(6, [dev(0x100)]), 0xffffe000, 2 * P)).toEqual([{ cmds: [[0x600f2n, 0xffffe001n]], sync: true, cause: 'map' }]);
  });
  it('6.1 puts the unaligned start in the descriptor; 6.12 aligns it', () => {
    const d61 = VTD.decode(drv.unmap(dom(2), 0x3000, 2 * P)[0]!.cmds[0]!);
    expect(d61.fields).toMatchObject({ AM: 3n, ADDR: 0x3000n });
    const d612 = VTD.decode(new VtdLinux({ ...legacy61, kernel: '6.12' }).unmap(dom(2), 0x3000, 2 * P)[0]!.cmds[0]!);
    expect(d612.fields).toMatchObject({ AM: 3n, ADDR: 0n });
  });
  it('boot and attach words of the capture; the wait of slot 101', () => {
    expect(drv.boot().map((s) => s.cmds[0]![0])).toEqual([0x4n, 0x11n, 0xd2n]);
    expect(drv.attach(dev(0x8, false), dom(3)).map((s) => s.cmds[0])).toEqual([
      [0x800000031n, 0n],
      [0x300e2n, 0n],
    ]);
    expect(drv.completion(101)).toEqual([0x200000025n, 0x1046194n]);
  });
  it('a range past MAMV falls back to a domain-selective flush', () => {
    expect(VTD.decode(drv.unmap(dom(2), 0, 2 ** 19 * P)[0]!.cmds[0]!).fields.G).toBe(2n);
  });
  it('the injected descriptor is refused (IQE, reserved bit)', () => expect(VTD.decode(drv.illegal()).error?.value).toBe(4));
});

describe('lazy mode flush (capture vtd-legacy-lazy, caching mode off)', () => {
  it('domain-selective IOTLB, then devTLB "all" per ATS device', () => {
    const drv = new VtdLinux({ ...legacy61, cachingMode: false });
    expect(drv.flushAll(dom(6, [dev(0x100)])).map((s) => s.cmds[0])).toEqual([
      [0x600e2n, 0n],
      [0x10000000003n, 0x7ffffffffffff001n],
    ]);
    expect(drv.map(dom(6), 0, P)).toEqual([]); // no caching mode: no invalidation on map
    expect(drv.attach(dev(0x100), dom(6))).toEqual([]);
  });
  it('6.1 skips the devTLBs under caching mode, 6.12 does not', () => {
    expect(new VtdLinux(legacy61).flushAll(dom(6, [dev(0x100)]))).toHaveLength(1);
    expect(new VtdLinux({ ...legacy61, kernel: '6.12' }).flushAll(dom(6, [dev(0x100)]))[0]!.cmds).toHaveLength(2);
  });
});

describe('Linux 6.12 qi_batch', () => {
  const drv = new VtdLinux({ ...legacy61, kernel: '6.12' });
  it('IOTLB then one devTLB per ATS device in one submission with one wait', () => {
    const subs = drv.unmap(dom(2, [dev(0x100, true, 0), dev(0x108, true, 1)]), 0x80000, 4 * P);
    expect(subs).toHaveLength(1);
    expect(names(subs[0]!.cmds)).toEqual(['iotlb_inv', 'dev_tlb_inv', 'dev_tlb_inv']);
    expect(subs[0]!.sync).toBe(true);
  });
  it('submitted at 16 descriptors: 1 IOTLB + 20 devTLBs → 16 + 5, each with a wait', () => {
    const many = Array.from({ length: 20 }, (_, i) => dev(0x100 + 8 * i, true, i));
    const subs = drv.unmap(dom(2, many), 0, P);
    expect(subs.map((s) => [s.cmds.length, s.sync])).toEqual([
      [16, true],
      [5, true],
    ]);
    expect(subs[0]!.ats).toHaveLength(15);
  });
});

describe('scalable mode', () => {
  it('6.1 second stage (capture vtd-scalable-strict): 256-bit descriptors; PASID-cache and P-IOTLB at attach', () => {
    const drv = new VtdLinux({ ...legacy61, scalable: true });
    expect(drv.words).toBe(4);
    expect(drv.boot().map((s) => s.cmds[0]![0])).toEqual([0x4n, 0x11n, 0x37n, 0xd2n]);
    expect(drv.attach(dev(0), dom(2)).map((s) => s.cmds[0])).toEqual([
      [0x20017n, 0n, 0n, 0n],
      [0x20026n, 0n, 0n, 0n],
      [0x31n, 0n, 0n, 0n],
      [0x200e2n, 0n, 0n, 0n],
    ]);
  });
  it('first stage: P-IOTLB page-selective with PASID 0 and IH on unmap; nothing on map', () => {
    const drv = new VtdLinux({ kernel: '6.12', cachingMode: true, scalable: true, firstStage: true });
    const d = VTD.decode(drv.unmap(dom(2, [dev(0x100)]), 0x10000, 16 * P)[0]!.cmds[0]!, { descBytes: 32 });
    expect(d.name).toBe('p_iotlb_inv');
    expect(d.error).toBeUndefined();
    expect(d.fields).toMatchObject({ G: 3n, PASID: 0n, AM: 4n, IH: 1n, ADDR: 0x10000n, DID: 2n });
    expect(drv.map(dom(2), 0, P)).toEqual([]);
    expect(VTD.decode(drv.flushAll(dom(2))[0]!.cmds[0]!, { descBytes: 32 }).fields.G).toBe(2n); // PASID-selective
  });
});
