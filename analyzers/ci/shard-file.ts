// What `invtrace ci SUITE --out DIR` leaves for `invtrace ci merge`: DIR/ci-shard.json, the runs of
// its share of the suite (every trace × policy with its summary, in suite order) and enough of the
// suite to judge them (its path, baseline, thresholds, the whole trace list's size and the shard).
// Merging checks that the shards are of one suite and cover it exactly once, and gives back the
// runs an unsharded `ci` would have made, so the verdict, JUnit and JSON are the same.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../formats/atomic.js';
import { InputFault } from '../../formats/result.js';
import type { PolicyRun, TraceRun } from './run.js';
import type { Shard } from './shard.js';
import type { Thresholds } from './suite.js';

export const SHARD_FILE = 'ci-shard.json';
export const SHARD_VERSION = 1;

export interface ShardFile {
  readonly invtrace_ci_shard: number;
  /** The suite file as given on the command line. */
  readonly suite: string;
  /** The baseline the shard compared against (resolved). */
  readonly baseline: string;
  readonly thresholds: Thresholds;
  readonly shard: Shard;
  /** Traces in the suite, and trace × policy results in all shards. */
  readonly traces_in_suite: number;
  readonly results_in_suite: number;
  readonly runs: readonly ShardRun[];
}

/** A run as a shard file holds it: one written before left-out policies were recorded has no leftOut. */
type ShardRun = Omit<TraceRun, 'leftOut'> & { readonly leftOut?: TraceRun['leftOut'] };

export function writeShardFile(dir: string, f: Omit<ShardFile, 'invtrace_ci_shard'>): string {
  const file = join(dir, SHARD_FILE);
  writeFileAtomic(file, `${JSON.stringify({ invtrace_ci_shard: SHARD_VERSION, ...f }, null, 1)}\n`);
  return file;
}

function readShardFile(dir: string): ShardFile {
  const file = join(dir, SHARD_FILE);
  let json: Partial<ShardFile>; // untrusted until checked below
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as Partial<ShardFile>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputFault({
      file,
      message:
        code === 'ENOENT'
          ? 'no such file: give the folders written by invtrace ci SUITE --shard i/n --out DIR'
          : `not valid JSON (${(e as Error).message})`,
    });
  }
  if (json.invtrace_ci_shard !== SHARD_VERSION || !Array.isArray(json.runs) || typeof json.shard?.index !== 'number') {
    throw new InputFault({ file, field: 'invtrace_ci_shard', message: `expected ${SHARD_VERSION} (written by invtrace ci --out)` });
  }
  return json as ShardFile;
}

export interface Merged {
  readonly suite: string;
  readonly baseline: string;
  readonly thresholds: Thresholds;
  readonly runs: TraceRun[];
  readonly shards: number;
}

/** The shards of one suite, put back together in suite order. */
export function mergeShards(dirs: readonly string[]): Merged {
  if (dirs.length === 0)
    throw new InputFault({ message: 'ci merge: give the output folders of every shard (ci SUITE --shard i/n --out DIR)' });
  const files = dirs.map((d) => ({ dir: d, f: readShardFile(d) }));
  const first = files[0]!.f;
  const seen = new Map<number, string>();
  for (const { dir, f } of files) {
    if (f.suite !== first.suite || f.results_in_suite !== first.results_in_suite || f.shard.count !== first.shard.count) {
      throw new InputFault({
        file: join(dir, SHARD_FILE),
        message: `not a shard of the same run: ${f.suite} shard ${f.shard.index}/${f.shard.count} (${f.results_in_suite} results) beside ${first.suite} shard ${first.shard.index}/${first.shard.count} (${first.results_in_suite} results)`,
      });
    }
    const other = seen.get(f.shard.index);
    if (other !== undefined)
      throw new InputFault({ file: join(dir, SHARD_FILE), message: `shard ${f.shard.index}/${f.shard.count} given twice (also ${other})` });
    seen.set(f.shard.index, dir);
  }
  const missing = Array.from({ length: first.shard.count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length)
    throw new InputFault({
      message: `ci merge: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${first.shard.count}`).join(', ')} missing`,
    });
  // Trace by trace in suite order; a trace split over shards gets its policies back in list order.
  const byTrace = new Map<number, { run: ShardRun; policies: PolicyRun[]; leftOut: TraceRun['leftOut'][number][]; seconds: number }>();
  for (const { f } of files) {
    for (const r of f.runs) {
      const cur = byTrace.get(r.index);
      if (cur === undefined)
        byTrace.set(r.index, { run: r, policies: [...r.policies], leftOut: [...(r.leftOut ?? [])], seconds: r.seconds });
      else {
        cur.policies.push(...r.policies);
        cur.leftOut.push(...(r.leftOut ?? []));
        cur.seconds += r.seconds;
      }
    }
  }
  const runs: TraceRun[] = [...byTrace.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, m]) => ({
      ...m.run,
      seconds: m.seconds,
      policies: m.policies.sort((a, b) => a.index - b.index),
      leftOut: m.leftOut,
    }));
  // A policy left out of a trace (docs/hosts.md) counts among the suite's results: it was asked for.
  const results = runs.reduce((n, r) => n + r.policies.length + r.leftOut.length, 0);
  if (results !== first.results_in_suite) {
    throw new InputFault({
      message: `ci merge: the shards hold ${results} trace × policy results, the suite has ${first.results_in_suite}`,
    });
  }
  return { suite: first.suite, baseline: first.baseline, thresholds: first.thresholds, runs, shards: first.shard.count };
}
