// replay and compare on the command line: the JSON shape DESIGN.md gives, the four tables on disk,
// --fail-on-violation, and one-line errors for bad policies and files.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT, tempDir } from '../../test/helpers.js';
import { splitPolicyList } from '../option-values.js';

const dir = tempDir();
const scenario = (n: string) => join(ROOT, 'samples/scenarios', `${n}.jsonl`);
const traceB = join(dir, 'b.arrow');

beforeAll(() => {
  expect(cli('ingest', scenario('b-vtd-devtlb-alone'), '-o', traceB).code).toBe(0);
});

describe('invtrace compare', () => {
  it('--json has the DESIGN.md shape, one entry per policy of `all`', () => {
    const r = cli('compare', traceB, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.trace).toBe(traceB);
    expect(j.policies.map((p: { policy: string }) => p.policy)).toContain('linear-batch:split_on_wrap=true');
    for (const p of j.policies) {
      for (const k of ['policy', 'correct', 'violations', 'traps', 'ioctls', 'host_commands', 'host_syncs', 'modeled_us'])
        expect(p).toHaveProperty(k);
    }
    const nop = j.policies.find((p: { policy: string }) => p.policy === 'devtlb-nop');
    expect(nop).toMatchObject({ correct: false, violations: 1 });
  });
  it('--csv and --markdown print one row per policy', () => {
    const csv = cli('compare', traceB, '--policy', 'per-command,devtlb-nop', '--csv').stdout.trim().split('\n');
    expect(csv[0]).toMatch(/^policy,correct,violations,traps/);
    expect(csv).toHaveLength(3);
    expect(cli('compare', traceB, '--policy', 'per-command', '--markdown').stdout).toMatch(/\| per-command \| correct \|/);
  });
  it('--fail-on-violation exits 1 when a policy is incorrect, 0 otherwise', () => {
    expect(cli('compare', traceB, '--policy', 'devtlb-nop', '--fail-on-violation').code).toBe(1);
    expect(cli('compare', traceB, '--policy', 'per-command', '--fail-on-violation').code).toBe(0);
  });
  it.each([
    [['compare', traceB, '--policy', 'fastest'], /unknown policy "fastest"/],
    [['compare', traceB, '--policy', 'linear-batch:split_on_wrap=maybe'], /split_on_wrap must be one of false, true/],
    [['compare', traceB, '--policy', 'raw-ring:bogus=1'], /unknown variant key "bogus"/],
    [['compare', join(dir, 'none.arrow')], /none.arrow: no such file/],
    [['compare', traceB, '--costs', join(dir, 'none.json')], /none.json: no such file/],
  ])('bad input %j exits 2 with one line', (args, re) => {
    const r = cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('invtrace replay', () => {
  it('writes host_ops, completions, violations, summary and replay.json', () => {
    const out = join(dir, 'out');
    const r = cli('replay', traceB, '--policy', 'per-command,devtlb-nop', '-o', out);
    expect(r.code).toBe(0);
    for (const t of ['host_ops', 'completions', 'violations', 'summary']) expect(existsSync(join(out, `${t}.arrow`)), t).toBe(true);
    const v = tableFromIPC(readFileSync(join(out, 'violations.arrow')));
    expect(v.numRows).toBe(1);
    expect(v.get(0)!.toJSON()).toMatchObject({ policy: 'devtlb-nop', kind: 'stale-translation', seq: 0 });
    const s = tableFromIPC(readFileSync(join(out, 'summary.arrow')));
    expect(s.toArray().map((r) => [r.policy, r.correct])).toEqual([
      ['per-command', 1],
      ['devtlb-nop', 0],
    ]);
    const c = tableFromIPC(readFileSync(join(out, 'completions.arrow')));
    // one wait, completed by both policies and by bare hardware
    expect(c.toArray().map((r) => [r.policy, r.completed, r.ref_completed])).toEqual([
      ['per-command', 1, 1],
      ['devtlb-nop', 1, 1],
    ]);
    expect(JSON.parse(readFileSync(join(out, 'replay.json'), 'utf8')).costs.trap_user).toBe(2.5);
  });
});

describe('policy lists', () => {
  it('keeps variant keys with their policy', () => {
    expect(splitPolicyList('linear-batch:split_on_wrap=true,vmm=prepass,per-command')).toEqual([
      'linear-batch:split_on_wrap=true,vmm=prepass',
      'per-command',
    ]);
    expect(splitPolicyList('all')).toEqual(['all']);
  });
});
