// One address-indexed cache of translation entries, for both architectures: the SMMUv3 TLB and
// ATCs (replay/smmuv3/tlb.ts) and the VT-d IOTLB, paging-structure caches and device TLBs
// (replay/vtd/pagecache.ts). Entries are grouped in buckets by tag (regime/VMID/ASID, DID+PASID,
// SSID: whatever the architecture tags with, `T`); inside a bucket one Map per table level holds
// the entries keyed by the input-address index at that level (addr >> shifts[level]), valued `V`.
// No per-entry objects: an entry is one slot of an IndexMap (index-map.ts: typed-array keys,
// nothing allocated on insert or delete).
//
// Bound: `capacity` entries over all buckets. Inserting a new entry into a full cache first empties
// it (QEMU's rule for both: SMMU_IOTLB_MAX_SIZE, spec/smmuv3.md §6.2; VTD_IOTLB_MAX_SIZE,
// spec/vtd.md §6.3); `fullFlushes` counts how often. Emptying only removes entries, so the bound
// can never keep a stale translation.

import type { AddrRange } from '../formats/scope.js';
import { IndexMap } from './index-map.js';

/** 2^53: addresses below it convert to a double exactly. */
const EXACT = 2 ** 53;
/** log2 of the page a page number counts (probe-plan.ts pageOf). */
const PAGE_SHIFT = 12n;

/**
 * An address range's first and last indexes at every level of a cache (`rangeBounds`): what an
 * invalidation by range drops at each level, worked out once for every bucket and level it visits.
 */
export interface Bounds {
  readonly lo: readonly number[];
  readonly hi: readonly number[];
}

/**
 * The indexes of `range`'s first and last addresses at every level of `shifts` (a LevelCache's),
 * into a new Bounds: for a range kept and used many times (LevelCache.bounds answers one asked
 * about once).
 */
export function rangeBounds(range: AddrRange, shifts: readonly bigint[]): Bounds {
  const out = { lo: [] as number[], hi: [] as number[] };
  boundsInto(
    range,
    shifts.map((s) => 2 ** -Number(s)),
    shifts,
    out,
  );
  return out;
}

/**
 * rangeBounds into `out`, with `scales[L]` = 2^-shifts[L] as numbers. Both ends below 2^53 are exact
 * as doubles, and so are their quotients by powers of two, floored: `index`'s own arithmetic, no
 * BigInt made.
 */
function boundsInto(range: AddrRange, scales: readonly number[], shifts: readonly bigint[], out: { lo: number[]; hi: number[] }): void {
  const first = Number(range.base);
  const bytes = Number(range.bytes);
  // A BigInt's sign survives the conversion, so the doubles answer `base >= 0n && bytes >= 0n`.
  if (first >= 0 && bytes >= 0 && first + bytes < EXACT) {
    const last = first + bytes - 1;
    for (let l = 0; l < scales.length; l++) {
      out.lo[l] = Math.floor(first * scales[l]!);
      out.hi[l] = Math.floor(last * scales[l]!);
    }
    return;
  }
  const lastAddr = range.base + range.bytes - 1n;
  for (let l = 0; l < shifts.length; l++) {
    out.lo[l] = indexAbove(range.base, shifts[l]!);
    out.hi[l] = indexAbove(lastAddr, shifts[l]!);
  }
}

/** `index` of an address that may be 2^53 or more (the BigInt shift). */
const indexAbove = (addr: bigint, shift: bigint): number => Number(addr >> shift);

export interface Bucket<T, V extends number> {
  readonly key: number;
  readonly tag: T;
  /** Its place in creation order (0, 1, ...): a subclass keeps per-bucket state in arrays by it. */
  readonly ordinal: number;
  /** levels[L]: index at level L → value. */
  readonly levels: readonly IndexMap<V>[];
}

/** Buckets found by a scan of the creation-order list while there are at most this many (else the Map). */
const SCAN_BUCKETS = 8;

export class LevelCache<T, V extends number> {
  private readonly buckets = new Map<number, Bucket<T, V>>();
  /** The same buckets in creation order, for walks over all of them (no Map iterator per walk). */
  private readonly bucketList: Bucket<T, V>[] = [];
  /** find's last answer (NaN: none yet; never equal to a key). */
  private lastKey = NaN;
  private lastBucket: Bucket<T, V> | undefined;
  private count = 0;
  /** Times an insertion found the cache full and emptied it. */
  fullFlushes = 0;

  /**
   * 2^-shifts[L] as a number: `index` multiplies by it while the address is an exact double. A
   * product by a power of two is exact (only the exponent moves; nothing here comes near the
   * smallest double), so it is the quotient by 2^shifts[L], floored the same, at a multiply's cost
   * instead of a divide's (4 per probe, 20 million per all-nine replay of 300k commands).
   */
  private readonly scales: readonly number[];
  /** 2^-(shifts[L] - 12): what indexesOfPage multiplies a page number by (undefined: a level is under a page). */
  private readonly pageScales: readonly number[] | undefined;
  /** `bounds`' last range and its answer, reused. */
  private boundsRange: AddrRange | undefined;
  private readonly lastBounds = { lo: [] as number[], hi: [] as number[] };
  /** dropIn's keys of a level to visit, reused. */
  private readonly dropKeys: number[] = [];

  /** `shifts[L]`: log2 of the bytes an entry at level L covers (one Map per level). */
  constructor(
    readonly capacity: number,
    private readonly shifts: readonly bigint[],
  ) {
    if (!(capacity >= 1)) throw new Error(`cache capacity ${capacity}`);
    this.scales = shifts.map((s) => 2 ** -Number(s));
    this.pageScales = shifts.every((s) => s >= PAGE_SHIFT) ? shifts.map((s) => 2 ** -Number(s - PAGE_SHIFT)) : undefined;
  }

  get size(): number {
    return this.count;
  }

  /** The index of `addr` at `level`: the Map key of the entry that would cover it. */
  index(addr: bigint, level: number): number {
    // Below 2^53 the address is exact as a double, and so is its quotient by a power of two,
    // floored: the same number as the BigInt shift, without a BigInt per lookup. An address at or
    // above 2^53 converts to 2^53 or more (rounding never goes below it), so the double itself
    // says which side it is on: no BigInt compared.
    const a = Number(addr);
    if (a < EXACT) return Math.floor(a * this.scales[level]!);
    return Number(addr >> this.shifts[level]!);
  }

  /**
   * `indexes` of an address given by its 4 KiB page number (addr >> 12, exact below 2^53: every
   * 64-bit address's is), with no BigInt: a level's index is the page number over 2^(shift - 12),
   * floored, which is the address over 2^shift, floored. Only for caches whose every level covers
   * a page or more.
   */
  indexesOfPage(page: number, out: number[]): void {
    const scales = this.pageScales;
    if (scales === undefined) throw new Error('level cache: a level smaller than a page has no index by page number');
    for (let l = 0; l < scales.length; l++) out[l] = Math.floor(page * scales[l]!);
  }

  /** `index` for every level at once, into `out` (one conversion of the address). */
  indexes(addr: bigint, out: number[]): void {
    const n = this.scales.length;
    const a = Number(addr); // below 2^53 exactly when addr is (see `index`)
    if (a < EXACT) {
      for (let l = 0; l < n; l++) out[l] = Math.floor(a * this.scales[l]!);
    } else for (let l = 0; l < n; l++) out[l] = Number(addr >> this.shifts[l]!);
  }

  find(key: number): Bucket<T, V> | undefined {
    // Lookups come in runs on one tag (one device's probes, one TLBI's walk), and a tag key
    // (SMMUv3: regime/stage/VMID/ASID) is often beyond a small integer, which a Map lookup must
    // box: the last bucket found answers first. Buckets are never removed, so it stays valid.
    if (key === this.lastKey) return this.lastBucket;
    // A cache holds a bucket per tag in use, a handful (the devices' ASIDs, a device's SSIDs):
    // comparing their keys in a row is cheaper than the Map's hash look-up, a builtin call.
    let b: Bucket<T, V> | undefined;
    const list = this.bucketList;
    if (list.length <= SCAN_BUCKETS) {
      for (let i = 0; i < list.length; i++) {
        if (list[i]!.key === key) {
          b = list[i];
          break;
        }
      }
    } else b = this.buckets.get(key);
    if (b !== undefined) {
      this.lastKey = key;
      this.lastBucket = b;
    }
    return b;
  }

  /** Every bucket (some may be empty after a flush), in creation order. */
  all(): readonly Bucket<T, V>[] {
    return this.bucketList;
  }

  /** The bucket of `key`, created with `tag` when absent. */
  bucket(key: number, tag: T): Bucket<T, V> {
    let b = this.find(key);
    if (b === undefined) {
      b = { key, tag, ordinal: this.bucketList.length, levels: this.shifts.map(() => new IndexMap<V>()) };
      this.buckets.set(key, b);
      this.bucketList.push(b);
    }
    return b;
  }

  /** Adds or replaces the entry of `addr` at `level`; a new entry in a full cache empties it first. */
  insert(b: Bucket<T, V>, level: number, addr: bigint, value: V): void {
    this.insertAt(b, level, this.index(addr, level), value);
  }

  /** `insert` by the address's index at `level` (from `indexes`: one conversion for several levels). */
  insertAt(b: Bucket<T, V>, level: number, idx: number, value: V): void {
    const m = b.levels[level]!;
    if (this.count >= this.capacity && !m.has(idx)) {
      this.clear();
      this.fullFlushes++;
    }
    if (m.set(idx, value)) this.count++;
  }

  /** The entry of bucket `key` covering `addr` at `level`. */
  get(key: number, level: number, addr: bigint): V | undefined {
    return this.find(key)?.levels[level]!.get(this.index(addr, level));
  }

  /**
   * Removes everything; returns how many entries went. Buckets stay (emptied), so a bucket a
   * caller holds while inserting a walk's entries is still the cache's after a flush.
   */
  clear(): number {
    const n = this.count;
    for (const b of this.bucketList) for (const m of b.levels) m.clear();
    this.count = 0;
    return n;
  }

  /**
   * `range`'s first and last indexes at every level (rangeBounds), remembered for the range last
   * asked about: one reused answer, read before the next call.
   */
  bounds(range: AddrRange): Bounds {
    if (range !== this.boundsRange) {
      this.boundsRange = range;
      boundsInto(range, this.scales, this.shifts, this.lastBounds);
    }
    return this.lastBounds;
  }

  /**
   * Removes the entries of bucket `b` at `level` whose index is within `bounds` (a range's, from
   * `bounds` or rangeBounds with this cache's shifts; every index when undefined) and whose value
   * `accept` takes (every one when undefined), calling `onDrop` for each; returns how many went.
   * Walks the smaller side: each index of a short range, else the level's entries.
   */
  dropIn(b: Bucket<T, V>, level: number, bounds: Bounds | undefined, accept?: (v: V) => boolean, onDrop?: (v: V) => void): number {
    const m = b.levels[level]!;
    if (m.size === 0) return 0;
    let n = 0;
    const lo = bounds === undefined ? 0 : bounds.lo[level]!;
    const hi = bounds === undefined ? Infinity : bounds.hi[level]!;
    if (accept === undefined && onDrop === undefined && bounds === undefined) {
      n = m.size;
      m.clear();
    } else if (hi - lo < m.size) {
      // A short range: each of its indexes.
      for (let idx = lo; idx <= hi; idx++) n += this.take(m, idx, accept, onDrop);
    } else {
      // Else the level's entries (keys first: a delete moves entries within the table).
      const keys = this.dropKeys;
      const k = m.keysInto(keys);
      for (let i = 0; i < k; i++) {
        const idx = keys[i]!;
        if (idx >= lo && idx <= hi) n += this.take(m, idx, accept, onDrop);
      }
    }
    this.count -= n;
    return n;
  }

  /** dropIn's step: removes the entry at `idx` if there is one and `accept` takes it; 1 if it went. */
  private take(m: IndexMap<V>, idx: number, accept: ((v: V) => boolean) | undefined, onDrop: ((v: V) => void) | undefined): number {
    // One look-up: the slot found is the one removed.
    const i = m.slotOf(idx);
    if (i < 0) return 0;
    if (accept === undefined && onDrop === undefined) {
      m.deleteAt(i);
      return 1;
    }
    const v = m.valueAt(i);
    if (accept !== undefined && !accept(v)) return 0;
    m.deleteAt(i);
    onDrop?.(v);
    return 1;
  }
}
