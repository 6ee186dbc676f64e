// Reading and rewriting a QEMU command line for `invtrace record`: which vIOMMU it has, where its
// guest console goes, and the options that turn on the trace the QEMU-log readers need. Pure:
// argv in, argv out; the command (cli/commands/record.ts) owns the files.
//
// QEMU options take zero or one argument, written as the next argv element (`-device VALUE`);
// `--device` is the same option. Scanning for the names we care about and taking the next element
// as the value needs no table of every QEMU option: an option's value is never itself `-device`.

import type { Arch } from '../../formats/codec/table.js';
import { UsageError } from '../run.js';

/** The QEMU command with what record needs to know about it. */
export interface QemuCommand {
  readonly argv: readonly string[];
  readonly arch: Arch;
  /** The option that selected the vIOMMU, as the user wrote it (for messages). */
  readonly viommu: string;
  /** The value of the first `-serial` option (the guest's console port), if any. */
  readonly serial?: string;
}

/** A `-name VALUE` occurrence: argv[index] is the option, argv[index + 1] its value. */
export interface OptionUse {
  readonly index: number;
  readonly value: string;
}

/** Every use of an option (single or double dash) that takes a value. */
export function optionUses(argv: readonly string[], ...names: string[]): OptionUse[] {
  const uses: OptionUse[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('-') && names.includes(a.replace(/^--?/, '')) && i + 1 < argv.length) {
      uses.push({ index: i, value: argv[i + 1]! });
      i++;
    }
  }
  return uses;
}

const hasFlag = (argv: readonly string[], name: string) => argv.slice(1).some((a) => a === `-${name}` || a === `--${name}`);

/**
 * QemuOpts `a,b=c,d` split at single commas (`,,` is an escaped comma). The first item may be
 * the implied key (`intel-iommu` for -device, `virt` for -machine).
 */
export function splitQemuOpts(value: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === ',' && value[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (c === ',') {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

/** `key=value` pairs of a QemuOpts string; the implied first key gets the name `implied`. */
function qemuOpts(value: string, implied: string): Map<string, string> {
  const m = new Map<string, string>();
  splitQemuOpts(value).forEach((p, i) => {
    const eq = p.indexOf('=');
    if (eq < 0) m.set(i === 0 ? implied : p, i === 0 ? p : 'on');
    else m.set(p.slice(0, eq), p.slice(eq + 1));
  });
  return m;
}

/** The driver of a `-device` value: `DRIVER,...`, `driver=DRIVER,...` or JSON `{"driver": ...}`. */
export function deviceDriver(value: string): string | undefined {
  if (value.trimStart().startsWith('{')) {
    try {
      const d = (JSON.parse(value) as { driver?: unknown }).driver;
      return typeof d === 'string' ? d : undefined;
    } catch {
      return undefined;
    }
  }
  return qemuOpts(value, 'driver').get('driver');
}

/** vIOMMU devices and machine options: which arch they are, or why record cannot use them. */
const DEVICES: Readonly<Record<string, string>> = {
  // an Arch, or why record cannot use it
  'intel-iommu': 'vtd',
  'arm-smmuv3': 'smmuv3', // user-creatable SMMUv3 (newer QEMU, e.g. with accel=on)
  'amd-iommu': 'AMD-Vi is not supported',
  'virtio-iommu-pci': 'virtio-iommu is not supported',
  'virtio-iommu-device': 'virtio-iommu is not supported',
  'riscv-iommu-pci': 'the RISC-V IOMMU is not supported',
};
const MACHINE_IOMMU: Readonly<Record<string, string>> = {
  // an Arch, or why record cannot use it
  smmuv3: 'smmuv3',
  virtio: 'virtio-iommu is not supported',
};

const SUPPORTED =
  'invtrace records Intel VT-d (-device intel-iommu on a q35 machine) and Arm SMMUv3 ' + '(-M virt,iommu=smmuv3, or -device arm-smmuv3)';

/** Finds the vIOMMU of a QEMU command line; a line without a supported one is a usage error. */
export function inspectQemu(argv: readonly string[]): QemuCommand {
  if (argv.length === 0) throw new UsageError(`record: no QEMU command after "--" (${SUPPORTED})`);
  const found: { arch: Arch; how: string }[] = [];
  for (const u of optionUses(argv, 'device')) {
    const driver = deviceDriver(u.value);
    const what = driver === undefined ? undefined : DEVICES[driver];
    if (what === 'vtd' || what === 'smmuv3') found.push({ arch: what, how: `-device ${u.value}` });
    else if (what !== undefined) throw new UsageError(`record: -device ${u.value}: ${what} (${SUPPORTED})`);
  }
  for (const u of optionUses(argv, 'M', 'machine')) {
    const iommu = qemuOpts(u.value, 'type').get('iommu');
    if (iommu === undefined) continue;
    const what = MACHINE_IOMMU[iommu];
    if (what === 'smmuv3') found.push({ arch: 'smmuv3', how: `${argv[u.index]} ${u.value}` });
    else
      throw new UsageError(
        `record: ${argv[u.index]} ${u.value}: ${what ?? `iommu=${iommu} is not a vIOMMU invtrace knows`} (${SUPPORTED})`,
      );
  }
  if (found.length === 0) {
    throw new UsageError(`record: no vIOMMU in the QEMU command line: ${SUPPORTED}`);
  }
  const arches = new Set(found.map((f) => f.arch));
  if (arches.size > 1) throw new UsageError(`record: both ${found.map((f) => f.how).join(' and ')}: one vIOMMU kind per run`);
  if (hasFlag(argv, 'daemonize')) throw new UsageError('record: -daemonize: record runs QEMU in the foreground and waits for it');
  const userLog = optionUses(argv, 'D')[0];
  if (userLog) throw new UsageError(`record: -D ${userLog.value}: record chooses the trace log itself; remove -D`);
  const serial = optionUses(argv, 'serial')[0]?.value;
  return { argv, arch: found[0]!.arch, viommu: found[0]!.how, ...(serial !== undefined ? { serial } : {}) };
}

/** Where the guest console goes: a file QEMU writes that record then reads. */
export interface ConsolePlan {
  /** The console file after the run. */
  readonly path: string;
  /** Whether record adds `-serial file:PATH` (false: the user's own `-serial file:` is reused). */
  readonly add: boolean;
}

/**
 * Decides the console file for `--console [FILE]`: the user's `-serial file:X` is reused (when FILE
 * is absent or names X); otherwise `-serial file:FILE` is added, with `fallback` when FILE is absent.
 */
export function consolePlan(
  serial: string | undefined,
  requested: string | true,
  fallback: string,
  same: (a: string, b: string) => boolean = (a, b) => a === b,
): ConsolePlan {
  if (serial === undefined) return { path: requested === true ? fallback : requested, add: true };
  if (serial.startsWith('file:')) {
    const user = serial.slice('file:'.length);
    if (requested === true || same(user, requested)) return { path: user, add: false };
    throw new UsageError(`record: --console ${requested} but the guest console already goes to -serial ${serial}; ` + 'give one of them');
  }
  throw new UsageError(
    `record: --console needs the guest console in a file, but the first -serial is "${serial}": ` +
      'replace it with -serial file:FILE (or drop it and let --console add one)',
  );
}

/** The files QEMU writes while recording. */
export interface RecordingFiles {
  readonly events: string;
  readonly log: string;
  /** Adds `-serial file:PATH` (only when the command has no -serial). */
  readonly serial?: string;
}

/**
 * The command record runs: the user's, with `-msg timestamp=on` merged into a user `-msg`, then
 * `-serial file:` when asked, `-trace events=FILE -D LOG` and `-msg timestamp=on` at the end.
 */
export function recordingArgv(cmd: QemuCommand, files: RecordingFiles): string[] {
  const argv = [...cmd.argv];
  const msg = optionUses(argv, 'msg');
  for (const u of msg) {
    const opts = splitQemuOpts(u.value).filter((p) => !/^timestamp(=|$)/.test(p));
    argv[u.index + 1] = [...opts, 'timestamp=on'].join(',');
  }
  if (files.serial !== undefined) {
    if (cmd.serial !== undefined) throw new Error('recordingArgv: the command already has a -serial');
    argv.push('-serial', `file:${files.serial}`);
  }
  argv.push('-trace', `events=${files.events.replaceAll(',', ',,')}`, '-D', files.log); // -trace is QemuOpts: ',,' escapes
  if (msg.length === 0) argv.push('-msg', 'timestamp=on');
  return argv;
}
