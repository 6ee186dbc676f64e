// compare/replay --shared-host on the command line: the JSON shape issue 15 gives ({"traces":
// [{"trace", "policies"}…], "host": {…}}), the planted wrap-split pair's numbers (derived in
// samples/scenarios/shared-host-wrap-split-a.jsonl), a physical SID in two VMs as one line naming
// both traces (exit 2) beside the same pair without the clash (exit 0), --interleave checked, and
// the output folder the report and the TUI open.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, ROOT, tempDir } from '../../test/helpers.js';

const dir = tempDir();
const scenario = (n: string) => join(ROOT, 'samples/scenarios', `${n}.jsonl`);
const A = scenario('shared-host-wrap-split-a');
const B = scenario('shared-host-wrap-split-b');
const POLICY = ['--policy', 'linear-batch:split_on_wrap=true'];

describe('compare --shared-host', () => {
  it('--json: traces with their policies, host totals with each VM alone versus shared', () => {
    const r = cli('compare', A, B, '--shared-host', ...POLICY, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.traces.map((t: { trace: string }) => t.trace)).toEqual([A, B]);
    expect(j.traces[0].policies[0]).toMatchObject({ policy: 'linear-batch:split_on_wrap=true', correct: true, ioctls: 2, p50_us: 6.98 });
    expect(j.host.policies[0]).toMatchObject({ policy: 'linear-batch:split_on_wrap=true', correct: true, host_commands: 4, host_syncs: 3 });
    expect(j.host.policies[0].vms.map((v: { p99_us_alone: number; p99_us_shared: number }) => [v.p99_us_alone, v.p99_us_shared])).toEqual([
      [6.22, 6.98],
      [4.34, 5.88],
    ]);
  });

  it('text: one line per VM and policy, then the host totals', () => {
    const r = cli('compare', A, B, '--shared-host', ...POLICY, '--interleave', 'round-robin');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('interleave round-robin');
    expect(r.stdout).toMatch(/linear-batch:split_on_wrap=true\s+1\s+correct\s+4\.34 → 7\.32/);
    expect(r.stdout).toContain('host totals:');
  });

  it('a physical SID in two VMs: one line naming both traces, exit 2; --renumber-psids places them', () => {
    const r = cli('compare', A, A, '--shared-host', ...POLICY);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/physical SID 0x8 on IOMMU 0 is also in .*shared-host-wrap-split-a/);
    expect(cli('compare', A, A, '--shared-host', ...POLICY, '--renumber-psids').code).toBe(0);
  });

  it("--topology: one file per trace (empty: the trace's own); a file that moves the clashing device resolves the clash", async () => {
    const { writeFileSync } = await import('node:fs');
    const topo = join(dir, 'moved.json');
    writeFileSync(topo, JSON.stringify({ iommus: 1, devices: [{ sid: '0x8', psid: '0x20', domain: 1 }] }));
    expect(cli('compare', A, A, '--shared-host', ...POLICY, '--topology', `,${topo}`).code).toBe(0);
    const r = cli('compare', A, A, '--shared-host', ...POLICY, '--topology', topo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/one file per trace, separated by commas .* got 1 for 2 traces/);
  });

  it("a --topology file that leaves out a device of the trace's guest queues: one line naming the trace, exit 2", async () => {
    // samples/generated/smmuv3-two-vsmmus.arrow lists two guest queues with two devices each
    // (invtrace info: queues[0].devices 2); a topology holding only SID 0x999 has none of them,
    // while the trace's own topology (an empty entry) has them all.
    const { writeFileSync } = await import('node:fs');
    const two = join(ROOT, 'samples/generated/smmuv3-two-vsmmus.arrow');
    const topo = join(dir, 'other-devices.json');
    writeFileSync(topo, JSON.stringify({ iommus: 2, devices: [{ sid: '0x999', domain: 1, iommu: 0 }] }));
    const r = cli('compare', two, A, '--shared-host', ...POLICY, '--topology', `${topo},`);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/smmuv3-two-vsmmus\.arrow: queues\[0\]\.devices: device 0x[0-9a-f]+ is not in the topology \(file topology\)/);
    expect(cli('compare', two, A, '--shared-host', ...POLICY, '--topology', ',').code).toBe(0);
  });

  it('--interleave takes time or round-robin only, and only with --shared-host', () => {
    const r = cli('compare', A, B, '--shared-host', '--interleave', 'random');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/random.*invalid.*time, round-robin/);
    const alone = cli('compare', A, '--interleave', 'time');
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/--interleave goes with --shared-host/);
  });

  it('replay --shared-host -o DIR writes shared-host.json and a replay folder per VM; report makes the many-VMs report', () => {
    const out = join(dir, 'shared');
    expect(cli('replay', A, B, '--shared-host', ...POLICY, '-o', out).code).toBe(0);
    for (const f of ['shared-host.json', 'vm-0/replay.json', 'vm-0/host_ops.arrow', 'vm-1/summary.arrow', 'vm-0/trace.arrow'])
      expect(existsSync(join(out, f)), f).toBe(true);
    const stored = cli('compare', out, '--json');
    expect(stored.code).toBe(0);
    expect(JSON.parse(stored.stdout).host.policies[0]).toMatchObject({ host_commands: 4, host_syncs: 3 });
    const rep = cli('report', out, '-o', join(dir, 'report'));
    expect(rep.code).toBe(0);
    expect(existsSync(join(dir, 'report', 'charts', 'shared-host-latency.svg'))).toBe(true);
  });
});
