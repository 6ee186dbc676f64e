// `invtrace record` through the compiled CLI, without running QEMU: --dry-run for both vIOMMUs, the
// refusals, and --guest-cmdline. (npm run test:record boots real guests under it.)
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from '../../test/helpers.js';

const dir = tempDir();
const X86 = [
  'qemu-system-x86_64',
  '-machine',
  'q35',
  '-device',
  'intel-iommu,intremap=on,caching-mode=on',
  '-kernel',
  '/k/vmlinuz',
  '-append',
  'console=ttyS0 intel_iommu=on',
];
const ARM = ['qemu-system-aarch64', '-M', 'virt,iommu=smmuv3,gic-version=3', '-kernel', '/k/Image'];

describe('record --dry-run', () => {
  it("VT-d, raw files kept next to the output, the command's own console file reused", () => {
    const out = join(dir, 'run.arrow');
    const r = cli('record', '--dry-run', '--keep-log', '--console', '-o', out, '--', ...X86, '-serial', `file:${dir}/con.txt`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [command, blank, ...rest] = r.stdout.trimEnd().split('\n');
    const log = new RegExp(`${dir}/\\.run\\.qemu\\.log\\.\\d+\\.\\d+\\.tmp`);
    expect(command).toMatch(
      new RegExp(
        `^qemu-system-x86_64 -machine q35 -device intel-iommu,intremap=on,caching-mode=on ` +
          `-kernel /k/vmlinuz -append 'console=ttyS0 intel_iommu=on' -serial file:${dir}/con.txt ` +
          `-trace events=${dir}/run.trace-events -D ${log.source} -msg timestamp=on$`,
      ),
    );
    expect(blank).toBe('');
    expect(rest).toContain('# vtd vIOMMU: -device intel-iommu,intremap=on,caching-mode=on');
    expect(rest).toContain(`# events file ${dir}/run.trace-events:`);
    expect(rest).toEqual(expect.arrayContaining(['vtd_inv_*', 'vtd_reg_write*', 'vtd_fsts_*', 'vtd_pasid_cache_*']));
    expect(rest.filter((l) => !l.startsWith('#')).join(' ')).not.toMatch(/vtd_warn_ir_vector|vtd_iotlb_page|vtd_dmar_translate/);
    expect(rest).toContain(`# guest console: ${dir}/con.txt (the command's own -serial file:)`);
    expect(rest.at(-1)).toBe(`# then: invtrace ingest ${dir}/run.qemu.log ${dir}/con.txt --arch vtd -o ${out}`);
    expect(existsSync(join(dir, 'run.trace-events'))).toBe(false); // ran nothing, wrote nothing
  });

  it('SMMUv3, raw files in a temp dir, --console adds -serial file:', () => {
    const r = cli('record', '--dry-run', '--json', '--console', '-o', join(dir, 'arm.arrow'), '--', ...ARM);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const tmp = j.temp_dir as string;
    expect(tmp).toMatch(/invtrace-record-\d+$/);
    expect(j).toMatchObject({
      arch: 'smmuv3',
      viommu: '-M virt,iommu=smmuv3,gic-version=3',
      output: join(dir, 'arm.arrow'),
      events_file: `${tmp}/trace-events`,
      log: `${tmp}/qemu.log`,
      qemu_log: `${tmp}/qemu.log`,
      console: `${tmp}/console.txt`,
    });
    expect(j.command).toEqual([
      ...ARM,
      '-serial',
      `file:${tmp}/console.txt`,
      '-trace',
      `events=${tmp}/trace-events`,
      '-D',
      `${tmp}/qemu.log`,
      '-msg',
      'timestamp=on',
    ]);
    const events = (j.events as string).split('\n').filter((l) => l && !l.startsWith('#'));
    expect(events).toEqual(expect.arrayContaining(['smmuv3_cmdq_*', 'smmuv3_*range_inval', 'smmuv3_write_mmio', 'smmu_iotlb_inv_*']));
    expect(events.join(' ')).not.toMatch(/smmuv3_read_mmio|translate|ptw|lookup/);
    expect(existsSync(tmp)).toBe(false);
  });
});

describe('record refusals (exit 2, one line)', () => {
  it.each([
    [
      ['-o', 'x.arrow', '--', 'qemu-system-x86_64', '-M', 'q35', '-m', '1024'],
      /^invtrace: record: no vIOMMU in the QEMU command line: invtrace records Intel VT-d/,
    ],
    [['--', ...X86], /^invtrace: record: -o, --output <file> is required/],
    [['-o', 'x.arrow', '--'], /^invtrace: record: no QEMU command after "--"/],
    [['-o', 'x.arrow', '--console', 'b.txt', '--', ...X86, '-serial', 'mon:stdio'], /the first -serial is "mon:stdio"/],
    [['--guest-cmdline', 'smmuv3'], /^invtrace: record: --guest-cmdline smmuv3 needs --kernel-version X.Y/],
    [['--guest-cmdline', 'vtd', '--', ...X86], /--guest-cmdline prints the guest side and runs nothing/],
  ])('%j', (args, message) => {
    const r = cli('record', ...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('record --guest-cmdline', () => {
  it('VT-d: the line alone on stdout, the dump script and notes on stderr', () => {
    const r = cli('record', '--guest-cmdline', 'vtd');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('trace_event=intel_iommu:qi_submit,iommu:* trace_buf_size=16M trace_clock=global\n');
    expect(r.stderr).toContain('  echo "@@@@ BEGIN GUEST TRACE"');
    expect(r.stderr).toContain('  cat $T/trace');
    expect(r.stderr).toMatch(/# The VT-d driver must be on: intel_iommu=on/);
  });
  it.each([
    ['6.1.0-56-arm64', 'n=$arg3:s32,sync=$arg4:u8,c0_0=+0($arg2):x64'],
    ['6.12', 'n=$arg4:s32,sync=$arg5:u8,c0_0=+0($arg3):x64'],
  ])('SMMUv3 on Linux %s (--json)', (kv, args) => {
    const r = cli('record', '--guest-cmdline', 'smmuv3', '--kernel-version', kv, '--kprobe-cmds', '2', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ arch: 'smmuv3', kernel_version: kv });
    expect(j.cmdline).toMatch(new RegExp(`^kprobe_event=p:smmu/cmdlist,arm_smmu_cmdq_issue_cmdlist,${args.replace(/[$()+]/g, '\\$&')}`));
    expect(j.cmdline).toContain('c1_1=');
    expect(j.cmdline).not.toContain('c2_0=');
    expect(j.cmdline).toMatch(/ trace_event=iommu:\* trace_buf_size=16M trace_clock=global$/);
    expect(j.dump_script).toContain('@@@@ END GUEST TRACE');
  });
});
