import { describe, expect, it } from 'vitest';
import { HalfWordCache, WordCache } from './word-cache.js';

describe('WordCache', () => {
  it('finds what it kept by both words, and nothing for a twin differing in either word', () => {
    const c = new WordCache<string>();
    c.keep([1n, 2n], 'a');
    expect(c.find([1n, 2n])).toBe('a');
    expect(c.find([1n, 3n])).toBeUndefined();
    expect(c.find([2n, 2n])).toBeUndefined();
    // A 256-bit slot with zero qw2/qw3 is the same key as its 128-bit words.
    expect(c.find([1n, 2n, 0n, 0n])).toBe('a');
  });

  it('keeps nothing for words past the first two that are nonzero', () => {
    const c = new WordCache<string>();
    c.keep([1n, 2n, 0n, 5n], 'b');
    expect(c.find([1n, 2n, 0n, 5n])).toBeUndefined();
    expect(c.find([1n, 2n])).toBeUndefined();
  });

  it('is emptied when full, before the next insert', () => {
    const c = new WordCache<number>(2);
    c.keep([1n, 0n], 1);
    c.keep([2n, 0n], 2);
    expect(c.find([1n, 0n])).toBe(1);
    c.keep([3n, 0n], 3); // the third insert at capacity 2 empties the cache first
    expect(c.find([1n, 0n])).toBeUndefined();
    expect(c.find([2n, 0n])).toBeUndefined();
    expect(c.find([3n, 0n])).toBe(3);
  });
});

describe('HalfWordCache', () => {
  /** Four 32-bit halves (two 64-bit words) at index 4 of a region, as memory holds a slot. */
  const slot = (h: number[]) => {
    const r = new Uint32Array(16);
    r.set(h, 4);
    return r;
  };

  it('finds what it kept by all four halves, and nothing for a twin differing in any one', () => {
    const c = new HalfWordCache<string>();
    const key = [0x11, 0x22, 0x33, 0x44];
    c.keep(slot(key), 4, 4, 'a');
    expect(c.find(slot(key), 4, 4)).toBe('a');
    for (let k = 0; k < 4; k++) {
      const twin = key.slice();
      twin[k] = twin[k]! ^ 1;
      expect(c.find(slot(twin), 4, 4)).toBeUndefined();
    }
    // A 256-bit slot with zero halves past the fourth is the same key; a nonzero one is no key.
    expect(c.find(slot([...key, 0, 0, 0, 0]), 4, 8)).toBe('a');
    expect(c.find(slot([...key, 0, 0, 0, 9]), 4, 8)).toBeUndefined();
    c.keep(slot([1, 2, 3, 4, 0, 5, 0, 0]), 4, 8, 'b');
    expect(c.find(slot([1, 2, 3, 4]), 4, 4)).toBeUndefined();
  });

  it('keeps every key up to 4096 (growing past its first slots), a kept key takes a new value, then it starts over', () => {
    const c = new HalfWordCache<number>();
    const key = (v: number) => slot([0x46, v, 0x1000 * v, 0]);
    for (let v = 0; v < 4096; v++) c.keep(key(v), 4, 4, v);
    for (let v = 0; v < 4096; v++) expect(c.find(key(v), 4, 4)).toBe(v);
    c.keep(key(7), 4, 4, -7);
    expect(c.find(key(7), 4, 4)).toBe(-7);
    // The 4097th key empties it first.
    c.keep(key(4096), 4, 4, 4096);
    expect(c.find(key(4096), 4, 4)).toBe(4096);
    expect(c.find(key(0), 4, 4)).toBeUndefined();
    expect(c.find(key(4095), 4, 4)).toBeUndefined();
  });

  it("never answers with another key's value when keys share a set", () => {
    // 10,000 distinct keys in 4,096 sets: by pigeonhole many share one, and a later key replaces
    // an earlier one there. Each find gives its own key's value or nothing.
    const c = new HalfWordCache<number>();
    const n = 10_000;
    for (let v = 0; v < n; v++) c.keep(slot([0x46, v, 0x1000 * v, 0]), 4, 4, v);
    let found = 0;
    for (let v = 0; v < n; v++) {
      const got = c.find(slot([0x46, v, 0x1000 * v, 0]), 4, 4);
      if (got !== undefined) {
        expect(got).toBe(v);
        found++;
      }
    }
    expect(found).toBeLessThanOrEqual(4096);
    expect(found).toBeGreaterThan(0);
  });
});
