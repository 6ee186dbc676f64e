// Any input to any command (issue 18), through the built CLI: info, compare, replay, export, sql and
// timeline on a JSONL scenario, on a capture pair and on an Arrow trace; a replay folder where it
// serves; --keep-trace; the one-line ingest summary on stderr; and the one-line error, exit 2, that
// says what a command takes. Expected counts come from the inputs themselves: scenario (b) holds a
// dev_tlb_inv, an inv_wait and a doorbell (its file), smmuv3-wrap.arrow its generator's README.

import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { capture, cli, ROOT, tempDir } from '../test/helpers.js';
import { resolveTuiInput } from './tui/source.js';

const dir = tempDir();
const SCENARIO = join(ROOT, 'samples/scenarios/b-vtd-devtlb-alone.jsonl');
const PAIR = [capture('qemu-smmuv3-lazy.log.gz'), capture('guest-smmuv3-lazy.txt.gz')];
const TRACE = join(ROOT, 'samples/generated/smmuv3-wrap.arrow');
const INPUTS: [string, string[]][] = [
  ['a JSONL scenario', [SCENARIO]],
  ['a capture pair', PAIR],
  ['an Arrow trace', [TRACE]],
];

/** The ingest summary line: exactly one on stderr for captures and scenarios, none for a trace. */
function ingestLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('ingested '));
}

describe.each(INPUTS)('every command on %s', (what, input) => {
  const ingested = what !== 'an Arrow trace';
  const checkStderr = (stderr: string) => expect(ingestLines(stderr)).toHaveLength(ingested ? 1 : 0);

  it('info and export', () => {
    const info = cli('info', ...input, '--json');
    expect(info.code, info.stderr).toBe(0);
    checkStderr(info.stderr);
    const j = JSON.parse(info.stdout) as { arch: string; commands: number; doorbells: number };
    expect(j.arch).toBe(what === 'a JSONL scenario' ? 'vtd' : 'smmuv3');
    if (what === 'a JSONL scenario') expect([j.commands, j.doorbells]).toEqual([2, 1]);
    const out = join(dir, `${what.replace(/\W+/g, '-')}.jsonl`);
    const ex = cli('export', ...input, '-o', out);
    expect(ex.code, ex.stderr).toBe(0);
    checkStderr(ex.stderr);
    // The export is a scenario again: its command lines are the trace's commands.
    expect(
      readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{"cmd"')),
    ).toHaveLength(j.commands);
  });

  it('compare, replay (with its timeline) and timeline', () => {
    const c = cli('compare', ...input, '--policy', 'per-command,linear-batch', '--json');
    expect(c.code, c.stderr).toBe(0);
    checkStderr(c.stderr);
    expect((JSON.parse(c.stdout) as { policies: { policy: string }[] }).policies.map((p) => p.policy)).toEqual([
      'per-command',
      'linear-batch',
    ]);
    const out = join(dir, `replay-${what.replace(/\W+/g, '-')}`);
    const r = cli('replay', ...input, '--policy', 'per-command', '-o', out);
    expect(r.code, r.stderr).toBe(0);
    checkStderr(r.stderr);
    for (const f of ['host_ops.arrow', 'completions.arrow', 'violations.arrow', 'summary.arrow', 'replay.json', 'timeline.json'])
      expect(existsSync(join(out, f)), f).toBe(true);
    // Captures are ingested into the folder, so replay.json names a trace that stays.
    expect(existsSync(join(out, 'trace.arrow'))).toBe(ingested);
    const t = cli('timeline', ...input, '--policy', 'per-command', '-o', join(out, 'again.json'));
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^wrote .*again\.json: /);
  });

  it('tui resolves it (captures are left to its worker)', async () => {
    const i = await resolveTuiInput(input);
    expect(i).toEqual(ingested ? { captures: input } : { trace: TRACE });
  });
});

describe('sql on the three at once', () => {
  it('loads a scenario, a capture pair (one run) and a trace into one session', () => {
    const s = cli(
      'sql',
      SCENARIO,
      ...PAIR,
      TRACE,
      '-e',
      "SELECT arch, count(*) FILTER (WHERE kind = 'doorbell') AS doorbells FROM trace GROUP BY file, arch ORDER BY arch, doorbells",
      '--json',
    );
    expect(s.code, s.stderr).toBe(0);
    // Two ingests (the scenario, the pair), one summary line each.
    expect(ingestLines(s.stderr)).toHaveLength(2);
    const rows = JSON.parse(s.stdout) as { arch: string; doorbells: number }[];
    expect(rows.map((r) => r.arch)).toEqual(['smmuv3', 'smmuv3', 'vtd']);
    // Scenario (b) has one doorbell.
    expect(rows[2]).toEqual({ arch: 'vtd', doorbells: 1 });
  }, 60_000);
});

describe('a replay folder, --keep-trace, and inputs a command cannot take', () => {
  const out = join(dir, 'folder');
  const kept = join(dir, 'kept.arrow');
  beforeAll(() => {
    const r = cli('replay', SCENARIO, '--policy', 'per-command,devtlb-nop', '-o', out);
    expect(r.code, r.stderr).toBe(0);
  });

  it("info and export read the folder's trace; compare prints its stored comparison without replaying", () => {
    const info = cli('info', out, '--json');
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ commands: 2, doorbells: 1 });
    const c = cli('compare', out, '--json');
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toBe('');
    const j = JSON.parse(c.stdout) as { policies: { policy: string; correct: boolean }[] };
    expect(j.policies.map((p) => [p.policy, p.correct])).toEqual([
      ['per-command', true],
      ['devtlb-nop', false],
    ]);
    expect(cli('compare', out, '--fail-on-violation').code).toBe(1);
  });

  it('--keep-trace keeps what was ingested', () => {
    const r = cli('info', ...PAIR, '--keep-trace', kept);
    expect(r.code, r.stderr).toBe(0);
    expect(ingestLines(r.stderr)).toEqual([expect.stringMatching(new RegExp(`-> ${kept}$`))]);
    expect(readFileSync(kept).subarray(0, 6).toString('latin1')).toBe('ARROW1');
  });

  it.each<[string, string[], RegExp]>([
    [
      'a Parquet dataset to info',
      ['info', '@DATASET'],
      /^invtrace: info takes a trace \(\.arrow\), capture files of one run or a JSONL scenario, or a replay output folder \(its trace\); .* is a Parquet result dataset$/,
    ],
    [
      'a plain folder to export',
      ['export', join(ROOT, 'samples'), '-o', join(dir, 'x.jsonl')],
      /^invtrace: export takes .*; .*samples is a folder without a replay.json/,
    ],
    ['two traces to compare', ['compare', TRACE, TRACE], /^invtrace: compare: one trace at a time/],
    ['a trace and captures together', ['replay', TRACE, SCENARIO, '-o', join(dir, 'y')], /^invtrace: replay: give capture files alone/],
    [
      'a replay folder to gen',
      ['gen', '@FOLDER', '-o', join(dir, 'g.arrow')],
      /^invtrace: gen takes a workload name \(gen --list shows them\); .* is a replay output folder$/,
    ],
    [
      'a trace to ingest',
      ['ingest', TRACE, '-o', join(dir, 'i.arrow')],
      /^invtrace: ingest takes capture files of one run or a JSONL scenario; .* is an Arrow trace$/,
    ],
    ['a missing file', ['info', join(dir, 'none.arrow')], /none\.arrow: no such file or folder$/],
  ])('refuses %s in one line (exit 2)', (_what, args, re) => {
    // A dataset alone: the table=NAME folders of replay --parquet, without the replay folder around them.
    const dataset = join(dir, 'ds');
    if (args.includes('@DATASET') && !existsSync(dataset)) {
      expect(cli('replay', SCENARIO, '--policy', 'per-command', '-o', join(dir, 'ds-src'), '--parquet').code).toBe(0);
      cpSync(join(dir, 'ds-src/table=host_ops'), join(dataset, 'table=host_ops'), { recursive: true });
    }
    const r = cli(...args.map((a) => (a === '@DATASET' ? dataset : a === '@FOLDER' ? out : a)));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(re);
  });
});
