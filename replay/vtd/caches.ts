// The caches of one VT-d unit, with real entries, and the DMA walk that fills them:
//   context cache   SID → DID (legacy context entry; scalable mode: the SID's context entry, tagged
//                   with the DID of its RID_PASID entry)
//   PASID cache     (SID, PASID) → DID (scalable mode only)
//   IOTLB           leaf entries tagged (DID, PASID) by level and address
//   walk            paging-structure (non-leaf) entries, same tags: what IH=1 lets survive
//   device TLBs     one per ATS device, tagged PASID (or none), by level and address
//   IEC             interrupt-remapping entries by index
// Tables behind the caches are the unit's device table (SID → DID, ATS) and the page-table model.
// Bounds (overflow empties the cache, like QEMU's IOTLB reset at 1024 entries): see CacheCapacity.

import { HIT_ATC, HIT_CONFIG, HIT_IOTLB, HIT_WALK, hitsOf, type CacheHits, type Translation } from '../unit.js';
import { PageCache, NO_PASID, tagOf } from './pagecache.js';
import { LEVEL_SHIFT_N, type Level, type PageTableModel } from './pagetable.js';

/** What the unit's context (and PASID) tables say about a device. */
export interface DeviceEntry {
  /** Domain-id of the device's context entry (scalable mode: of each of its PASID entries). */
  readonly did: number;
  /** ATS enabled: the device keeps a device TLB filled by its translation requests. */
  readonly ats: boolean;
}

/** Entry bounds; an insert into a full cache first empties that cache. */
export interface CacheCapacity {
  /** IOTLB leaf entries (QEMU VTD_IOTLB_MAX_SIZE = 1024). */
  readonly iotlb: number;
  /** Paging-structure entries. */
  readonly walk: number;
  /** Entries of each device TLB. */
  readonly devtlb: number;
  /** PASID-cache entries. The context cache (≤ 2^16 SIDs) and IEC (≤ 2^16 indexes) are bounded by their keys. */
  readonly pasid: number;
}

export const DEFAULT_CAPACITY: CacheCapacity = { iotlb: 1024, walk: 1024, devtlb: 1024, pasid: 4096 };

/** RID_PASID: the PASID scalable mode uses for requests without PASID (Linux IOMMU_NO_PASID = 0). */
export const RID_PASID = 0;

export class VtdCaches {
  readonly context = new Map<number, number>();
  readonly pasid = new Map<number, number>();
  readonly iotlb: PageCache;
  readonly walk: PageCache;
  readonly devtlb = new Map<number, PageCache>();
  readonly iec = new Set<number>();

  constructor(readonly capacity: CacheCapacity) {
    this.iotlb = new PageCache(capacity.iotlb);
    this.walk = new PageCache(capacity.walk);
  }

  devTlb(sid: number): PageCache {
    let t = this.devtlb.get(sid);
    if (t === undefined) {
      t = new PageCache(this.capacity.devtlb);
      this.devtlb.set(sid, t);
    }
    return t;
  }

  insertPasid(sid: number, pasid: number, did: number): void {
    if (this.pasid.size >= this.capacity.pasid && !this.pasid.has(tagOf(sid, pasid))) this.pasid.clear();
    this.pasid.set(tagOf(sid, pasid), did);
  }
}

/** What a walk needs besides the caches. */
export interface WalkTables {
  readonly devices: ReadonlyMap<number, DeviceEntry>;
  /** Scalable mode (RTADDR.TTM): PASID tables, IOTLB tags carry the PASID (RID_PASID for none). */
  readonly scalable: boolean;
  readonly pageTable: PageTableModel;
}

/** Where a request lands: its IOTLB tag and the device-TLB tag it is cached under. */
interface Target {
  readonly did: number;
  /** PASID in the IOTLB tag: NO_PASID in legacy mode, RID_PASID for a no-PASID request in scalable mode. */
  readonly tlbPasid: number;
  readonly device: DeviceEntry;
}

function target(t: WalkTables, sid: number, pasid: number | undefined): Target | string {
  const device = t.devices.get(sid);
  if (device === undefined) return `context entry of SID ${sid.toString(16)} not present`;
  if (!t.scalable) {
    if (pasid !== undefined) return 'request with PASID in legacy mode';
    return { did: device.did, tlbPasid: NO_PASID, device };
  }
  return { did: device.did, tlbPasid: pasid ?? RID_PASID, device };
}

const atcTag = (pasid: number | undefined) => tagOf(0, pasid ?? NO_PASID);

/**
 * A DMA from device `sid`: walks (context, PASID, paging structures) through the caches, filling
 * each on a miss, then the IOTLB, and the device TLB when the device has ATS.
 */
export function translate(c: VtdCaches, t: WalkTables, sid: number, pasid: number | undefined, iova: bigint): Translation {
  const tg = target(t, sid, pasid);
  if (typeof tg === 'string') return { ok: false, fault: tg };
  if (!t.pageTable.mapped(iova))
    return { ok: false, fault: `address ${iova.toString(16)} beyond the ${t.pageTable.addressWidth}-bit input space` };
  c.context.set(sid, tg.did);
  if (t.scalable) c.insertPasid(sid, tg.tlbPasid, tg.did);
  const tag = tagOf(tg.did, tg.tlbPasid);
  const leaf = t.pageTable.leafLevel(tg.did, iova);
  const page = iova & ~((1n << LEVEL_SHIFT_N[leaf]!) - 1n);
  let pa = c.iotlb.get(tag, leaf, iova);
  if (pa === undefined) {
    for (let l = 4; l > leaf; l--) if (c.walk.get(tag, l, iova) === undefined) c.walk.put(tag, l as Level, iova, 0n);
    pa = t.pageTable.pa(tg.did, tg.tlbPasid, page);
    c.iotlb.put(tag, leaf, iova, pa);
  }
  if (tg.device.ats) c.devTlb(sid).put(atcTag(pasid), leaf, iova, pa);
  return { ok: true, pa: pa + (iova - page) };
}

/**
 * Cache lookups for a request, filling nothing, as HIT_* bits (Translator.hits). `walk` means every
 * paging-structure entry above the leaf is cached (the walk could be skipped); `config` means the
 * context entry (and in scalable mode the PASID entry) is cached.
 */
export function hits(c: VtdCaches, t: WalkTables, sid: number, pasid: number | undefined, iova: bigint): number {
  const tg = target(t, sid, pasid);
  if (typeof tg === 'string' || !t.pageTable.mapped(iova)) return 0;
  const tag = tagOf(tg.did, tg.tlbPasid);
  const leaf = t.pageTable.leafLevel(tg.did, iova);
  let walk = true;
  for (let l = 4; l > leaf; l--) walk &&= c.walk.get(tag, l, iova) !== undefined;
  let bits = walk ? HIT_WALK : 0;
  if (c.iotlb.get(tag, leaf, iova) !== undefined) bits |= HIT_IOTLB;
  if (c.context.has(sid) && (!t.scalable || c.pasid.has(tagOf(sid, tg.tlbPasid)))) bits |= HIT_CONFIG;
  if (tg.device.ats && c.devtlb.get(sid)?.get(atcTag(pasid), leaf, iova) !== undefined) bits |= HIT_ATC;
  return bits;
}

/** `hits` as a CacheHits object. */
export const cached = (c: VtdCaches, t: WalkTables, sid: number, pasid: number | undefined, iova: bigint): CacheHits =>
  hitsOf(hits(c, t, sid, pasid, iova));

/** An interrupt request through remapping entry `index`: fills the IEC. */
export function remapInterrupt(c: VtdCaches, index: number): void {
  c.iec.add(index & 0xffff);
}
