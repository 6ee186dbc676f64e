// An address-indexed cache of translation entries, grouped by tag and level: the IOTLB (leaf
// entries tagged DID+PASID), the paging-structure caches (non-leaf entries, same tags) and each
// device's device TLB (tagged PASID). An entry at level L covers 2^LEVEL_SHIFT[L] bytes and is
// keyed by iova >> LEVEL_SHIFT[L]. Bounded: inserting into a full cache first empties it (QEMU's
// IOTLB does the same at VTD_IOTLB_MAX_SIZE = 1024, spec/vtd.md §6.3); dropping entries is always
// allowed to a cache, so the bound never keeps a stale entry.

import type { AddrRange } from '../../formats/scope.js';
import { LEVEL_SHIFT, LEVEL_SHIFT_N, type Level } from './pagetable.js';

/** The PASID field value that stands for "request without PASID" in a tag (PASIDs are 20 bits). */
export const NO_PASID = 0x100000;
const TAG_ID_UNIT = 0x200000;

/** Tag of (16-bit id, PASID or NO_PASID): one number, exact in a double. */
export const tagOf = (id: number, pasid: number): number => id * TAG_ID_UNIT + pasid;
export const tagId = (tag: number): number => Math.floor(tag / TAG_ID_UNIT);
export const tagPasid = (tag: number): number => tag % TAG_ID_UNIT;

/**
 * Which tags an invalidation selects: one exact tag; every tag of one id (any PASID, with or
 * without); every PASID tag of one id (not the NO_PASID one); or all.
 */
export type TagSelect = { readonly tag: number } | { readonly id: number } | { readonly pasidsOf: number } | 'all';

type LevelMaps = [undefined, Map<number, bigint>, Map<number, bigint>, Map<number, bigint>, Map<number, bigint>];

export class PageCache {
  private readonly tags = new Map<number, LevelMaps>();
  private count = 0;
  /** Times the cache was emptied because it was full. */
  overflows = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`cache capacity ${capacity}`);
  }

  get size(): number {
    return this.count;
  }

  private maps(tag: number): LevelMaps {
    let m = this.tags.get(tag);
    if (m === undefined) {
      m = [undefined, new Map(), new Map(), new Map(), new Map()];
      this.tags.set(tag, m);
    }
    return m;
  }

  insert(tag: number, level: Level, iova: bigint, value: bigint): void {
    const key = Number(iova >> LEVEL_SHIFT_N[level]!);
    const existing = this.tags.get(tag)?.[level];
    if (existing?.has(key)) {
      existing.set(key, value);
      return;
    }
    if (this.count >= this.capacity) {
      this.clear();
      this.overflows++;
    }
    this.maps(tag)[level].set(key, value);
    this.count++;
  }

  lookup(tag: number, level: Level, iova: bigint): bigint | undefined {
    return this.tags.get(tag)?.[level].get(Number(iova >> LEVEL_SHIFT_N[level]!));
  }

  /** Removes everything; returns how many entries there were. */
  clear(): number {
    const n = this.count;
    this.tags.clear();
    this.count = 0;
    return n;
  }

  /**
   * Removes the entries of the selected tags, at the levels in `levels` (bit L set = level L),
   * that overlap `range` (every address when undefined). Returns how many were removed.
   */
  drop(select: TagSelect, range: AddrRange | undefined, levels = 0b11110): number {
    if (this.count === 0) return 0;
    if (select === 'all' && range === undefined && levels === 0b11110) return this.clear();
    let dropped = 0;
    const visit = (maps: LevelMaps) => {
      for (let l = 1; l <= 4; l++) {
        if ((levels & (1 << l)) === 0) continue;
        const m = maps[l as Level];
        if (m.size > 0) dropped += dropRange(m, LEVEL_SHIFT[l]!, range);
      }
    };
    if (typeof select === 'object' && 'tag' in select) {
      const maps = this.tags.get(select.tag);
      if (maps) visit(maps);
    } else {
      for (const [tag, maps] of this.tags) {
        if (select === 'all') visit(maps);
        else if ('id' in select ? tagId(tag) === select.id : tagPasid(tag) !== NO_PASID && tagId(tag) === select.pasidsOf) visit(maps);
      }
    }
    this.count -= dropped;
    return dropped;
  }
}

/** Deletes the keys of `m` (entries of 2^shift bytes) overlapping `range`; walks the smaller side. */
function dropRange(m: Map<number, bigint>, shift: number, range: AddrRange | undefined): number {
  if (range === undefined) {
    const n = m.size;
    m.clear();
    return n;
  }
  const s = BigInt(shift);
  const lo = Number(range.base >> s);
  const hi = Number((range.base + range.bytes - 1n) >> s);
  let n = 0;
  if (hi - lo + 1 <= m.size) {
    for (let k = lo; k <= hi; k++) if (m.delete(k)) n++;
  } else {
    for (const k of m.keys()) if (k >= lo && k <= hi && m.delete(k)) n++;
  }
  return n;
}
