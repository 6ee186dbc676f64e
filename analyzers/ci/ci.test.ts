// The CI library on real replays: suite files checked field by field, a run compared with a
// baseline written by an earlier run, a worse variant standing in for a baseline policy, a planted
// correctness bug (samples/ci/fixtures/drop-devtlb.ts) caught, thresholds, and the JUnit shape.
// Expected numbers come from the scenarios' rules (samples/scenarios/*.jsonl header comments) and
// the cost model's defaults, never from output.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatInputError, InputFault } from '../../formats/result.js';
import { DEFAULT_COSTS as C } from '../../replay/cost/params.js';
import { junitFailures, expectJunitShape } from '../../test/junit.js';
import { ROOT, tempDir } from '../../test/helpers.js';
import { baselineOf, readBaseline, writeBaseline } from './baseline.js';
import { compareRuns } from './compare.js';
import { junitXml } from './junit.js';
import { runSuite } from './run.js';
import { loadSuite } from './suite.js';

const dir = tempDir();
const SCENARIO = (name: string) => join(ROOT, 'samples/scenarios', `${name}.jsonl`);
const FIXTURE = join(ROOT, 'samples/ci/fixtures/drop-devtlb.ts');
let n = 0;

/** Writes a suite file and loads it. */
async function suite(json: unknown) {
  const file = join(dir, `suite-${n++}.json`);
  writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
  return loadSuite(file);
}

async function run(json: unknown) {
  const s = await suite(json);
  const runs = await runSuite(s, { workDir: mkdtempSync(join(dir, 'work-')) });
  return { s, runs };
}

/** The one-line message loadSuite fails with. */
async function suiteError(json: unknown): Promise<string> {
  const e = await suite(json).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(InputFault);
  return formatInputError((e as InputFault).detail).replace(/^.*suite-\d+\.json: /, 'SUITE: ');
}

describe('suite files', () => {
  const ok = { invtrace_suite: 1, traces: [{ scenario: SCENARIO('e-smmuv3-wrap') }] };

  it('accepts the forms of a trace entry and names each trace', async () => {
    const s = await suite({
      invtrace_suite: 1,
      policies: ['per-command', { policy: 'linear-batch:split_on_wrap=true', as: 'linear-batch' }],
      traces: [
        SCENARIO('a-vtd-shared-domain-devtlb'),
        [join(ROOT, 'samples/captures/qemu-smmuv3-lazy.log.gz'), join(ROOT, 'samples/captures/guest-smmuv3-lazy.txt.gz')],
        { trace: join(ROOT, 'samples/generated/smmuv3-wrap.arrow'), policies: ['all'] },
        { name: 'small', gen: 'vtd', options: { requests: 50, 'caching-mode': 'on' } },
      ],
    });
    expect(s.traces.map((t) => [t.name, t.source.kind])).toEqual([
      ['a-vtd-shared-domain-devtlb', 'ingest'],
      ['smmuv3-lazy', 'ingest'],
      ['smmuv3-wrap', 'trace'],
      ['small', 'gen'],
    ]);
    expect(s.traces[0]!.policies).toEqual([
      { key: 'per-command', spec: 'per-command' },
      { key: 'linear-batch', spec: 'linear-batch:split_on_wrap=true' },
    ]);
    expect(s.traces[2]!.policies.length).toBe(9);
    expect(s.traces[3]!.source).toEqual({ kind: 'gen', workload: 'vtd', options: { requests: '50', cachingMode: 'on' } });
    expect(s.thresholds).toEqual({
      max_increase: { modeled_us: 0.01, ioctls: 0, host_commands: 0 },
      violations: 'no-increase',
      keep_correct: true,
    });
  });

  it('rejects text that is not JSON, and a missing file', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"invtrace_suite": 1, ');
    await expect(loadSuite(file)).rejects.toThrow(new RegExp(`^${file}: not valid JSON`));
    await expect(loadSuite(join(dir, 'none.json'))).rejects.toThrow(`${join(dir, 'none.json')}: no such file`);
  });

  it.each<[string, unknown, string]>([
    ['a missing version', { traces: ok.traces }, 'SUITE: invtrace_suite: expected 1 (the suite format version)'],
    [
      'an unknown field',
      { ...ok, treshold: {} },
      'SUITE: treshold: unknown field (known: invtrace_suite, name, description, baseline, costs, policies, thresholds, traces)',
    ],
    ['no traces', { invtrace_suite: 1, traces: [] }, 'SUITE: traces: expected a non-empty array of traces'],
    [
      'two kinds in one entry',
      { invtrace_suite: 1, traces: [{ scenario: SCENARIO('e-smmuv3-wrap'), gen: 'vtd' }] },
      'SUITE: traces[0]: give exactly one of "trace", "capture", "scenario" or "gen"',
    ],
    [
      'a missing capture file',
      { invtrace_suite: 1, traces: [{ capture: [SCENARIO('e-smmuv3-wrap'), '/nope/guest.txt'] }] },
      'SUITE: traces[0].capture[1]: no such file: /nope/guest.txt',
    ],
    [
      'an unknown policy',
      { ...ok, policies: ['per-command', 'nope'] },
      'SUITE: policies[1]: policy: unknown policy "nope" (known: hw-direct, per-command, linear-batch, raw-ring, devtlb-nop, qemu-accel, kernel-ring, shadow, pv-map, migrate, all, designs, or a module path)',
    ],
    [
      'a bad variant',
      { ...ok, policies: ['linear-batch:split_on_wrap=maybe'] },
      'SUITE: policies[0]: policy: linear-batch:split_on_wrap=maybe: split_on_wrap must be one of false, true, not "maybe"',
    ],
    [
      'an alias taken twice',
      { ...ok, policies: ['linear-batch', { policy: 'linear-batch:vmm=prepass', as: 'linear-batch' }] },
      'SUITE: policies[1].as: "linear-batch" is listed twice (results are kept by name)',
    ],
    [
      'an unknown metric',
      { ...ok, thresholds: { max_increase: { completions: 0 } } },
      'SUITE: thresholds.max_increase.completions: not a metric a threshold can bound (traps, vmm_commands, ioctls, host_commands, host_syncs, host_doorbells, device_invalidations, direct_commands, bytes_copied, modeled_us, p50_us, p99_us, max_us)',
    ],
    [
      'a negative limit',
      { ...ok, thresholds: { max_increase: { ioctls: -1 } } },
      'SUITE: thresholds.max_increase.ioctls: expected a relative increase >= 0 (0.05 = +5 %)',
    ],
    [
      'an unknown generator option',
      { invtrace_suite: 1, traces: [{ gen: 'vtd', options: { bogus: 1 } }] },
      'SUITE: traces[0].options.bogus: unknown generator option',
    ],
    [
      'a bad generator value',
      { invtrace_suite: 1, traces: [{ gen: 'vtd', options: { requests: 0 } }] },
      'SUITE: traces[0].options.requests: 0 is outside 1..9007199254740991',
    ],
    ['an unknown workload', { invtrace_suite: 1, traces: [{ gen: 'linux-9-vtd' }] }, 'SUITE: traces[0].gen: unknown workload'],
    [
      'two traces of one name',
      { invtrace_suite: 1, traces: [SCENARIO('e-smmuv3-wrap'), SCENARIO('e-smmuv3-wrap')] },
      'SUITE: traces[1].name: "e-smmuv3-wrap" names two traces (give each a "name")',
    ],
  ])('names the file and field of %s', async (_what, json, message) => {
    expect(await suiteError(json)).toContain(message);
  });
});

describe('a run against the baseline of an earlier run', () => {
  // Scenario (e): linear-batch makes 2 ioctls (one per doorbell, across the wrap); split_on_wrap
  // splits the second doorbell's TLBIs at the wrap: 3. The extra ioctl costs its fixed part, and the
  // extra host block its CMD_SYNC and CMDQ_PROD write; the entries copied stay the same.
  const block = (k: number) => k * C.host_cmd + C.smmu_sync + C.host_doorbell;
  const ioctl = (k: number) => C.ioctl + k * C.copy_per_entry;
  const linear = 2 * C.trap_user + 10 * C.vmm_per_cmd + ioctl(5) + block(5) + ioctl(3) + block(3);
  const split = linear + C.ioctl + C.smmu_sync + C.host_doorbell;
  const base = { invtrace_suite: 1, policies: ['per-command', 'linear-batch'], traces: [{ scenario: SCENARIO('e-smmuv3-wrap') }] };

  it('finds nothing when nothing changed; names a worse variant standing in for linear-batch', async () => {
    const before = await run(base);
    const baseline = baselineOf(before.runs);
    expect(baseline.traces['e-smmuv3-wrap']!.policies['linear-batch']).toMatchObject({ policy: 'linear-batch', ioctls: 2, correct: true });
    const same = compareRuns((await run(base)).runs, baseline, before.s.thresholds);
    expect(same.counts).toEqual({ ok: 2, regression: 0, improvement: 0, new: 0 });

    const worse = await run({ ...base, policies: ['per-command', { policy: 'linear-batch:split_on_wrap=true', as: 'linear-batch' }] });
    const cmp = compareRuns(worse.runs, baseline, worse.s.thresholds);
    expect(cmp.counts).toEqual({ ok: 1, regression: 1, improvement: 0, new: 0 });
    const o = cmp.outcomes.find((x) => x.policy === 'linear-batch')!;
    expect(o).toMatchObject({ trace: 'e-smmuv3-wrap', spec: 'linear-batch:split_on_wrap=true', status: 'regression' });
    expect(o.changes.map((c) => [c.metric, c.verdict])).toEqual([
      ['ioctls', 'regression'],
      ['modeled_us', 'regression'],
    ]);
    expect(o.changes[0]).toMatchObject({ baseline: 2, current: 3, relative: 0.5, limit: 0, text: 'ioctls 2 → 3 (+50.0%, limit +0%)' });
    expect(o.changes[1]!.baseline as number).toBeCloseTo(linear, 9);
    expect(o.changes[1]!.current as number).toBeCloseTo(split, 9);

    // The JUnit report: one testsuite for the trace, one testcase per policy, the failure names it.
    const xml = junitXml(worse.runs, cmp, { suite: 'worse.json', timestamp: new Date(0), seconds: 1 });
    const root = expectJunitShape(xml);
    expect(junitFailures(root)).toEqual({
      'e-smmuv3-wrap/linear-batch': expect.stringContaining('e-smmuv3-wrap × linear-batch: ioctls 2 → 3 (+50.0%, limit +0%)'),
    });

    // A looser limit on modelled time lets the same run through when ioctls are not bounded.
    const loose = compareRuns(worse.runs, baseline, {
      ...worse.s.thresholds,
      max_increase: { modeled_us: (split - linear) / linear + 0.01 },
    });
    expect(loose.counts.regression).toBe(0);
  });

  it('catches a planted correctness bug aliased to per-command', async () => {
    // Scenario (b): one device-TLB invalidation and a wait. per-command sends it (1 ioctl), correct;
    // the planted policy drops it, so the device keeps its ATC entry: one stale-translation.
    const spec = { invtrace_suite: 1, traces: [{ scenario: SCENARIO('b-vtd-devtlb-alone') }] };
    const before = await run({ ...spec, policies: ['per-command'] });
    const bug = await run({ ...spec, policies: [{ policy: FIXTURE, as: 'per-command' }] });
    const cmp = compareRuns(bug.runs, baselineOf(before.runs), bug.s.thresholds);
    const o = cmp.outcomes[0]!;
    expect(o).toMatchObject({ trace: 'b-vtd-devtlb-alone', policy: 'per-command', spec: FIXTURE, status: 'regression' });
    expect(o.changes[0]).toMatchObject({
      metric: 'correct',
      baseline: true,
      current: false,
      verdict: 'regression',
      text: 'became incorrect: 1 violation (stale-translation 1)',
    });
    // Nothing was sent: 1 ioctl fewer, an "improvement" that does not excuse it.
    expect(o.changes.find((c) => c.metric === 'ioctls')).toMatchObject({ baseline: 1, current: 0, verdict: 'improvement' });
  });

  it('fails every policy of a trace whose events changed, and lists baseline entries not run', async () => {
    const before = await run(base);
    const baseline = baselineOf(before.runs);
    const moved = {
      ...baseline,
      traces: { 'e-smmuv3-wrap': { ...baseline.traces['e-smmuv3-wrap']!, events: 13 }, gone: baseline.traces['e-smmuv3-wrap']! },
    };
    const cmp = compareRuns(before.runs, moved, before.s.thresholds);
    expect(cmp.counts.regression).toBe(2);
    expect(cmp.outcomes[0]!.changes[0]!.text).toBe(
      'the trace changed (smmuv3, 13 events → smmuv3, 12): its baseline no longer applies; update it',
    );
    expect(cmp.missing).toEqual([{ trace: 'gone' }]);
  });
});

describe('baseline files', () => {
  it('round-trip byte for byte and name a missing metric', async () => {
    const { runs } = await run({
      invtrace_suite: 1,
      policies: ['per-command'],
      traces: [{ scenario: SCENARIO('a-vtd-shared-domain-devtlb') }],
    });
    const file = join(dir, 'baseline.json');
    writeBaseline(file, baselineOf(runs));
    const text = readFileSync(file, 'utf8');
    writeBaseline(file, readBaseline(file));
    expect(readFileSync(file, 'utf8')).toBe(text);
    // (a): one ioctl per invalidation command, 1 IOTLB + 4 device-TLB
    expect(readBaseline(file).traces['a-vtd-shared-domain-devtlb']!.policies['per-command']).toMatchObject({
      ioctls: 5,
      correct: true,
      violations: 0,
    });
    const broken = JSON.parse(text);
    delete broken.traces['a-vtd-shared-domain-devtlb'].policies['per-command'].ioctls;
    writeFileSync(file, JSON.stringify(broken));
    expect(() => readBaseline(file)).toThrow(`${file}: traces.a-vtd-shared-domain-devtlb.policies.per-command.ioctls: missing`);
  });
});
