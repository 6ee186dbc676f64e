// Where a `node --cpu-prof` profile spent its time: self time summed per function (name, file,
// line), the largest first, as the speed notes in docs/ and the README quote them. Given several
// profiles of the same command (alternated runs on a noisy machine), it prints the mean per run.
//
//   node dist/bench/profile-top.js [--top N] FILE.cpuprofile...
//
// Prints `total ms` (the sampled time per run), then one line per function: mean milliseconds per
// run, share of the total, and `name file:line` (the file as its last two path parts).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The parts of V8's .cpuprofile this reads. */
interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time in microseconds per function key of one profile, added into `into`; returns the profile's total. */
export function addSelfTimes(p: CpuProfile, into: Map<string, number>): number {
  const keyOf = new Map<number, string>();
  for (const n of p.nodes) {
    const f = n.callFrame;
    keyOf.set(n.id, `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`);
  }
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // Sample i's time is the delta to the next sample (V8's timeDeltas[i + 1]).
    const dt = p.timeDeltas[i + 1] ?? 0;
    const key = keyOf.get(p.samples[i]!) ?? '(unknown node)';
    into.set(key, (into.get(key) ?? 0) + dt);
    total += dt;
  }
  return total;
}

function main(argv: readonly string[]): number {
  let top = 40;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') top = Number(argv[++i]);
    else files.push(argv[i]!);
  }
  if (files.length === 0 || !Number.isInteger(top) || top < 1) {
    console.error('usage: node dist/bench/profile-top.js [--top N] FILE.cpuprofile...');
    return 2;
  }
  const self = new Map<string, number>();
  let total = 0;
  for (const f of files) {
    let p: CpuProfile;
    try {
      p = JSON.parse(readFileSync(f, 'utf8')) as CpuProfile;
      if (!Array.isArray(p.nodes) || !Array.isArray(p.samples) || !Array.isArray(p.timeDeltas)) throw new Error('not a V8 CPU profile');
    } catch (e) {
      console.error(`profile-top: ${f}: ${(e as Error).message}`);
      return 2;
    }
    total += addSelfTimes(p, self);
  }
  const ms = (us: number) => (us / 1000 / files.length).toFixed(0);
  console.log(`total ms ${ms(total)}${files.length > 1 ? ` (mean of ${files.length} profiles)` : ''}`);
  for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${ms(t).padStart(6)} ${((100 * t) / total).toFixed(1).padStart(5)}% ${k}`);
  }
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
