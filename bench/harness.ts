// Benchmark plumbing: each bench/*.bench.ts exports `benches`, a list of named functions that
// return measurements; `npm run bench` (bench/run.ts) runs them all and prints one table.
// Speed targets live here, never in timed unit tests.

export interface Measurement {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly note?: string;
}

export interface Bench {
  readonly name: string;
  run(): Promise<readonly Measurement[]>;
}

/** Wall time of `fn` in seconds (best of `reps`). */
export async function timeIt<T>(fn: () => Promise<T> | T, reps = 1): Promise<{ seconds: number; value: T }> {
  let best = Infinity;
  let value!: T;
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    value = await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { seconds: best, value };
}

export { peakRssMiB } from './peak-rss.js';

/** Runs `f` `reps` times per measurement (summing what it returns), best of `best` measurements. */
export function timeReps(f: () => number, reps: number, best = 5): Promise<{ seconds: number; value: number }> {
  return timeIt(() => {
    let n = 0;
    for (let r = 0; r < reps; r++) n += f();
    return n;
  }, best);
}

/** The median of `xs` (the upper one of an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
