// CI sharding through the built CLI: two shards (one with --jobs 2) cover every trace × policy of a
// suite exactly once, and `ci merge` of their outputs prints the same JSON and writes the same JUnit
// as the unsharded run (times, timestamps and host names aside); a missing or repeated shard is a
// one-line error. The suite: the six hand-written scenarios and a generated trace whose ring wraps,
// under "all" (9 policies each: 63 results).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, ROOT, tempDir } from '../../test/helpers.js';
import { loadSuite } from './suite.js';
import { parseShard, resultCount, shardPlan } from './shard.js';

const dir = tempDir();
const suiteFile = join(dir, 'suite.json');
const SCENARIOS = [
  'a-vtd-shared-domain-devtlb',
  'b-vtd-devtlb-alone',
  'c-vtd-split-domain',
  'd-smmuv3-illegal-then-vmm-command',
  'e-smmuv3-wrap',
  'f-smmuv3-entry-num-overcount',
];
writeFileSync(
  suiteFile,
  JSON.stringify({
    invtrace_suite: 1,
    baseline: join(ROOT, 'samples/ci/baseline.json'),
    traces: [
      ...SCENARIOS.map((s) => ({ scenario: join(ROOT, 'samples/scenarios', `${s}.jsonl`) })),
      { trace: join(ROOT, 'samples/generated/smmuv3-wrap.arrow') },
    ],
  }),
);

/** JUnit without what differs between runs by nature: times, timestamps, the host. */
const stable = (xml: string) => xml.replace(/ (time|timestamp|hostname)="[^"]*"/g, '');
/** ci --json without its run time. */
const json = (text: string) => {
  const j = JSON.parse(text) as Record<string, unknown>;
  delete j.seconds;
  return j;
};

describe('shards', () => {
  it('cut the results into contiguous runs, each in exactly one shard', async () => {
    const suite = await loadSuite(suiteFile);
    expect(resultCount(suite)).toBe(7 * 9);
    for (const n of [1, 2, 3, 5, 63, 64]) {
      const seen = new Map<string, number>();
      for (let i = 1; i <= n; i++) {
        for (const [t, ps] of shardPlan(suite, { index: i, count: n }))
          for (const p of ps) seen.set(`${t}:${p}`, (seen.get(`${t}:${p}`) ?? 0) + 1);
      }
      expect(seen.size).toBe(63);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
    }
    // 63 results over 2 shards: result k < 31.5 goes to shard 1, so 32 and 31.
    const count = (i: number) => [...shardPlan(suite, { index: i, count: 2 }).values()].reduce((s, p) => s + p.length, 0);
    expect([count(1), count(2)]).toEqual([32, 31]);
    expect(() => parseShard('3/2')).toThrow('--shard: expected i/n with 1 <= i <= n');
    expect(() => parseShard('0/2')).toThrow('--shard');
  });

  it('merged, give the same verdict, JSON and JUnit as one run', () => {
    const whole = cli('ci', suiteFile, '--json', '--junit', join(dir, 'whole.xml'));
    expect(whole.code, whole.stderr).toBe(0);
    const s1 = cli('ci', suiteFile, '--shard', '1/2', '--out', join(dir, 's1'), '--json');
    const s2 = cli('ci', suiteFile, '--shard', '2/2', '--out', join(dir, 's2'), '--jobs', '2', '--json');
    expect([s1.code, s2.code], s1.stderr + s2.stderr).toEqual([0, 0]);
    // shard 1's 32 include c-vtd-split-domain × hw-direct, left out (its devices sit behind 2
    // physical VT-d units, docs/hosts.md): 31 outcomes and one left_out entry
    const shardJson = [s1, s2].map((r) => JSON.parse(r.stdout) as { outcomes: unknown[]; left_out: unknown[] });
    expect(shardJson.map((j) => j.outcomes.length)).toEqual([31, 31]);
    expect(shardJson.map((j) => j.left_out.length)).toEqual([1, 0]);
    const merged = cli('ci', 'merge', join(dir, 's2'), join(dir, 's1'), '--json', '--junit', join(dir, 'merged.xml'));
    expect(merged.code, merged.stderr).toBe(0);
    expect(json(merged.stdout)).toEqual(json(whole.stdout));
    expect((json(merged.stdout).counts as Record<string, number>).ok).toBe(62);
    expect(stable(readFileSync(join(dir, 'merged.xml'), 'utf8'))).toBe(stable(readFileSync(join(dir, 'whole.xml'), 'utf8')));
    // The text verdict too, but for the time it took.
    const text = (r: { stdout: string }) => r.stdout.replace(/ in [\d.]+ s,/, ',');
    expect(text(cli('ci', 'merge', join(dir, 's1'), join(dir, 's2')))).toBe(text(cli('ci', suiteFile)));
  }, 180_000);

  it('refuses a missing or repeated shard in one line', () => {
    const missing = cli('ci', 'merge', join(dir, 's1'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('invtrace: ci merge: shard 2/2 missing\n');
    const twice = cli('ci', 'merge', join(dir, 's1'), join(dir, 's1'));
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/^invtrace: .*ci-shard\.json: shard 1\/2 given twice/);
  });

  it('leave their result tables as one Parquet dataset that invtrace sql reads', () => {
    // Shard 1 holds the first 32 results: scenarios a, b and c (27, of which c × hw-direct is left
    // out: 26 rows) and 5 policies of (d).
    const r = cli('sql', join(dir, 's1'), '-e', 'SELECT trace, count(*) AS policies FROM summary GROUP BY trace ORDER BY trace', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { trace: 'a-vtd-shared-domain-devtlb', policies: 9 },
      { trace: 'b-vtd-devtlb-alone', policies: 9 },
      { trace: 'c-vtd-split-domain', policies: 8 },
      { trace: 'd-smmuv3-illegal-then-vmm-command', policies: 5 },
    ]);
  }, 60_000);
});
