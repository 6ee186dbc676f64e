// The typed-array indexes the level cache and the stale oracle keep their entries in
// (index-map.ts, page-index.ts), checked against a JS Map or Set doing the same operations.

import { describe, expect, it } from 'vitest';
import { IndexMap } from './index-map.js';
import { NONE, PageIndex, PageSet } from './page-index.js';
import { Rng } from '../samples/rng.js';

describe('IndexMap', () => {
  it('answers as a JS Map over random sets and deletes, with dense and sparse keys (beyond 2^32 too)', () => {
    // Keys drawn from a few hundred values force long probe runs at half load, so a delete that
    // left a gap in a run would lose the keys behind it; the Map is the model.
    for (const [seed, span] of [
      [1, 300],
      [2, 2 ** 40],
    ] as const) {
      const r = new Rng(seed);
      const m = new IndexMap<number>();
      const model = new Map<number, number>();
      for (let i = 0; i < 20000; i++) {
        const k = r.int(span);
        const op = r.float();
        if (op < 0.5) expect(m.set(k, i)).toBe(!model.has(k));
        else if (op < 0.9) expect(m.delete(k)).toBe(model.has(k));
        else if (op < 0.901) m.clear();
        if (op < 0.5) model.set(k, i);
        else if (op < 0.9) model.delete(k);
        else if (op < 0.901) model.clear();
        expect(m.size).toBe(model.size);
      }
      for (const [k, v] of model) expect(m.get(k)).toBe(v);
      const keys: number[] = [];
      expect(m.keysInto(keys)).toBe(model.size);
      expect(keys.slice(0, model.size).sort((a, b) => a - b)).toEqual([...model.keys()].sort((a, b) => a - b));
    }
  });

  it('a deleted key is gone and its neighbours stay', () => {
    const m = new IndexMap<number>();
    for (let k = 0; k < 6; k++) m.set(k, 10 + k);
    expect(m.delete(2)).toBe(true);
    expect(m.delete(2)).toBe(false);
    expect(m.get(2)).toBeUndefined();
    expect([0, 1, 3, 4, 5].map((k) => m.get(k))).toEqual([10, 11, 13, 14, 15]);
  });
});

describe('PageIndex and PageSet', () => {
  it('PageSet answers as a Set of (slot, page) keys over random adds and deletes', () => {
    const r = new Rng(3);
    const s = new PageSet();
    const model = new Set<string>();
    for (let i = 0; i < 20000; i++) {
      const dev = r.int(4);
      const page = r.int(200) * 2 ** 30; // pages beyond 32 bits
      const key = `${dev}/${page}`;
      if (r.float() < 0.55) {
        s.add(dev, page);
        model.add(key);
      } else expect(s.delete(dev, page)).toBe(model.delete(key));
      expect(s.size).toBe(model.size);
    }
    for (const key of model) {
      const [dev, page] = key.split('/').map(Number) as [number, number];
      expect(s.has(dev, page)).toBe(true);
    }
  });

  it('PageIndex lists every node of a key and none of another, and forgets a removed one', () => {
    const x = new PageIndex(1, 2); // two buckets, two node slots: chains and growth
    x.add(0, 1, 7);
    x.add(1, 2, 7);
    x.add(2, 1, 7);
    x.add(3, 1, 8);
    const of = (dev: number, page: number) => {
      const out: number[] = [];
      for (let n = x.first(dev, page); n !== NONE; n = x.nextOf(n)) out.push(n);
      return out.sort();
    };
    expect(of(1, 7)).toEqual([0, 2]);
    expect(of(2, 7)).toEqual([1]);
    x.remove(0);
    expect(of(1, 7)).toEqual([2]);
    expect(of(1, 8)).toEqual([3]);
    expect(x.size).toBe(3);
  });
});
