// DecodedTable (answers by Decoded.key, checked against the command) against a WeakMap by Decoded,
// on commands from decode caches whose keys collide: two caches with the same key range, and one
// cache past its capacity (keys reused). And the keys a DecodeCache gives. WordsTable: the same
// slots by the key a host is handed with each entry array.

import { describe, expect, it } from 'vitest';
import type { Decoded } from '../formats/codec/codec.js';
import { SMMUV3 } from '../formats/codecs.js';
import { DecodeCache } from './decode-cache.js';
import { DecodedTable, WordsTable } from './decoded-table.js';

/** A CMD_TLBI_NH_VA of page `n` (distinct words per n). */
const tlbi = (n: number): bigint[] => [0x12n | (1n << 48n), BigInt(n) << 12n];

/** A small deterministic generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

describe('DecodeCache keys', () => {
  it('numbers the commands it makes from firstKey, reusing keys after capacity', () => {
    const c = new DecodeCache(SMMUV3, {}, 4, 100);
    const keys = [0, 1, 2, 3, 4, 5].map((n) => c.decode(tlbi(n)).key);
    expect(keys).toEqual([100, 101, 102, 103, 100, 101]);
    expect(SMMUV3.decode(tlbi(0)).key).toBe(-1);
  });
});

describe('DecodedTable', () => {
  it('answers as a WeakMap by Decoded when keys collide', () => {
    // Two caches with the same keys, one of them small enough to reuse its keys, and commands
    // decoded outside any cache (key -1).
    const a = new DecodeCache(SMMUV3, {}, 8);
    const b = new DecodeCache(SMMUV3, {}, 3);
    const next = rng(7);
    const table = new DecodedTable<number>();
    const ref = new WeakMap<Decoded, number>();
    const seen: Decoded[] = [];
    let hits = 0;
    for (let i = 0; i < 5000; i++) {
      const r = next();
      const page = r % 24;
      const d =
        r % 7 === 0
          ? SMMUV3.decode(tlbi(page))
          : (r >>> 3) % 3 === 0 && seen.length > 0
            ? seen[r % seen.length]!
            : (r & 8 ? a : b).decode(tlbi(page));
      if (seen.length < 64) seen.push(d);
      const want = ref.get(d);
      const got = table.get(d);
      // The table may have lost an entry to a command of the same key (a miss), never answer wrong.
      if (got !== undefined) {
        expect(got).toBe(want);
        hits++;
      }
      if (got === undefined) {
        const v = want ?? i;
        ref.set(d, v);
        table.set(d, v);
      }
      expect(table.of(d, () => -1)).toBe(ref.get(d));
    }
    expect(hits).toBeGreaterThan(500);
  });

  it('keeps commands without a key by identity', () => {
    const table = new DecodedTable<string>();
    const d1 = SMMUV3.decode(tlbi(1));
    const d2 = SMMUV3.decode(tlbi(1));
    table.set(d1, 'one');
    expect(table.get(d1)).toBe('one');
    expect(table.get(d2)).toBeUndefined();
    expect(table.of(d2, () => 'two')).toBe('two');
    expect(table.get(d1)).toBe('one');
  });
});

describe('WordsTable', () => {
  const counting = () => {
    const made: (readonly bigint[])[] = [];
    return { made, make: (w: readonly bigint[]) => (made.push(w), `v${made.length}`) };
  };

  it('answers for the very array it kept, by key or without one', () => {
    const t = new WordsTable<string>();
    const { made, make } = counting();
    const a = [1n, 2n];
    const b = [3n, 4n];
    expect(t.of(a, 5, make)).toBe('v1');
    expect(t.of(b, -1, make)).toBe('v2');
    expect(t.of(a, 5, make)).toBe('v1');
    expect(t.of(b, -1, make)).toBe('v2');
    expect(made).toEqual([a, b]);
  });

  it('never answers for another array under the same key, even one with equal words', () => {
    const t = new WordsTable<string>();
    const { made, make } = counting();
    const a = [1n, 2n];
    const twin = [1n, 2n];
    expect(t.of(a, 0, make)).toBe('v1');
    expect(t.of(twin, 0, make)).toBe('v2'); // a reused key: its own answer
    expect(made).toHaveLength(2);
  });

  it('does not work out again arrays that take turns at one key', () => {
    const t = new WordsTable<string>();
    const { made, make } = counting();
    const arrays = [
      [1n, 0n],
      [2n, 0n],
      [3n, 0n],
    ];
    for (let lap = 0; lap < 3; lap++) arrays.forEach((w, i) => expect(t.of(w, 7, make)).toBe(`v${i + 1}`));
    expect(made).toHaveLength(3);
  });
});
