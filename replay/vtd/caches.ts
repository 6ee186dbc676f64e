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

import { HIT_ALL, HIT_ATC, HIT_CONFIG, HIT_IOTLB, HIT_WALK, hitsOf, type CacheHits, type Translation } from '../unit.js';
import { PageCache, NO_PASID, PRESENT, indexesOfPage, tagOf } from './pagecache.js';
import { PageTableModel } from './pagetable.js';
import { IndexMap } from '../index-map.js';

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

/**
 * A successful translation as one reused answer (Translator.translate: read it before the next
 * call): the request (domain, IOTLB PASID, address) and the model are kept, and `pa` is worked out
 * when read, so a probe that reads only `ok` (the oracle's fills) makes no BigInt.
 */
export class Translated implements Translation {
  readonly ok = true;
  model = new PageTableModel();
  did = 0;
  pasid = 0;
  iova = 0n;

  /**
   * The model's output for the leaf's first address plus the offset into the leaf: the model's
   * output for the address itself (PageTableModel.pa puts the DID and PASID above bit 48 and keeps
   * the address below). What the IOTLB entry would hold, the same at a fill and at a hit (the
   * entry's tag is the DID and PASID, and the model is fixed).
   */
  get pa(): bigint {
    return this.model.pa(this.did, this.pasid, this.iova);
  }
}

export class VtdCaches {
  /** translate's answer, reused. */
  readonly translated = new Translated();
  /**
   * SID → DID, and tagOf(SID, PASID) → DID: typed-array hash maps (index-map.ts), set or asked per
   * probe (a JS Map's set and has are builtin calls), iterated only by the rare context and PASID
   * cache invalidations.
   */
  readonly context = new IndexMap<number>();
  readonly pasid = new IndexMap<number>();
  readonly iotlb: PageCache;
  readonly walk: PageCache;
  readonly devtlb = new Map<number, PageCache>();
  readonly iec = new Set<number>();
  /** A request's index at each level (indexesOfPage), reused by translate and hits. */
  readonly idx: number[] = [0, 0, 0, 0, 0];

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
  /** The device table by SID (a SidTable: a probe's look-up is an array load, not a Map's hash). */
  readonly devices: { get(sid: number): DeviceEntry | undefined };
  /** Scalable mode (RTADDR.TTM): PASID tables, IOTLB tags carry the PASID (RID_PASID for none). */
  readonly scalable: boolean;
  readonly pageTable: PageTableModel;
}

/** Tag of a device TLB entry: the request's PASID, or NO_PASID for a request without one. */
const atcTag = (pasid: number | undefined) => tagOf(0, pasid ?? NO_PASID);

/** Why a request from `sid` finds no context (or PASID) entry; undefined when it finds one. */
function targetFault(t: WalkTables, sid: number, device: DeviceEntry | undefined, pasid: number | undefined): string | undefined {
  if (device === undefined) return `context entry of SID ${sid.toString(16)} not present`;
  if (!t.scalable && pasid !== undefined) return 'request with PASID in legacy mode';
  return undefined;
}

/** PASID in the IOTLB tag: NO_PASID in legacy mode, RID_PASID for a no-PASID request in scalable mode. */
const tlbPasidOf = (t: WalkTables, pasid: number | undefined): number => (!t.scalable ? NO_PASID : (pasid ?? RID_PASID));

/**
 * 4 KiB page number of an address inside the input space (probe-plan.ts pageOf): below 2^53 the
 * double is exact, and an address at or above it converts to 2^53 or more (LevelCache.index).
 */
function pageNumber(iova: bigint): number {
  const a = Number(iova);
  return a < 2 ** 53 ? Math.floor(a / 4096) : Number(iova >> 12n);
}

/**
 * A DMA from device `sid`: walks (context, PASID, paging structures) through the caches, filling
 * each on a miss, then the IOTLB, and the device TLB when the device has ATS. `page`, when given,
 * is `iova`'s 4 KiB page number (Translator.translate): the caches are indexed by it, no BigInt.
 */
export function translate(c: VtdCaches, t: WalkTables, sid: number, pasid: number | undefined, iova: bigint, page?: number): Translation {
  const device = t.devices.get(sid);
  const fault = targetFault(t, sid, device, pasid);
  if (fault !== undefined) return { ok: false, fault };
  const table = t.pageTable;
  if (!(page !== undefined ? table.pageMapped(page) : table.mapped(iova)))
    return { ok: false, fault: `address ${iova.toString(16)} beyond the ${table.addressWidth}-bit input space` };
  const did = device!.did;
  const tlbPasid = tlbPasidOf(t, pasid);
  c.context.set(sid, did);
  if (t.scalable) c.insertPasid(sid, tlbPasid, did);
  const tag = tagOf(did, tlbPasid);
  const leaf = table.leafLevel(did, iova);
  const idx = c.idx;
  indexesOfPage(page ?? pageNumber(iova), idx);
  if (c.iotlb.getAt(tag, leaf, idx[leaf]!) === undefined) {
    for (let l = 4; l > leaf; l--) if (c.walk.getAt(tag, l, idx[l]!) === undefined) c.walk.putAt(tag, l, idx[l]!, PRESENT);
    c.iotlb.putAt(tag, leaf, idx[leaf]!, PRESENT);
  }
  if (device!.ats) c.devTlb(sid).putAt(atcTag(pasid), leaf, idx[leaf]!, PRESENT);
  // The output address is worked out when the answer's pa is read (Translated.pa).
  const out = c.translated;
  out.model = table;
  out.did = did;
  out.pasid = tlbPasid;
  out.iova = iova;
  return out;
}

/**
 * Cache lookups for a request, filling nothing, as HIT_* bits (Translator.hits). `walk` means every
 * paging-structure entry above the leaf is cached (the walk could be skipped); `config` means the
 * context entry (and in scalable mode the PASID entry) is cached. `page` as for translate; `want`
 * (default HIT_ALL): the bits the caller reads, the other look-ups are skipped (their bits 0).
 */
export function hits(
  c: VtdCaches,
  t: WalkTables,
  sid: number,
  pasid: number | undefined,
  iova: bigint,
  page?: number,
  want = HIT_ALL,
): number {
  const device = t.devices.get(sid);
  if (targetFault(t, sid, device, pasid) !== undefined) return 0;
  const table = t.pageTable;
  if (!(page !== undefined ? table.pageMapped(page) : table.mapped(iova))) return 0;
  const tlbPasid = tlbPasidOf(t, pasid);
  const tag = tagOf(device!.did, tlbPasid);
  const leaf = table.leafLevel(device!.did, iova);
  const idx = c.idx;
  indexesOfPage(page ?? pageNumber(iova), idx);
  let bits = 0;
  if ((want & HIT_WALK) !== 0) {
    let walk = true;
    for (let l = 4; l > leaf; l--) walk &&= c.walk.getAt(tag, l, idx[l]!) !== undefined;
    if (walk) bits |= HIT_WALK;
  }
  if ((want & HIT_IOTLB) !== 0 && c.iotlb.getAt(tag, leaf, idx[leaf]!) !== undefined) bits |= HIT_IOTLB;
  if ((want & HIT_CONFIG) !== 0 && c.context.has(sid) && (!t.scalable || c.pasid.has(tagOf(sid, tlbPasid)))) bits |= HIT_CONFIG;
  if ((want & HIT_ATC) !== 0 && device!.ats && c.devtlb.get(sid)?.getAt(atcTag(pasid), leaf, idx[leaf]!) !== undefined) bits |= HIT_ATC;
  return bits;
}

/** `hits` as a CacheHits object. */
export const cached = (c: VtdCaches, t: WalkTables, sid: number, pasid: number | undefined, iova: bigint): CacheHits =>
  hitsOf(hits(c, t, sid, pasid, iova));

/** An interrupt request through remapping entry `index`: fills the IEC. */
export function remapInterrupt(c: VtdCaches, index: number): void {
  c.iec.add(index & 0xffff);
}
