// CI sharding: a suite's trace × policy results split over n runners, deterministically. The
// results are numbered in suite order (trace by trace, each trace's policies in order) and cut into
// n contiguous runs of nearly equal length (result k goes to shard floor(k·n/total) + 1), so every
// trace × policy lands in exactly one shard, and a trace's policies mostly stay together (one
// ingest, one pass of the reference emulator).

import { InputFault } from '../../formats/result.js';
import type { Suite } from './suite.js';

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

/** `i/n` with 1 <= i <= n. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(Number.isInteger(index) && Number.isInteger(count) && count >= 1 && index >= 1 && index <= count)) {
    throw new InputFault({ message: `--shard: expected i/n with 1 <= i <= n (1/4, 2/4, ...), got "${text}"` });
  }
  return { index, count };
}

/** The trace × policy results of the whole suite. */
export function resultCount(suite: Suite): number {
  return suite.traces.reduce((n, t) => n + t.policies.length, 0);
}

/** The shard's results: trace index -> the indices of its policies that the shard runs. */
export function shardPlan(suite: Suite, shard: Shard): Map<number, number[]> {
  const total = resultCount(suite);
  const plan = new Map<number, number[]>();
  let k = 0;
  for (const [ti, t] of suite.traces.entries()) {
    for (let pi = 0; pi < t.policies.length; pi++, k++) {
      if (Math.floor((k * shard.count) / total) + 1 !== shard.index) continue;
      plan.set(ti, [...(plan.get(ti) ?? []), pi]);
    }
  }
  return plan;
}
