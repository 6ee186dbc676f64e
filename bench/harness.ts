// Benchmark plumbing: each bench/*.bench.ts exports `benches`, a list of named functions that
// return measurements; `npm run bench` (bench/run.ts) runs them all and prints one table.
// Speed targets live here, never in timed unit tests.

import { readFileSync } from 'node:fs';

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

/**
 * Peak resident set size of this process so far, in MiB: /proc/self/status VmHWM where there is one
 * (Linux). Not `resourceUsage().maxRSS` there: Linux keeps the larger of the memory the process had
 * before `exec` and after, and before `exec` a bench's child is the bench's own fork (measured: a
 * `node -e` child reports 42 MiB beside a small bench and 98 MiB beside one holding a 99 MB log;
 * VmHWM 42 MiB both times).
 */
export function peakRssMiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // no procfs: rusage's figure
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** Runs `f` `reps` times per measurement (summing what it returns), best of `best` measurements. */
export function timeReps(f: () => number, reps: number, best = 5): Promise<{ seconds: number; value: number }> {
  return timeIt(() => {
    let n = 0;
    for (let r = 0; r < reps; r++) n += f();
    return n;
  }, best);
}
