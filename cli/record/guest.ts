// The guest side of a recording: kernel command-line additions that start the IOMMU trace at boot,
// and the shell lines that dump the trace buffer to the serial console between markers, where
// `record --console` picks it up. spec/vtd.md §7, spec/smmuv3.md §7, samples/captures/README.md.

import { BEGIN_MARKER, END_MARKER } from '../../formats/capture/guest-trace.js';
import type { Arch } from '../../formats/codec/table.js';
import { UsageError } from '../run.js';

export interface KernelVersion {
  readonly major: number;
  readonly minor: number;
}

/** `6.12`, `6.12.3`, `6.1.0-56-arm64` → major.minor. */
export function parseKernelVersion(s: string): KernelVersion | undefined {
  const m = /^(\d+)\.(\d+)(?:[.\-+~].*)?$/.exec(s.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

const atLeast = (v: KernelVersion, w: KernelVersion) => v.major > w.major || (v.major === w.major && v.minor >= w.minor);

/**
 * The kernel that added the `cmdq` argument: arm_smmu_cmdq_issue_cmdlist(smmu, cmdq, cmds, n, sync).
 * Commit "iommu/arm-smmu-v3: Pass in cmdq pointer to arm_smmu_cmdq_issue_cmdlist()" (Nicolin Chen,
 * the Tegra241 CMDQV series), merged with the "Arm SMMU updates for 6.12"; earlier kernels have
 * (smmu, cmds, n, sync).
 */
export const CMDQ_ARG_SINCE: KernelVersion = { major: 6, minor: 12 };

export const KPROBE_CMDS_DEFAULT = 4;
export const KPROBE_CMDS_MAX = 16;

/**
 * `kprobe_event=` for the arm64 guest: arm-smmu-v3 has no tracepoint, so a boot-time kprobe on the
 * function that puts each batch in the CMDQ records `n`, `sync` and the first `cmds` commands
 * (2 x u64 each). On the kernel command line commas stand for the spaces of kprobe_events.
 */
export function smmuKprobe(kv: KernelVersion, cmds = KPROBE_CMDS_DEFAULT): string {
  const shift = atLeast(kv, CMDQ_ARG_SINCE) ? 1 : 0;
  const arg = (n: number) => `$arg${n + shift}`;
  const parts = ['p:smmu/cmdlist', 'arm_smmu_cmdq_issue_cmdlist', `n=${arg(3)}:s32`, `sync=${arg(4)}:u8`];
  for (let i = 0; i < cmds; i++) {
    parts.push(`c${i}_0=+${16 * i}(${arg(2)}):x64`, `c${i}_1=+${16 * i + 8}(${arg(2)}):x64`);
  }
  return `kprobe_event=${parts.join(',')}`;
}

/** Common to both: a 16 MiB buffer per CPU, and the global clock from the first event on. */
const BUFFER = 'trace_buf_size=16M trace_clock=global';

export interface GuestSide {
  readonly arch: Arch;
  readonly kernel_version: string | null;
  /** Additions to the guest kernel command line (QEMU -append). */
  readonly cmdline: string;
  /** Shell lines to run in the guest (as root) once the workload is done. */
  readonly dump_script: string;
  readonly notes: readonly string[];
}

export interface GuestOptions {
  readonly kernelVersion?: string;
  readonly kprobeCmds?: number;
}

export function guestSide(arch: Arch, opts: GuestOptions = {}): GuestSide {
  const kv = opts.kernelVersion === undefined ? undefined : parseKernelVersion(opts.kernelVersion);
  if (opts.kernelVersion !== undefined && kv === undefined) {
    throw new UsageError(`record: --kernel-version ${opts.kernelVersion}: expected X.Y (e.g. 6.1 or 6.12)`);
  }
  const common = [
    'trace_clock=global matters: without it the kernel switches trace clocks late in boot and clears the buffer, ' +
      'losing the boot-time invalidations.',
    'The guest console must be the serial port QEMU writes to a file (console=ttyS0 on x86, console=ttyAMA0 on ' +
      'arm virt; record --console adds or reuses -serial file:).',
    'Keep the kernel\'s boot messages on that console (no "quiet"): ingest reads the kernel version and the queue ' +
      'geometry (DMAR ecap, SMMUv3 cmdq entries) from them.',
  ];
  if (arch === 'vtd') {
    return {
      arch,
      kernel_version: opts.kernelVersion ?? null,
      cmdline: `trace_event=intel_iommu:qi_submit,iommu:* ${BUFFER}`,
      dump_script: DUMP_SCRIPT,
      notes: [
        'The VT-d driver must be on: intel_iommu=on (intel_iommu=on,sm_on for scalable mode); iommu.strict=1 ' +
          'gives one invalidation per unmap, iommu.strict=0 batches them.',
        'qi_submit shows every descriptor the driver writes except the wait descriptor qi_submit_sync() appends; ' +
          'the QEMU side has those.',
        ...common,
      ],
    };
  }
  if (kv === undefined) {
    throw new UsageError(
      "record: --guest-cmdline smmuv3 needs --kernel-version X.Y (the guest kernel's): from Linux " +
        `${CMDQ_ARG_SINCE.major}.${CMDQ_ARG_SINCE.minor} on arm_smmu_cmdq_issue_cmdlist() takes a cmdq argument, ` +
        'which moves the arguments the kprobe reads',
    );
  }
  const cmds = opts.kprobeCmds ?? KPROBE_CMDS_DEFAULT;
  if (!Number.isInteger(cmds) || cmds < 1 || cmds > KPROBE_CMDS_MAX) {
    throw new UsageError(`record: --kprobe-cmds ${opts.kprobeCmds}: expected 1 to ${KPROBE_CMDS_MAX}`);
  }
  const shifted = atLeast(kv, CMDQ_ARG_SINCE);
  return {
    arch,
    kernel_version: opts.kernelVersion ?? null,
    cmdline: `${smmuKprobe(kv, cmds)} trace_event=iommu:* ${BUFFER}`,
    dump_script: DUMP_SCRIPT,
    notes: [
      `Linux ${kv.major}.${kv.minor}: arm_smmu_cmdq_issue_cmdlist(smmu, ${shifted ? 'cmdq, ' : ''}cmds, n, sync), ` +
        `so cmds is $arg${shifted ? 3 : 2}.`,
      `Each batch line holds n, sync and the first ${cmds} commands of cmds[]; only the first n are real, and the ` +
        'CMD_SYNC the function appends (sync=1) is not in cmds[]. Raise --kprobe-cmds if n often exceeds it.',
      'The kprobe needs arm-smmu-v3 built in (Debian: CONFIG_ARM_SMMU_V3=y) and the function not renamed by the ' +
        'compiler (a .constprop/.isra clone): the dump script prints kprobe_events so you can check.',
      'The SMMUv3 driver is on whenever the machine has one; iommu.strict=1 gives one TLBI per unmap.',
      ...common,
    ],
  };
}

/**
 * Run in the guest when the workload is done: stop tracing, keep kernel messages off the console,
 * and print the buffer between the markers on /dev/console (the console= port).
 */
export const DUMP_SCRIPT = `T=/sys/kernel/tracing
[ -e $T/trace ] || mount -t tracefs nodev $T
echo 0 > $T/tracing_on
echo 1 > /proc/sys/kernel/printk
{
  echo "@@ kprobe_events: $(cat $T/kprobe_events 2>/dev/null)"
  grep -H overrun $T/per_cpu/cpu*/stats
  echo "${BEGIN_MARKER}"
  cat $T/trace
  echo "${END_MARKER}"
} > /dev/console
`;
