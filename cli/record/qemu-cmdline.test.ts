// Reading and rewriting QEMU command lines: the real command lines of the bundled captures, the
// other spellings QEMU accepts, and the lines record refuses.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { capture } from '../../test/helpers.js';
import { UsageError } from '../run.js';
import { consolePlan, deviceDriver, inspectQemu, optionUses, recordingArgv, splitQemuOpts } from './qemu-cmdline.js';

/** A cmdline-*.txt of the captures as argv (single-quoted words, as capture.sh wrote them). */
function captureArgv(name: string): string[] {
  const text = readFileSync(capture(`cmdline-${name}.txt`), 'utf8').trim();
  return [...text.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The capture's command without the options record adds itself. */
function userPart(argv: string[]): string[] {
  const drop = new Set(['-trace', '-D', '-msg']);
  return argv.filter((_, i) => !drop.has(argv[i]!) && !drop.has(argv[i - 1]!));
}

describe("inspectQemu on the captures' command lines", () => {
  it.each([
    ['vtd-legacy-strict', 'vtd', '-device intel-iommu,intremap=on,caching-mode=on,device-iotlb=on'],
    ['vtd-scalable-strict', 'vtd', '-device intel-iommu,intremap=on,caching-mode=on,device-iotlb=on,x-scalable-mode=on'],
    ['smmuv3-strict', 'smmuv3', '-M virt,iommu=smmuv3,gic-version=3'],
  ])('%s is %s', (name, arch, how) => {
    const cmd = inspectQemu(userPart(captureArgv(name)));
    expect(cmd.arch).toBe(arch);
    expect(cmd.viommu).toBe(how);
    expect(cmd.serial).toMatch(/^file:\$SCRATCH\/.*console-raw/);
  });

  it("rewrites a capture's command back into the one capture.sh ran", () => {
    const original = captureArgv('vtd-legacy-strict');
    const cmd = inspectQemu(userPart(original));
    const events = original[original.indexOf('-trace') + 1]!.slice('events='.length);
    const log = original[original.indexOf('-D') + 1]!;
    expect(recordingArgv(cmd, { events, log })).toEqual(original);
  });
});

describe('vIOMMU spellings', () => {
  const q = (...a: string[]) => inspectQemu(['qemu-system-x86_64', ...a]);
  it.each([
    [['-device', 'intel-iommu'], 'vtd'],
    [['--device', 'intel-iommu,caching-mode=on'], 'vtd'],
    [['-device', 'driver=intel-iommu,intremap=on'], 'vtd'],
    [['-device', '{"driver": "intel-iommu", "caching-mode": true}'], 'vtd'],
    [['-machine', 'virt,iommu=smmuv3'], 'smmuv3'],
    [['-M', 'type=virt-7.2,gic-version=3,iommu=smmuv3'], 'smmuv3'],
    [['-M', 'virt', '-device', 'arm-smmuv3,primary-bus=pcie.0'], 'smmuv3'],
  ])('%j → %s', (args, arch) => {
    expect(q(...args).arch).toBe(arch);
  });

  it("does not read a vIOMMU out of another option's value", () => {
    expect(() => q('-append', 'console=ttyS0 -device intel-iommu')).toThrow(/no vIOMMU/);
  });

  it.each([
    [['-M', 'q35'], /no vIOMMU in the QEMU command line: invtrace records Intel VT-d/],
    [['-device', 'amd-iommu'], /-device amd-iommu: AMD-Vi is not supported/],
    [['-M', 'virt,iommu=virtio'], /virtio-iommu is not supported/],
    [['-device', 'virtio-iommu-pci'], /virtio-iommu is not supported/],
    [['-device', 'intel-iommu', '-M', 'virt,iommu=smmuv3'], /one vIOMMU kind per run/],
    [['-device', 'intel-iommu', '-daemonize'], /-daemonize: record runs QEMU in the foreground/],
    [['-device', 'intel-iommu', '-D', '/tmp/mine.log'], /-D \/tmp\/mine.log: record chooses the trace log itself/],
  ])('%j is refused', (args, message) => {
    expect(() => q(...args)).toThrow(UsageError);
    expect(() => q(...args)).toThrow(message);
  });

  it('refuses an empty command', () => {
    expect(() => inspectQemu([])).toThrow(/no QEMU command after "--"/);
  });
});

describe('QemuOpts and option helpers', () => {
  it('splits at single commas, ",," is a comma', () => {
    expect(splitQemuOpts('file=a,,b.img,format=raw')).toEqual(['file=a,b.img', 'format=raw']);
  });
  it('finds the driver in each -device syntax', () => {
    expect(deviceDriver('intel-iommu,x=1')).toBe('intel-iommu');
    expect(deviceDriver('x=1,driver=arm-smmuv3')).toBe('arm-smmuv3');
    expect(deviceDriver('{"driver":"nvme"}')).toBe('nvme');
    expect(deviceDriver('{broken')).toBeUndefined();
  });
  it("takes each option's value from the next element", () => {
    expect(optionUses(['q', '-serial', 'stdio', '--serial', 'null', '-serial'], 'serial').map((u) => u.value)).toEqual(['stdio', 'null']);
  });
});

describe('recordingArgv', () => {
  const base = ['qemu-system-aarch64', '-M', 'virt,iommu=smmuv3'];
  it('appends the trace options, and -serial file: when asked', () => {
    const cmd = inspectQemu(base);
    expect(recordingArgv(cmd, { events: '/w/ev', log: '/w/q.log', serial: '/w/con' })).toEqual([
      ...base,
      '-serial',
      'file:/w/con',
      '-trace',
      'events=/w/ev',
      '-D',
      '/w/q.log',
      '-msg',
      'timestamp=on',
    ]);
  });
  it("merges timestamp=on into the user's -msg and escapes commas in the events path", () => {
    const cmd = inspectQemu([...base, '-msg', 'guest-name=on,timestamp=off']);
    const argv = recordingArgv(cmd, { events: '/w/a,b', log: '/w/q.log' });
    expect(argv).toEqual([...base, '-msg', 'guest-name=on,timestamp=on', '-trace', 'events=/w/a,,b', '-D', '/w/q.log']);
  });
});

describe('consolePlan', () => {
  it.each([
    [undefined, true, { path: '/tmp/fallback', add: true }],
    [undefined, '/x/con.txt', { path: '/x/con.txt', add: true }],
    ['file:/x/con.txt', true, { path: '/x/con.txt', add: false }],
    ['file:/x/con.txt', '/x/con.txt', { path: '/x/con.txt', add: false }],
  ] as const)('-serial %s with --console %s', (serial, requested, plan) => {
    expect(consolePlan(serial, requested, '/tmp/fallback')).toEqual(plan);
  });
  it.each([
    ['file:/x/a.txt', '/x/b.txt', /--console \/x\/b.txt but the guest console already goes to -serial file:\/x\/a.txt/],
    ['mon:stdio', true, /the first -serial is "mon:stdio": replace it with -serial file:FILE/],
  ] as const)('-serial %s with --console %s is refused', (serial, requested, message) => {
    expect(() => consolePlan(serial, requested, '/tmp/fallback')).toThrow(message);
  });
});
