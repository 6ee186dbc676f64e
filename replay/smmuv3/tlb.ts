// The SMMU's translation caches on the shared level cache (replay/level-cache.ts): the TLB (leaf
// entries plus non-leaf walk entries, tagged by regime/stage/VMID/ASID) and each device's ATC
// (tagged by SSID). Levels 0..3 of the 4 KiB-granule table (LEVEL_SHIFT); an entry's value says
// whether it is a LEAF or a TABLE (walk) entry. What is SMMU-specific here is the TLBI's choice of
// entries: leaf and/or walk entries, and a TTL level hint (spec/smmuv3.md §3).

import { grow } from '../page-index.js';
import { LevelCache, type Bounds, type Bucket as LevelBucket } from '../level-cache.js';
import { LEVEL_SHIFT } from './tables.js';

export const LEAF = 1;
export const TABLE = 2;
type Kind = typeof LEAF | typeof TABLE;

export type Bucket<T> = LevelBucket<T, Kind>;

/** Which entries of the matching buckets an invalidation removes. */
export interface DropSpec {
  /**
   * Input addresses, as the range's indexes at each level (rangeBounds with LEVEL_SHIFT);
   * undefined = all. An entry goes when its span overlaps the range.
   */
  readonly bounds: Bounds | undefined;
  readonly leaf: boolean;
  /** Non-leaf (walk) entries too (TLBI LEAF=0). */
  readonly table: boolean;
  /** TTL hint: only leaf entries of this level (spec/smmuv3.md §3). */
  readonly leafLevel?: number | undefined;
}

/** Entries removed, by kind. */
export interface Dropped {
  leaf: number;
  table: number;
}

const isLeaf = (v: Kind) => v === LEAF;
const isTable = (v: Kind) => v === TABLE;

/** lookup's answer bits. */
export const LOOKUP_LEAF = 1;
export const LOOKUP_TABLE = 2;

/** The level below every level a leaf can be at (no leaf is at level 0): a cache's first `minLeaf`. */
const NO_LEAF = 4;

/** log2 of the 4 KiB pages an entry of each level covers (LEVEL_SHIFT - 12): 27, 18, 9, 0. */
const PAGE_SHIFT0 = Number(LEVEL_SHIFT[0]!) - 12;
const PAGE_SHIFT1 = Number(LEVEL_SHIFT[1]!) - 12;
const PAGE_SHIFT2 = Number(LEVEL_SHIFT[2]!) - 12;
/** The largest page number the integer shifts below take (its indexes are small integers too). */
const INT_PAGES = 0x7fffffff;

export class TranslationCache<T> extends LevelCache<T, Kind> {
  /** lookup's and leafLevelOf's indexes, reused. */
  private readonly scratch: number[] = [0, 0, 0, 0];
  /**
   * The lowest level a leaf entry was ever inserted at (NO_LEAF: none yet). Leaves are 4 KiB pages
   * (level 3) unless the page tables map blocks, so a lookup or a leaf-only invalidation visits
   * only the levels from here: the levels above never held a leaf.
   */
  private minLeaf = NO_LEAF;
  /**
   * fillAt's memo of the walk entries it wrote last, per bucket (by its ordinal): their indexes
   * at levels 0..2 (`pathIdx`, three per bucket), how many levels (`pathLevels`), and the
   * `walkGen` they were all written at (`pathGen`; -1: none). A walk re-inserts the same upper
   * walk entries for every page under them (a 2 MiB region shares levels 0-2), and inserting an
   * entry that is there with the same value changes nothing: no flush, no count, no value.
   */
  private pathIdx = new Float64Array(4 * 3);
  private pathLevels = new Uint8Array(4);
  private pathGen = new Float64Array(4).fill(-1);
  /**
   * Moves on whenever a walk entry (levels 0..2) may have gone or changed: a removal at those
   * levels, a flush, a leaf written at those levels (over a walk entry of the same index). While
   * it stands, every walk entry a memo names is still there, a TABLE.
   */
  private walkGen = 0;

  constructor(capacity: number) {
    super(capacity, LEVEL_SHIFT);
    if (Number(LEVEL_SHIFT[3]!) !== 12) throw new Error('TranslationCache: level 3 is the 4 KiB page');
  }

  /**
   * LevelCache's, unrolled for the 4 levels of the 4 KiB granule: a page number below 2^31 (an
   * address below 2^43, every address the traces use) gives each level's index by an integer
   * shift, the same floored quotient as the double arithmetic, which takes the others.
   */
  override indexesOfPage(page: number, out: number[]): void {
    if (page >= 0 && page <= INT_PAGES) {
      out[0] = page >>> PAGE_SHIFT0;
      out[1] = page >>> PAGE_SHIFT1;
      out[2] = page >>> PAGE_SHIFT2;
      out[3] = page;
    } else super.indexesOfPage(page, out);
  }

  /** Level (1..3: blocks and pages) of the leaf entry of bucket `key` that maps `addr`; 0: none. */
  leafLevelOf(key: number, addr: bigint): number {
    this.indexes(addr, this.scratch);
    return this.leafLevelAt(key, this.scratch);
  }

  /**
   * leafLevelOf by the address's indexes at every level (`indexes`, the same for every cache of
   * the 4 KiB granule): a caller asking several caches about one address converts it once.
   */
  leafLevelAt(key: number, idx: readonly number[]): number {
    const b = this.find(key);
    return b === undefined ? 0 : this.leafIn(b, idx);
  }

  /** Level (1..3) of the leaf entry of `b` at indexes `idx`; 0: none. */
  private leafIn(b: Bucket<T>, idx: readonly number[]): number {
    for (let l = this.minLeaf; l <= 3; l++) if (b.levels[l]!.get(idx[l]!) === LEAF) return l;
    return 0;
  }

  /** lookup's answer for bucket `b` at indexes `idx`. */
  private lookupIn(b: Bucket<T>, idx: readonly number[]): number {
    const out = this.leafIn(b, idx) !== 0 ? LOOKUP_LEAF : 0;
    for (let l = 0; l <= 2; l++) if (b.levels[l]!.get(idx[l]!) === TABLE) return out | LOOKUP_TABLE;
    return out;
  }

  /** LevelCache's insert, noting the level of a leaf (`minLeaf`); every insert comes through here. */
  override insertAt(b: Bucket<T>, level: number, idx: number, value: Kind): void {
    if (value === LEAF) {
      if (level < this.minLeaf) this.minLeaf = level;
      if (level < 3) this.walkGen++; // a block leaf may replace a walk entry
    }
    super.insertAt(b, level, idx, value);
  }

  /** LevelCache's, noting that walk entries went (`walkGen`). */
  override dropIn(
    b: Bucket<T>,
    level: number,
    bounds: Bounds | undefined,
    accept?: (v: Kind) => boolean,
    onDrop?: (v: Kind) => void,
  ): number {
    const n = super.dropIn(b, level, bounds, accept, onDrop);
    if (n > 0 && level < 3) this.walkGen++;
    return n;
  }

  /** LevelCache's, noting that walk entries went (`walkGen`); inserts that find the cache full come here. */
  override clear(): number {
    this.walkGen++;
    return super.clear();
  }

  /**
   * A walk's entries for the address of indexes `idx` into bucket `b`: walk (TABLE) entries at
   * levels 0..tableLevels-1, then the LEAF entry at `leafLevel`, in that order (each insert may
   * find the cache full and empty it first). The walk entries are skipped when this bucket's
   * memo shows them all in place since (`walkGen` unchanged): inserting them again would change
   * nothing.
   */
  fillAt(b: Bucket<T>, tableLevels: number, leafLevel: number, idx: readonly number[]): void {
    const o = b.ordinal;
    if (o >= this.pathGen.length) this.growPaths(o + 1);
    const at = o * 3;
    const gen = this.walkGen;
    if (!(this.pathGen[o] === gen && tableLevels <= this.pathLevels[o]! && this.onPath(at, tableLevels, idx))) {
      for (let l = 0; l < tableLevels; l++) this.insertAt(b, l, idx[l]!, TABLE);
      for (let l = 0; l < tableLevels; l++) this.pathIdx[at + l] = idx[l]!;
      this.pathLevels[o] = tableLevels;
      // A flush by one of these inserts took the ones before it: no memo then.
      this.pathGen[o] = this.walkGen === gen ? gen : -1;
    }
    this.insertAt(b, leafLevel, idx[leafLevel]!, LEAF);
  }

  /**
   * Whether the memo at `at` names the walk entries of `idx` at levels 0..levels-1. One compare,
   * at the deepest of them: an index at a level is the address over that level's span, floored,
   * so the indexes above it follow from it (the spans nest), in `idx` as in the memo, which one
   * walk's indexes wrote together.
   */
  private onPath(at: number, levels: number, idx: readonly number[]): boolean {
    return levels === 0 || this.pathIdx[at + levels - 1] === idx[levels - 1];
  }

  private growPaths(min: number): void {
    const n = Math.max(min, this.pathGen.length * 2);
    this.pathIdx = grow(this.pathIdx, new Float64Array(n * 3));
    this.pathLevels = grow(this.pathLevels, new Uint8Array(n));
    this.pathGen = grow(this.pathGen, new Float64Array(n).fill(-1));
  }

  /**
   * leafLevelOf and tableCovers in one pass over bucket `key`: LOOKUP_LEAF when a leaf entry maps
   * `addr`, LOOKUP_TABLE when a walk entry covers it.
   */
  lookup(key: number, addr: bigint): number {
    this.indexes(addr, this.scratch);
    return this.lookupAt(key, this.scratch);
  }

  /** lookup by the address's indexes, as leafLevelAt. */
  lookupAt(key: number, idx: readonly number[]): number {
    const b = this.find(key);
    return b === undefined ? 0 : this.lookupIn(b, idx);
  }

  /** Whether a non-leaf (walk) entry of bucket `key` covers `addr`. */
  tableCovers(key: number, addr: bigint): boolean {
    const b = this.find(key);
    if (b === undefined) return false;
    for (let l = 0; l <= 2; l++) if (b.levels[l]!.get(this.index(addr, l)) === TABLE) return true;
    return false;
  }

  /** drop's counts, where `countDrop` adds (one function made once, not a closure per drop). */
  private dropCounts: Dropped = { leaf: 0, table: 0 };
  private readonly countDrop = (v: Kind): void => {
    if (v === LEAF) this.dropCounts.leaf++;
    else this.dropCounts.table++;
  };

  /**
   * Removes the entries `spec` selects from every bucket whose tag `match` accepts; counts them
   * into `out`. `key`, when the selection names exactly one tag: that tag's bucket key (the
   * bucket is found, not searched for; `match` accepts it alone).
   */
  drop(match: (tag: T) => boolean, spec: DropSpec, out: Dropped, key?: number): void {
    if (this.size === 0) return;
    this.dropCounts = out;
    if (key !== undefined) {
      const b = this.find(key);
      if (b !== undefined) this.dropFrom(b, spec);
      return;
    }
    const all = this.all();
    for (let i = 0; i < all.length; i++) if (match(all[i]!.tag)) this.dropFrom(all[i]!, spec);
  }

  /** drop's work in one bucket. Walk entries are at levels 0..2, leaves from `minLeaf` on. */
  private dropFrom(b: Bucket<T>, spec: DropSpec): void {
    const count = this.countDrop;
    const first = spec.table ? 0 : this.minLeaf;
    for (let l = first; l < 4; l++) {
      const leaf = spec.leaf && l >= this.minLeaf && (spec.leafLevel === undefined || spec.leafLevel === l);
      if (!leaf && !spec.table) continue;
      this.dropIn(b, l, spec.bounds, leaf && spec.table ? undefined : leaf ? isLeaf : isTable, count);
    }
  }
}
