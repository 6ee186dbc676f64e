// PageSet, the cause inference's set of mapped pages, against a JS Set under random toggles: pages
// that collide (a small table, pages a table's length apart), removals that must move later
// entries back (backward-shift deletion), growth, and pages that are not safe integers (BigInt).
import { describe, expect, it } from 'vitest';
import { PageSet } from './page-set.js';

/** A small deterministic generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

describe('PageSet', () => {
  it.each([
    ['few pages, many collisions', 1, 40, 1],
    ['pages a power of two apart', 2, 64, 1024],
    ['spread pages, growth', 3, 5000, 7919],
    ['pages above 2^32', 4, 300, 2 ** 33 + 4096],
  ])('agrees with a Set: %s', (_, seed, distinct, stride) => {
    const r = rng(seed);
    const s = new PageSet(4);
    const ref = new Set<number>();
    for (let step = 0; step < 20000; step++) {
      const p = Math.floor(r() * distinct) * stride;
      const added = !ref.has(p);
      if (added) ref.add(p);
      else ref.delete(p);
      expect(s.toggle(p)).toBe(added);
      if (step % 97 === 0) {
        expect(s.size).toBe(ref.size);
        for (let q = 0; q < distinct; q += 7) expect(s.has(q * stride)).toBe(ref.has(q * stride));
      }
    }
  });

  it('keeps BigInt pages (and numbers that are not safe integers) beside the numbers', () => {
    const s = new PageSet();
    expect(s.toggle(5)).toBe(true);
    expect(s.toggle(2n ** 70n)).toBe(true);
    expect(s.toggle(2 ** 60)).toBe(true);
    expect(s.has(2n ** 70n)).toBe(true);
    expect(s.has(2 ** 60)).toBe(true);
    expect(s.size).toBe(3);
    expect(s.toggle(2n ** 70n)).toBe(false);
    expect(s.toggle(5)).toBe(false);
    expect(s.size).toBe(1);
  });
});
