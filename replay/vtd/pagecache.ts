// VT-d's translation caches on the shared level cache (replay/level-cache.ts): the IOTLB (leaf
// entries tagged DID+PASID), the paging-structure caches (non-leaf entries, same tags) and each
// device's device TLB (tagged PASID). An entry at level L (1..4) covers 2^LEVEL_SHIFT[L] bytes.
// An entry's value is only its presence (PRESENT): the output address of a hit is a pure function
// of the tag and the address (PageTableModel.pa), worked out when a translation's pa is read.
// What is VT-d-specific here is the tag (one number for (DID, PASID)) and the invalidations'
// choice of tags (one, a domain, a device's PASIDs, all) and of levels.

import type { AddrRange } from '../../formats/scope.js';
import { LevelCache, type Bounds, type Bucket } from '../level-cache.js';
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

/** 2^(LEVEL_SHIFT[L] - 12): the pages one entry at level L covers. */
const PAGES_PER_ENTRY: readonly number[] = LEVEL_SHIFT.map((s) => 2 ** Math.max(0, s - 12));

/** log2 of PAGES_PER_ENTRY at levels 2..4 (level 1 is the page), and the largest page number indexesOfPage shifts. */
const PAGE_SHIFT2 = LEVEL_SHIFT[2]! - 12;
const PAGE_SHIFT3 = LEVEL_SHIFT[3]! - 12;
const PAGE_SHIFT4 = LEVEL_SHIFT[4]! - 12;
const INT_PAGES = 0x7fffffff;

/**
 * The index of a 4 KiB page number at every level 1..4 into `out` (out[L]): the page number over
 * the pages an entry covers, floored, which is LevelCache.index of the address (exact: every
 * 64-bit address's page number is below 2^53).
 */
export function indexesOfPage(page: number, out: number[]): void {
  if (page >= 0 && page <= INT_PAGES) {
    // Below 2^31 (an address below 2^43) by integer shifts: the same floored quotients, unrolled.
    out[1] = page;
    out[2] = page >>> PAGE_SHIFT2;
    out[3] = page >>> PAGE_SHIFT3;
    out[4] = page >>> PAGE_SHIFT4;
    return;
  }
  for (let l = 1; l <= 4; l++) out[l] = Math.floor(page / PAGES_PER_ENTRY[l]!);
}

/** Every level of the table (bit L set = level L, 1..4). */
const ALL_LEVELS = 0b11110;

/** What an entry holds: a small integer (no BigInt made per fill, no pointer stored into the cache's tables). */
export const PRESENT = 1;

export class PageCache extends LevelCache<number, number> {
  constructor(capacity: number) {
    super(capacity, LEVEL_SHIFT_N);
  }

  /** Adds or replaces the entry of `iova` at `level` under `tag` (get(tag, level, iova) reads it). */
  put(tag: number, level: Level, iova: bigint, value: number): void {
    this.insert(this.bucket(tag, tag), level, iova, value);
  }

  /** `put` by the address's index at `level` (indexesOfPage). */
  putAt(tag: number, level: number, idx: number, value: number): void {
    this.insertAt(this.bucket(tag, tag), level, idx, value);
  }

  /** `get` by the address's index at `level` (indexesOfPage). */
  getAt(tag: number, level: number, idx: number): number | undefined {
    return this.find(tag)?.levels[level]!.get(idx);
  }

  /**
   * Removes the entries of the selected tags, at the levels in `levels` (bit L set = level L),
   * that overlap `range` (every address when undefined). Returns how many were removed.
   */
  drop(select: TagSelect, range: AddrRange | undefined, levels = ALL_LEVELS): number {
    if (this.size === 0) return 0;
    return this.dropBounds(select, range === undefined ? undefined : this.bounds(range), levels);
  }

  /**
   * `drop` by the range's indexes at every level (rangeBounds with LEVEL_SHIFT_N, made once for a
   * range used many times: a prepared invalidation's), every address when undefined.
   */
  dropBounds(select: TagSelect, bounds: Bounds | undefined, levels = ALL_LEVELS): number {
    if (this.size === 0) return 0;
    if (select === 'all' && bounds === undefined && levels === ALL_LEVELS) return this.clear();
    let dropped = 0;
    // No closure per call (docs/replayer.md, "The per-event path"): the one bucket, or each selected one.
    if (typeof select === 'object' && 'tag' in select) {
      const b = this.find(select.tag);
      if (b) dropped += this.dropLevels(b, levels, bounds);
    } else {
      const buckets = this.all();
      for (let i = 0; i < buckets.length; i++) {
        const b = buckets[i]!;
        const tag = b.tag;
        if (select === 'all') dropped += this.dropLevels(b, levels, bounds);
        else if ('id' in select ? tagId(tag) === select.id : tagPasid(tag) !== NO_PASID && tagId(tag) === select.pasidsOf)
          dropped += this.dropLevels(b, levels, bounds);
      }
    }
    return dropped;
  }

  /** dropIn at each level in `levels` (bit L set = level L), 1 to 4 in order. */
  private dropLevels(b: Bucket<number, number>, levels: number, bounds: Bounds | undefined): number {
    let dropped = 0;
    for (let l = 1; l <= 4; l++) if ((levels & (1 << l)) !== 0) dropped += this.dropIn(b, l, bounds);
    return dropped;
  }
}
