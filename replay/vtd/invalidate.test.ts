// A prepared IOTLB / device-TLB invalidation (invalidate.ts prepareDrop, invalidatePrepared) removes
// exactly what `invalidate` removes when it derives the tags and range from the fields on each run.

import { describe, expect, it } from 'vitest';
import { VTD } from '../../formats/codecs.js';
import type { Decoded } from '../../formats/codec/codec.js';
import { unwrap } from '../../formats/result.js';
import { DEFAULT_CAPACITY, hits, translate, VtdCaches, type DeviceEntry, type WalkTables } from './caches.js';
import { invalidate, invalidatePrepared, prepareDrop } from './invalidate.js';
import { PageTableModel } from './pagetable.js';

const DEVICES = new Map<number, DeviceEntry>([
  [0x10, { did: 1, ats: true }],
  [0x11, { did: 1, ats: false }],
  [0x20, { did: 2, ats: true }],
]);
const TABLES: WalkTables = {
  devices: DEVICES,
  scalable: true,
  pageTable: new PageTableModel({ largePages: [{ base: 0x4000_0000n, bytes: 0x20_0000n, level: 2 }] }),
};
const PAGES = [0n, 0x1000n, 0x2000n, 0x7000n, 0x20_0000n, 0x4000_0000n, 0x4010_0000n, 0x1_0000_0000n];
const PASIDS = [undefined, 5];

/** Caches filled by DMAs of every device, PASID and page. */
function filled(): VtdCaches {
  const c = new VtdCaches(DEFAULT_CAPACITY);
  for (const [sid] of DEVICES) for (const pasid of PASIDS) for (const a of PAGES) translate(c, TABLES, sid, pasid, a);
  return c;
}

/** Every probe's HIT_* bits, and the caches' sizes. */
function state(c: VtdCaches): unknown {
  const bits: number[] = [];
  for (const [sid] of DEVICES) for (const pasid of PASIDS) for (const a of PAGES) bits.push(hits(c, TABLES, sid, pasid, a));
  return { bits, iotlb: c.iotlb.size, walk: c.walk.size, devtlb: [...c.devtlb.values()].map((t) => t.size) };
}

const desc = (name: string, f: Record<string, number | bigint>): Decoded => VTD.decode(unwrap(VTD.encode(name, f, 4)), { descBytes: 32 });

describe('prepared IOTLB and device-TLB invalidations', () => {
  const cases: [string, Decoded][] = [
    ['iotlb global', desc('iotlb_inv', { G: 1 })],
    ['iotlb domain', desc('iotlb_inv', { G: 2, DID: 1 })],
    ['iotlb page', desc('iotlb_inv', { G: 3, DID: 1, ADDR: 0x1000n, AM: 0 })],
    ['iotlb 8 pages, IH', desc('iotlb_inv', { G: 3, DID: 2, ADDR: 0x0n, AM: 3, IH: 1 })],
    ['iotlb 2 MiB over a large page', desc('iotlb_inv', { G: 3, DID: 1, ADDR: 0x4000_0000n, AM: 9 })],
    ['p_iotlb PASID', desc('p_iotlb_inv', { G: 2, DID: 1, PASID: 5 })],
    ['p_iotlb page of RID_PASID', desc('p_iotlb_inv', { G: 3, DID: 1, PASID: 0, ADDR: 0x2000n, AM: 1 })],
    ['dev_tlb one page', desc('dev_tlb_inv', { SID: 0x10, ADDR: 0x7000n, S: 0 })],
    ['dev_tlb sized (S=1)', desc('dev_tlb_inv', { SID: 0x20, ADDR: 0x1fff000n, S: 1 })],
    ['p_dev_tlb one PASID', desc('p_dev_tlb_inv', { SID: 0x10, PASID: 5, ADDR: 0x1000n, S: 0 })],
    ['p_dev_tlb every PASID (G=1)', desc('p_dev_tlb_inv', { SID: 0x10, G: 1, ADDR: 0x1000n, S: 0 })],
  ];
  for (const [what, d] of cases) {
    it(`${what}: the same entries removed`, () => {
      const p = prepareDrop(d);
      expect(p).toBeDefined();
      const a = filled();
      const b = filled();
      const before = state(a);
      invalidate(a, d, undefined);
      invalidatePrepared(b, d, p);
      expect(state(b)).toEqual(state(a));
      expect(state(a)).not.toEqual(before); // each case removes something
    });
  }
  it('other descriptors are not prepared, and run as invalidate', () => {
    const d = desc('cc_inv', { G: 1 });
    expect(prepareDrop(d)).toBeUndefined();
    const a = filled();
    const b = filled();
    invalidate(a, d, undefined);
    invalidatePrepared(b, d, undefined);
    expect(b.context.size).toBe(0);
    expect(state(b)).toEqual(state(a));
  });
});

describe('context and PASID cache invalidations (the caches are typed-array maps)', () => {
  // filled(): context entries of SIDs 0x10, 0x11 (DID 1) and 0x20 (DID 2); a PASID entry of each with RID_PASID and PASID 5.
  const cases: [string, Decoded, number, number][] = [
    ['context, every entry', desc('cc_inv', { G: 1 }), 0, 6],
    ['context of domain 1', desc('cc_inv', { G: 2, DID: 1 }), 1, 6],
    ['context of SID 0x11 (FM 0)', desc('cc_inv', { G: 3, DID: 1, SID: 0x11, FM: 0 }), 2, 6],
    ['context of SIDs 0x10-0x17 (FM 3)', desc('cc_inv', { G: 3, DID: 1, SID: 0x10, FM: 3 }), 1, 6],
    ['PASID cache, every entry', desc('pc_inv', { G: 3 }), 3, 0],
    ['PASID cache of domain 2', desc('pc_inv', { G: 0, DID: 2 }), 3, 4],
    ['PASID 5 of domain 1', desc('pc_inv', { G: 1, DID: 1, PASID: 5 }), 3, 4],
  ];
  for (const [what, d, context, pasid] of cases) {
    it(`${what}: ${context} context and ${pasid} PASID entries stay`, () => {
      const c = filled();
      expect([c.context.size, c.pasid.size]).toEqual([3, 6]);
      invalidate(c, d, undefined);
      expect([c.context.size, c.pasid.size]).toEqual([context, pasid]);
    });
  }
});
