// `invtrace gen` on the compiled CLI: --list, a generated file and its summary, and the one-line
// errors (exit 2) for bad options.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from '../../test/helpers.js';

const dir = tempDir();

describe('invtrace gen', () => {
  it('--list shows the workloads and the options with their defaults', () => {
    const r = cli('gen', '--list');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/linux-6\.1-vtd-strict {2}\[vtd\]/);
    expect(r.stdout).toMatch(/linux-6\.1-smmuv3-lazy {2}\[smmuv3\]/);
    expect(r.stdout).toMatch(/--kernel <version>.*\n\s+default: 6\.12/);
    expect(r.stdout).toMatch(/--caching-mode <on\|off>\s+invalidate on map too.*\n\s+default: off \(smmuv3\), on \(vtd\)/); // both architectures (tlbi-on-map on SMMUv3)
    const j = JSON.parse(cli('gen', '--list', '--json').stdout);
    expect(j.workloads.map((w: { name: string }) => w.name)).toContain('linux-6.1-vtd-scalable-strict');
    expect(j.options.find((o: { key: string }) => o.key === 'queue').default).toEqual({ smmuv3: '65536', vtd: '256' });
  });
  it('writes a trace and says what it holds; info agrees', () => {
    const out = join(dir, 'lazy.arrow');
    const r = cli('gen', 'linux-6.1-smmuv3-lazy', '-o', out);
    expect(r.code).toBe(0);
    const m = /lazy\.arrow: linux-6\.1-smmuv3-lazy \(smmuv3, lazy, seed 1\): ([\d,]+) commands, ([\d,]+) doorbells/.exec(r.stdout);
    expect(m).not.toBeNull();
    const info = JSON.parse(cli('info', out, '--json').stdout);
    expect(info.commands).toBe(Number(m![1]!.replace(/,/g, '')));
    expect(info.doorbells).toBe(Number(m![2]!.replace(/,/g, '')));
    expect(info.by_op.CMD_TLBI_NH_ASID).toBeGreaterThan(10);
  });
  it('--json prints the summary; options reach the generator', () => {
    const r = cli('gen', 'vtd', '--commands', '500', '--kernel', '6.1', '--queue', '512', '-o', join(dir, 'v.arrow'), '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ workload: 'vtd', arch: 'vtd', seed: 1 });
    expect(s.commands).toBeGreaterThanOrEqual(500);
    expect(s.doorbells * 2).toBe(s.commands); // 6.1: a descriptor and its wait per doorbell
    expect(JSON.parse(cli('info', join(dir, 'v.arrow'), '--json').stdout).queue_entries).toBe(512);
  });
  it.each([
    [['gen', 'vtd', '--queue', '100', '-o', 'x.arrow'], /^invtrace: --queue: 100 is not a power of two$/],
    [['gen', 'smmuv3', '--ats', '2', '-o', 'x.arrow'], /^invtrace: --ats: 2 is outside 0\.\.1$/],
    [['gen', 'vtd', '--inject', 'ill', '-o', 'x.arrow'], /^invtrace: --inject: "ill" is not KIND@N/],
    [['gen', 'vtd', '--mode', 'lazyish', '-o', 'x.arrow'], /^invtrace: --mode: "lazyish" is not one of strict, lazy$/],
    [['gen', 'warp-drive', '-o', 'x.arrow'], /^invtrace: warp-drive: unknown workload/],
    [['gen', 'vtd'], /^invtrace: gen: -o OUT\.arrow is needed$/],
    [['gen'], /^invtrace: gen: a workload is needed/],
  ])('%j exits 2 with one line', (args, re) => {
    const r = cli(...args.map((a) => (a === 'x.arrow' ? join(dir, a) : a)));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(re);
    expect(existsSync(join(dir, 'x.arrow'))).toBe(false);
  });
});
