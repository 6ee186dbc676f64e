// A translation cache with real entries, used for the SMMU's TLB (leaf entries plus non-leaf walk
// entries, tagged by regime/stage/VMID/ASID) and for each device's ATC (tagged by SSID). Entries
// are grouped in buckets by tag; inside a bucket one Map per table level holds the entries keyed
// by the input-address index at that level (addr >> LEVEL_SHIFT[level]), valued LEAF or TABLE.
// No per-entry objects: an entry is one Map slot holding a small number.
//
// Bound: `capacity` entries over all buckets. Inserting a new entry into a full cache first
// flushes the whole cache (QEMU's SMMU_IOTLB_MAX_SIZE rule, spec/smmuv3.md §6.2); `fullFlushes`
// counts how often. A flush only removes entries, so it can never make a translation stale.

import type { AddrRange } from '../../formats/scope.js';
import { LEVEL_SHIFT } from './tables.js';

export const LEAF = 1;
export const TABLE = 2;

export interface Bucket<T> {
  readonly key: number;
  readonly tag: T;
  /** levels[L]: index at level L → LEAF | TABLE. */
  readonly levels: readonly Map<number, number>[];
}

/** Which entries of the matching buckets an invalidation removes. */
export interface DropSpec {
  /** Input addresses; undefined = all. An entry goes when its span overlaps the range. */
  readonly range: AddrRange | undefined;
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

export const levelIndex = (addr: bigint, level: number): number => Number(addr >> LEVEL_SHIFT[level]!);

export class TranslationCache<T> {
  private readonly buckets = new Map<number, Bucket<T>>();
  private count = 0;
  /** Times an insertion found the cache full and flushed it whole. */
  fullFlushes = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`cache capacity ${capacity}`);
  }

  get size(): number {
    return this.count;
  }

  find(key: number): Bucket<T> | undefined {
    return this.buckets.get(key);
  }

  /** The bucket of `key`, created with `tag` when absent. */
  bucket(key: number, tag: T): Bucket<T> {
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { key, tag, levels: [new Map(), new Map(), new Map(), new Map()] };
      this.buckets.set(key, b);
    }
    return b;
  }

  insert(b: Bucket<T>, level: number, addr: bigint, kind: number): void {
    const idx = levelIndex(addr, level);
    const m = b.levels[level]!;
    if (m.get(idx) === kind) return;
    if (!m.has(idx)) {
      if (this.count >= this.capacity) {
        this.clear();
        this.fullFlushes++;
      }
      this.count++;
    }
    m.set(idx, kind);
  }

  /** Level (1..3: blocks and pages) of the leaf entry of bucket `key` that maps `addr`; 0: none. */
  leafLevelOf(key: number, addr: bigint): number {
    const b = this.buckets.get(key);
    if (b === undefined) return 0;
    for (let l = 1; l <= 3; l++) if (b.levels[l]!.get(levelIndex(addr, l)) === LEAF) return l;
    return 0;
  }

  /** Whether a non-leaf (walk) entry of bucket `key` covers `addr`. */
  tableCovers(key: number, addr: bigint): boolean {
    const b = this.buckets.get(key);
    if (b === undefined) return false;
    for (let l = 0; l <= 2; l++) if (b.levels[l]!.get(levelIndex(addr, l)) === TABLE) return true;
    return false;
  }

  /** Removes the entries `spec` selects from every bucket whose tag `match` accepts. */
  drop(match: (tag: T) => boolean, spec: DropSpec, out: Dropped): void {
    for (const b of this.buckets.values()) {
      if (!match(b.tag)) continue;
      for (let l = 0; l < 4; l++) {
        const m = b.levels[l]!;
        if (m.size === 0) continue;
        const leaf = spec.leaf && (spec.leafLevel === undefined || spec.leafLevel === l);
        if (!leaf && !spec.table) continue;
        const n = dropLevel(m, l, spec.range, leaf, spec.table, out);
        this.count -= n;
      }
    }
  }

  /** Removes everything; returns how many entries went. */
  clear(): number {
    const n = this.count;
    for (const b of this.buckets.values()) for (const m of b.levels) m.clear();
    this.count = 0;
    return n;
  }
}

function dropLevel(m: Map<number, number>, level: number, range: AddrRange | undefined, leaf: boolean, table: boolean, out: Dropped): number {
  let n = 0;
  const take = (idx: number, kind: number): void => {
    if ((kind === LEAF && leaf) || (kind === TABLE && table)) {
      m.delete(idx);
      if (kind === LEAF) out.leaf++;
      else out.table++;
      n++;
    }
  };
  if (range === undefined) {
    for (const [idx, kind] of m) take(idx, kind);
    return n;
  }
  const lo = levelIndex(range.base, level);
  const hi = levelIndex(range.base + range.bytes - 1n, level);
  if (hi - lo < m.size) {
    // A short range: look each index up instead of scanning the level.
    for (let idx = lo; idx <= hi; idx++) {
      const kind = m.get(idx);
      if (kind !== undefined) take(idx, kind);
    }
  } else {
    for (const [idx, kind] of m) if (idx >= lo && idx <= hi) take(idx, kind);
  }
  return n;
}
