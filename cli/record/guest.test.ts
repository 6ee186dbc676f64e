// The guest side: the kprobe must be the one the bundled SMMUv3 captures were taken with (Linux 6.1)
// and shift its arguments from 6.12 on; the VT-d line is the brief's.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { capture } from '../../test/helpers.js';
import { BEGIN_MARKER, END_MARKER } from '../../formats/capture/guest-trace.js';
import { DUMP_SCRIPT, guestSide, parseKernelVersion, smmuKprobe } from './guest.js';

describe('parseKernelVersion', () => {
  it.each([
    ['6.1', { major: 6, minor: 1 }],
    ['6.12.3', { major: 6, minor: 12 }],
    ['6.1.0-56-arm64', { major: 6, minor: 1 }],
    ['6.12.48+deb12-arm64', { major: 6, minor: 12 }],
  ])('%s', (s, v) => expect(parseKernelVersion(s)).toEqual(v));
  it.each(['6', 'six.one', ''])('rejects %j', (s) => expect(parseKernelVersion(s)).toBeUndefined());
});

describe('smmuKprobe', () => {
  it('is the kprobe of the 6.1 captures', () => {
    const cmdline = readFileSync(capture('cmdline-smmuv3-strict.txt'), 'utf8');
    const used = /kprobe_event=\S+/.exec(cmdline)![0];
    expect(smmuKprobe({ major: 6, minor: 1 })).toBe(used);
  });
  it.each([
    [{ major: 6, minor: 11 }, '$arg3:s32', '$arg4:u8', '($arg2)'],
    [{ major: 6, minor: 12 }, '$arg4:s32', '$arg5:u8', '($arg3)'],
    [{ major: 7, minor: 0 }, '$arg4:s32', '$arg5:u8', '($arg3)'],
  ])('%j reads n=%s sync=%s cmds=%s', (v, n, sync, cmds) => {
    const k = smmuKprobe(v, 2);
    expect(k).toContain(`,n=${n},sync=${sync},`);
    expect(k).toContain(`c1_1=+24${cmds}:x64`);
    expect(k).not.toContain('c2_0');
    expect(k).not.toContain(' ');
  });
});

describe('guestSide', () => {
  it('VT-d: qi_submit and the iommu events, a 16M buffer, the global clock', () => {
    expect(guestSide('vtd').cmdline).toBe('trace_event=intel_iommu:qi_submit,iommu:* trace_buf_size=16M trace_clock=global');
  });
  it('SMMUv3 needs the kernel version', () => {
    expect(() => guestSide('smmuv3')).toThrow(/needs --kernel-version X.Y .* from Linux 6.12 on/);
    expect(() => guestSide('smmuv3', { kernelVersion: 'latest' })).toThrow(/--kernel-version latest: expected X.Y/);
    expect(() => guestSide('smmuv3', { kernelVersion: '6.1', kprobeCmds: 17 })).toThrow(/--kprobe-cmds 17: expected 1 to 16/);
  });
  it('SMMUv3: the kprobe, then the iommu events and buffer settings', () => {
    const g = guestSide('smmuv3', { kernelVersion: '6.12', kprobeCmds: 1 });
    expect(g.cmdline).toBe(
      'kprobe_event=p:smmu/cmdlist,arm_smmu_cmdq_issue_cmdlist,n=$arg4:s32,sync=$arg5:u8,' +
        'c0_0=+0($arg3):x64,c0_1=+8($arg3):x64 trace_event=iommu:* trace_buf_size=16M trace_clock=global',
    );
    expect(g.notes[0]).toBe('Linux 6.12: arm_smmu_cmdq_issue_cmdlist(smmu, cmdq, cmds, n, sync), so cmds is $arg3.');
  });
  it('the dump script stops tracing and prints the buffer between the markers on the console', () => {
    const lines = DUMP_SCRIPT.split('\n');
    const at = (s: string) => lines.findIndex((l) => l.includes(s));
    expect(at('tracing_on')).toBeLessThan(at(BEGIN_MARKER));
    expect(at(BEGIN_MARKER)).toBeLessThan(at('cat $T/trace'));
    expect(at('cat $T/trace')).toBeLessThan(at(END_MARKER));
    expect(DUMP_SCRIPT).toContain('} > /dev/console');
  });
});
