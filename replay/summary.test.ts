// The summary's latency figures: nearest-rank percentiles and the maximum found by selection
// give the values the sorted array holds at those ranks, whatever the order and the ties.
import { describe, expect, it } from 'vitest';
import { latencyStats, percentile } from './summary.js';

/** A small deterministic generator (the test must not depend on Math.random). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function bySort(values: Float64Array): { p50: number; p99: number; max: number } {
  const sorted = Float64Array.from(values).sort();
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length ? sorted[sorted.length - 1]! : 0 };
}

describe('latencyStats', () => {
  it('is 0 for no latencies and the value itself for one', () => {
    expect(latencyStats(new Float64Array(0))).toEqual({ p50: 0, p99: 0, max: 0 });
    expect(latencyStats(Float64Array.of(7.5))).toEqual({ p50: 7.5, p99: 7.5, max: 7.5 });
  });

  it('gives what the sorted array holds at each rank, on random, tied, sorted and reversed inputs', () => {
    const next = lcg(13);
    for (let t = 0; t < 400; t++) {
      const n = 1 + Math.floor(next() * (t < 200 ? 40 : 3000));
      const distinct = 1 + Math.floor(next() * (t % 3 === 0 ? 3 : 1000)); // few values: long runs of ties
      const values = Float64Array.from({ length: n }, () => Math.floor(next() * distinct) * 0.25);
      if (t % 5 === 1) values.sort();
      if (t % 5 === 2) values.sort().reverse();
      const want = bySort(values);
      expect(latencyStats(values), `case ${t}, n ${n}`).toEqual(want);
    }
  });

  it('takes the ranks nearest-rank: ceil(p/100 n)-th smallest', () => {
    // 1..200 shuffled: p50 is the 100th value, p99 the 198th.
    const values = Float64Array.from({ length: 200 }, (_, i) => ((i * 37) % 200) + 1);
    expect(latencyStats(values)).toEqual({ p50: 100, p99: 198, max: 200 });
  });
});
