// The level cache's index arithmetic and the SMMUv3 TLB's one-pass lookup (level-cache.ts,
// smmuv3/tlb.ts): the double fast path below 2^53 must give the BigInt shift's index, and lookup
// must say what leafLevelOf and tableCovers say. Expected indexes are addr >> shift written out.

import { describe, expect, it } from 'vitest';
import { LevelCache } from './level-cache.js';
import { pageOf } from './probe-plan.js';
import { LEAF, LOOKUP_LEAF, LOOKUP_TABLE, TABLE, TranslationCache } from './smmuv3/tlb.js';
import { indexesOfPage as vtdIndexesOfPage } from './vtd/pagecache.js';

// SMMUv3 4 KiB granule (smmuv3/tables.ts LEVEL_SHIFT): level 0 covers 2^39 bytes ... level 3 2^12.
const SHIFTS = [39n, 30n, 21n, 12n];

describe('LevelCache.index', () => {
  const c = new LevelCache<number, number>(16, SHIFTS);
  // Around the 2^53 boundary of exact doubles, and the top of a 64-bit address space.
  const addrs = [0n, 0xfffn, 0x1000n, 0x12345678000n, (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 0x1000n, (1n << 64n) - 1n];
  it('matches addr >> shift at every level, on both sides of 2^53', () => {
    for (const a of addrs) {
      const all: number[] = [];
      c.indexes(a, all);
      SHIFTS.forEach((s, l) => {
        expect(c.index(a, l)).toBe(Number(a >> s));
        expect(all[l]).toBe(Number(a >> s));
      });
    }
  });
  it('by page number (indexesOfPage, as the oracle probes): the same indexes, with no BigInt', () => {
    for (const a of addrs) {
      const byPage: number[] = [];
      c.indexesOfPage(pageOf(a), byPage);
      SHIFTS.forEach((s, l) => expect(byPage[l]).toBe(Number(a >> s)));
    }
    // A page number rounded as a double would be (the top page read as 2^52) lands on another index.
    const rounded: number[] = [];
    c.indexesOfPage(Math.floor(Number((1n << 64n) - 1n) / 4096), rounded);
    expect(rounded[3]).not.toBe(Number(((1n << 64n) - 1n) >> 12n));
    // A cache with a level under a page (a 2 KiB level) has no index by page number.
    expect(() => new LevelCache<number, number>(16, [21n, 11n]).indexesOfPage(1, [])).toThrow(/smaller than a page/);
  });
  it("the TLB's and VT-d's unrolled integer shifts (pages below 2^31) and their double fallback agree with addr >> shift", () => {
    const tlb = new TranslationCache<number>(16);
    // Both sides of 2^31 and 2^32 pages (where a 32-bit shift would wrap), and the top pages.
    const pages = [0, 1, 511, 512, 0x3ffff, 0x40000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, 2 ** 52 - 1];
    const VTD_SHIFTS = [0n, 12n, 21n, 30n, 39n]; // vtd/pagetable.ts: level L at index L
    for (const p of pages) {
      const a = BigInt(p) << 12n;
      const out: number[] = [];
      tlb.indexesOfPage(p, out);
      SHIFTS.forEach((s, l) => expect(out[l]).toBe(Number(a >> s)));
      const v: number[] = [];
      vtdIndexesOfPage(p, v);
      for (let l = 1; l <= 4; l++) expect(v[l]).toBe(Number(a >> VTD_SHIFTS[l]!));
    }
  });
  it('the last page of a 64-bit space: the shift, not the rounded double (which reaches 2^52)', () => {
    const top = (1n << 64n) - 1n;
    expect(Math.floor(Number(top) / 4096)).toBe(2 ** 52); // what a double alone would say
    expect(c.index(top, 3)).toBe(2 ** 52 - 1);
  });
});

describe('TranslationCache.lookup', () => {
  it('a leaf at level 3 and walk entries above it: LEAF|TABLE on the page, TABLE alone on its neighbour', () => {
    const t = new TranslationCache<string>(64);
    const b = t.bucket(7, 'tag');
    const page = 0x40201000n;
    for (let l = 0; l < 3; l++) t.insert(b, l, page, TABLE);
    t.insert(b, 3, page, LEAF);
    expect(t.lookup(7, page)).toBe(LOOKUP_LEAF | LOOKUP_TABLE);
    // The next page shares the walk entries (same 2 MiB) but has no leaf.
    expect(t.lookup(7, page + 0x1000n)).toBe(LOOKUP_TABLE);
    expect(t.leafLevelOf(7, page + 0x1000n)).toBe(0);
    expect(t.tableCovers(7, page + 0x1000n)).toBe(true);
    // Another tag: nothing, even right after a hit on tag 7 (find's last bucket must not answer).
    t.bucket(8, 'other');
    expect(t.lookup(8, page)).toBe(0);
    expect(t.lookup(9, page)).toBe(0);
    expect(t.lookup(7, page)).toBe(LOOKUP_LEAF | LOOKUP_TABLE);
  });
  it('a flush empties what lookup sees; the bucket it remembered stays the cache own', () => {
    const t = new TranslationCache<string>(2);
    const b = t.bucket(1, 'tag');
    t.insert(b, 3, 0x1000n, LEAF);
    expect(t.lookup(1, 0x1000n)).toBe(LOOKUP_LEAF);
    t.insert(b, 3, 0x2000n, LEAF);
    t.insert(b, 3, 0x3000n, LEAF); // third entry in a cache of 2: emptied first
    expect(t.fullFlushes).toBe(1);
    expect(t.lookup(1, 0x1000n)).toBe(0);
    expect(t.lookup(1, 0x3000n)).toBe(LOOKUP_LEAF);
  });
});

describe('TranslationCache by indexes (fillAt, leafLevelAt, lookupAt)', () => {
  it('fillAt leaves what per-level inserts leave, and the *At lookups agree with their BigInt twins', () => {
    const page = 0x40201000n;
    const t = new TranslationCache<string>(64);
    const idx: number[] = [];
    t.indexes(page, idx);
    t.fillAt(t.bucket(7, 'tag'), 3, 3, idx); // walk entries at levels 0-2, the leaf at 3
    const u = new TranslationCache<string>(64);
    const b = u.bucket(7, 'tag');
    for (let l = 0; l < 3; l++) u.insert(b, l, page, TABLE);
    u.insert(b, 3, page, LEAF);
    expect(t.size).toBe(4);
    for (const a of [page, page + 0x1000n, page + 0x200000n]) {
      const ai: number[] = [];
      t.indexes(a, ai);
      expect(t.lookupAt(7, ai)).toBe(u.lookup(7, a));
      expect(t.leafLevelAt(7, ai)).toBe(u.leafLevelOf(7, a));
    }
    expect(t.leafLevelAt(7, idx)).toBe(3);
    expect(t.lookupAt(8, idx)).toBe(0);
  });
  it('a fill into a cache with room for two: each insert that finds it full empties it first', () => {
    // 3 walk entries then the leaf, capacity 2: the third entry (level 2) empties levels 0-1,
    // leaving levels 2 and 3; one flush.
    const t = new TranslationCache<string>(2);
    const idx: number[] = [];
    t.indexes(0x5000n, idx);
    t.fillAt(t.bucket(1, 'tag'), 3, 3, idx);
    expect(t.fullFlushes).toBe(1);
    expect(t.size).toBe(2);
    expect(t.lookupAt(1, idx)).toBe(LOOKUP_LEAF | LOOKUP_TABLE);
    expect(t.tableCovers(1, 0x5000n)).toBe(true);
  });
});

describe('LevelCache.dropIn by range', () => {
  // One leaf-level (2^12) entry per page at pages p-1, p, p+1 around `at`; a one-page range on
  // page p must take p alone, on either side of 2^53 (exact doubles below, the BigInt path above).
  for (const at of [0x40000000n, (1n << 53n) - 0x2000n, (1n << 53n) + 0x1000n, (1n << 60n) + 0x1000n]) {
    it(`a one-page range at ${at.toString(16)} takes that page's entry only`, () => {
      const c = new LevelCache<string, number>(16, SHIFTS);
      const b = c.bucket(1, 'tag');
      for (const d of [-0x1000n, 0n, 0x1000n]) c.insert(b, 3, at + d, 1);
      expect(c.dropIn(b, 3, c.bounds({ base: at, bytes: 0x1000n }))).toBe(1);
      expect(b.levels[3]!.get(c.index(at, 3))).toBeUndefined();
      expect(b.levels[3]!.get(c.index(at - 0x1000n, 3))).toBe(1);
      expect(b.levels[3]!.get(c.index(at + 0x1000n, 3))).toBe(1);
      // A range ending exactly where a page starts (2 pages from p-1) leaves p+1.
      expect(c.dropIn(b, 3, c.bounds({ base: at - 0x1000n, bytes: 0x2000n }))).toBe(1);
      expect(c.size).toBe(1);
    });
  }
});

describe('TranslationCache.fillAt skips walk entries already in place (its per-bucket memo)', () => {
  /** fillAt as plain inserts, in its order: what the memo must leave the cache as. */
  const plainFill = (
    t: TranslationCache<string>,
    b: ReturnType<TranslationCache<string>['bucket']>,
    tables: number,
    leaf: number,
    idx: number[],
  ) => {
    for (let l = 0; l < tables; l++) t.insertAt(b, l, idx[l]!, TABLE);
    t.insertAt(b, leaf, idx[leaf]!, LEAF);
  };
  const idxOf = (t: TranslationCache<string>, a: bigint) => {
    const i: number[] = [];
    t.indexes(a, i);
    return i;
  };
  const page = 0x40201000n;

  it('a drop of walk entries between two fills of one region: the second fill writes them again', () => {
    const t = new TranslationCache<string>(64);
    const b = t.bucket(1, 'tag');
    t.fillAt(b, 3, 3, idxOf(t, page));
    // TLBI with LEAF=0 over the page: its walk entries go too.
    t.drop(() => true, { bounds: t.bounds({ base: page, bytes: 0x1000n }), leaf: true, table: true }, { leaf: 0, table: 0 });
    expect(t.size).toBe(0);
    t.fillAt(b, 3, 3, idxOf(t, page + 0x1000n)); // same 2 MiB: the same walk entries
    expect(t.lookupAt(1, idxOf(t, page + 0x1000n))).toBe(LOOKUP_LEAF | LOOKUP_TABLE);
    expect(t.size).toBe(4);
  });

  it('a flush by a later leaf insert: the next fill writes the walk entries again', () => {
    const t = new TranslationCache<string>(5);
    const b = t.bucket(1, 'tag');
    t.fillAt(b, 3, 3, idxOf(t, page)); // 4 entries
    t.fillAt(b, 3, 3, idxOf(t, page + 0x1000n)); // walk entries in place: its leaf alone, 5 (full)
    expect(t.size).toBe(5);
    t.fillAt(b, 3, 3, idxOf(t, page + 0x2000n)); // its leaf empties the cache first
    expect(t.fullFlushes).toBe(1);
    expect(t.size).toBe(1);
    t.fillAt(b, 3, 3, idxOf(t, page));
    expect(t.lookupAt(1, idxOf(t, page))).toBe(LOOKUP_LEAF | LOOKUP_TABLE);
    expect(t.size).toBe(5);
  });

  it('a block leaf written over a walk entry: the next fill makes it a walk entry again', () => {
    const t = new TranslationCache<string>(64);
    const b = t.bucket(1, 'tag');
    const idx = idxOf(t, page);
    t.fillAt(b, 3, 3, idx);
    t.insertAt(b, 2, idx[2]!, LEAF); // a 2 MiB block leaf at the same level-2 index
    t.fillAt(b, 3, 3, idx);
    expect(b.levels[2]!.get(idx[2]!)).toBe(TABLE);
  });

  it('random fills, drops and flushes: the same cache as plain inserts', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const t = new TranslationCache<string>(12);
    const u = new TranslationCache<string>(12);
    const pages = Array.from({ length: 24 }, (_, k) => (BigInt(k % 3) << 30n) + (BigInt(k % 5) << 21n) + (BigInt(k) << 12n));
    for (let step = 0; step < 4000; step++) {
      const a = pages[rnd(pages.length)]!;
      const key = 1 + rnd(2);
      const idx = idxOf(t, a);
      const op = rnd(10);
      if (op < 6) {
        const tables = rnd(4);
        const leaf = Math.max(tables, 1 + rnd(3));
        t.fillAt(t.bucket(key, 'tag'), tables, leaf, idx);
        plainFill(u, u.bucket(key, 'tag'), tables, leaf, idx);
      } else {
        const range = { base: a, bytes: BigInt(1 + rnd(3)) << 21n };
        const table = op >= 8;
        t.drop(() => true, { bounds: t.bounds(range), leaf: true, table }, { leaf: 0, table: 0 }, key);
        u.drop(() => true, { bounds: u.bounds(range), leaf: true, table }, { leaf: 0, table: 0 }, key);
      }
      expect(t.size).toBe(u.size);
      expect(t.fullFlushes).toBe(u.fullFlushes);
      for (const p of pages) for (const k of [1, 2]) expect(t.lookupAt(k, idxOf(t, p))).toBe(u.lookupAt(k, idxOf(u, p)));
    }
  });
});

describe('LevelCache.find', () => {
  it('finds each bucket by its key, and none for an absent key, with few buckets (a scan) and many (the Map)', () => {
    const c = new LevelCache<string, number>(16, SHIFTS);
    const keys = [5, 1 << 30, 2 ** 40 + 3, 0, 17, 9, 33, 2, 70, 71, 1e9, 12];
    keys.forEach((k, i) => {
      c.bucket(k, `t${i}`);
      // After each creation every bucket made so far answers, in any order, and absent keys do not.
      for (let j = i; j >= 0; j--) expect(c.find(keys[j]!)?.tag).toBe(`t${j}`);
      expect(c.find(4)).toBeUndefined();
      expect(c.find(2 ** 40 + 4)).toBeUndefined();
      expect(c.find(keys[i]!)?.ordinal).toBe(i);
    });
  });
});
