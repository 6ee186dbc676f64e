// The generator's knobs, one row each: flag, default (per architecture where they differ), what it
// means, how it parses. The table drives commander registration, `gen --list`, the README section
// and the header notes; workloads (workloads.ts) override defaults with the same strings.

import type { Arch } from '../../formats/codec/table.js';
import { fail, ok, type Result } from '../../formats/result.js';
import { formatInjections, parseInjections, type Injection } from './inject.js';
import { formatSizeMix, parseSizeMix, type SizeMix } from './units.js';

export const KERNELS = ['6.1', '6.12'] as const;
export type Kernel = (typeof KERNELS)[number];
export const MODES = ['strict', 'lazy'] as const;
export type Mode = (typeof MODES)[number];
export const ORDERS = ['mixed', 'sequential'] as const;
export type Order = (typeof ORDERS)[number];
export const DRIVERS = ['sg', 'virtio', 'nvme'] as const;
export type DriverName = (typeof DRIVERS)[number];
export const STAGES = ['first', 'second'] as const;
export type Stage = (typeof STAGES)[number];
/** Guest-visible vSMMUs: one over every physical SMMU, or one per physical SMMU (issue 15 §2). */
export const VSMMUS = ['single', 'per-iommu'] as const;
export type Vsmmus = (typeof VSMMUS)[number];

export interface GenOptions {
  readonly seed: number;
  readonly kernel: Kernel;
  readonly mode: Mode;
  readonly requests: number;
  readonly commands: number;
  readonly devices: number;
  readonly ats: number;
  readonly domains: number;
  readonly iommus: number;
  readonly vsmmus: Vsmmus;
  readonly driver: DriverName;
  readonly sizes: SizeMix;
  readonly order: Order;
  readonly cpus: number;
  readonly rate: number;
  readonly latencyUs: number;
  readonly submitUs: number;
  readonly gatherUs: number;
  readonly fqTimeoutMs: number;
  readonly queue: number;
  readonly queueBase: number;
  readonly cachingMode: boolean;
  readonly scalable: boolean;
  readonly stage: Stage;
  readonly ril: boolean;
  readonly inject: readonly Injection[];
}

export type OptionKey = keyof GenOptions;

export interface OptionDef<K extends OptionKey = OptionKey> {
  readonly key: K;
  /** Commander flag, e.g. `--seed <n>`. */
  readonly flag: string;
  readonly description: string;
  /** Only meaningful for this architecture (shown and accepted for both, ignored by the other). */
  readonly arch?: Arch;
  readonly default: string | Readonly<Record<Arch, string>>;
  readonly parse: (text: string) => Result<GenOptions[K]>;
  readonly show: (v: GenOptions[K]) => string;
}

const int =
  (min: number, max: number) =>
  (text: string): Result<number> => {
    const t = text.trim();
    const v = /^(0x[0-9a-f]+|\d+)$/i.test(t) ? Number(t) : NaN;
    if (!Number.isSafeInteger(v)) return fail({ message: `"${text}" is not a whole number` });
    if (v < min || v > max) return fail({ message: `${v} is outside ${min}..${max}` });
    return ok(v);
  };
const num =
  (min: number, max: number) =>
  (text: string): Result<number> => {
    const v = text.trim() === '' ? NaN : Number(text);
    if (!Number.isFinite(v)) return fail({ message: `"${text}" is not a number` });
    if (v < min || v > max) return fail({ message: `${v} is outside ${min}..${max}` });
    return ok(v);
  };
const choice =
  <T extends string>(values: readonly T[]) =>
  (text: string): Result<T> =>
    (values as readonly string[]).includes(text) ? ok(text as T) : fail({ message: `"${text}" is not one of ${values.join(', ')}` });
const onOff = (text: string): Result<boolean> =>
  text === 'on' ? ok(true) : text === 'off' ? ok(false) : fail({ message: `"${text}" is not on or off` });
const showOnOff = (v: boolean) => (v ? 'on' : 'off');
const powerOfTwo = (text: string): Result<number> => {
  const v = int(2, 1 << 19)(text);
  if (!v.ok) return v;
  return (v.value & (v.value - 1)) === 0 ? v : fail({ message: `${v.value} is not a power of two` });
};

/** A row, type-checked against its key, then erased to the table's row type. */
function def<K extends OptionKey>(d: Omit<OptionDef<K>, 'show'> & { show?: (v: GenOptions[K]) => string }): OptionDef {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the rows whose values are objects (sizes, inject) give their own show
  return { show: (v: GenOptions[K]) => String(v), ...d } as unknown as OptionDef;
}

// One row per line, as the table reads (a row is one record of the spec or of the CLI):
// prettier-ignore
export const OPTIONS: readonly OptionDef[] = [
  def({ key: 'seed', flag: '--seed <n>', default: '1', parse: int(0, Number.MAX_SAFE_INTEGER),
    description: 'random seed: the same seed and options give the same file, byte for byte' }),
  def({ key: 'kernel', flag: '--kernel <version>', default: '6.12', parse: choice(KERNELS),
    description: 'guest Linux behaviour: 6.1 (VT-d: one wait per descriptor) or 6.12 (VT-d: qi_batch of up to 16 per wait)' }),
  def({ key: 'mode', flag: '--mode <mode>', default: 'strict', parse: choice(MODES),
    description: 'DMA mode: strict (invalidate on every unmap) or lazy (flush queue: domain flushes on a 10 ms timer or a full queue)' }),
  def({ key: 'requests', flag: '--requests <n>', default: '10000', parse: int(1, Number.MAX_SAFE_INTEGER),
    description: 'I/O requests to run (each maps and later unmaps its buffers)' }),
  def({ key: 'commands', flag: '--commands <n>', default: '0', parse: int(0, Number.MAX_SAFE_INTEGER),
    description: 'stop at the first doorbell that reaches this many commands (0: run --requests to the end)' }),
  def({ key: 'devices', flag: '--devices <n>', default: '4', parse: int(1, 256),
    description: 'devices doing DMA (replaces a profile\'s device list, as do --ats, --domains, --iommus, --driver)' }),
  def({ key: 'ats', flag: '--ats <share>', default: '0.5', parse: num(0, 1),
    description: 'share of the devices with ATS enabled (ATC_INV / device-TLB invalidations)' }),
  def({ key: 'domains', flag: '--domains <n>', default: '0', parse: int(0, 256),
    description: 'guest domains, devices spread round-robin; 1 = all share one domain; 0 = one per device' }),
  def({ key: 'iommus', flag: '--iommus <n>', default: '1', parse: int(1, 16),
    description: 'physical IOMMUs behind the guest IOMMU (header topology: devices spread round-robin)' }),
  def({ key: 'vsmmus', flag: '--vsmmus <shape>', default: 'single', parse: choice(VSMMUS), arch: 'smmuv3',
    description: 'guest-visible vSMMUs: single (one queue over every physical SMMU) or per-iommu (one vSMMU and queue per physical SMMU; a domain spanning them is invalidated on each)' }),
  def({ key: 'driver', flag: '--driver <shape>', default: 'sg', parse: choice(DRIVERS),
    description: 'how a request is mapped: sg (one mapping), virtio (one per page + 3 control pages, <=126 segments), nvme (one mapping, <=512K)' }),
  def({ key: 'sizes', flag: '--sizes <mix>', default: '4K:70,8K:8,16K:6,64K:10,256K:4,1M:2', parse: parseSizeMix,
    show: formatSizeMix, description: 'request sizes with weights, SIZE:WEIGHT,...' }),
  def({ key: 'order', flag: '--order <order>', default: 'mixed', parse: choice(ORDERS),
    description: 'mixed (each request picks a device) or sequential (device after device, like the captures\' workload)' }),
  def({ key: 'cpus', flag: '--cpus <n>', default: '1', parse: int(1, 64),
    description: 'CPUs issuing requests concurrently; their submissions interleave' }),
  def({ key: 'rate', flag: '--rate <per-s>', default: '0', parse: num(0, 1e9),
    description: 'requests per second per CPU (Poisson arrivals); 0 = closed loop, next request when the last completes' }),
  def({ key: 'latencyUs', flag: '--latency-us <us>', default: '50', parse: num(0, 1e9),
    description: 'request lifetime: mapping to unmapping, in microseconds' }),
  def({ key: 'submitUs', flag: '--submit-us <us>', default: '3', parse: num(0, 1e6),
    description: 'time one submission keeps its CPU (write, doorbell trap, wait; costs.md trap_user + sync)' }),
  def({ key: 'gatherUs', flag: '--gather-us <us>', default: '1', parse: num(0, 1e6), arch: 'smmuv3',
    description: 'submissions of other CPUs starting this soon after one share its CMDQ_PROD write' }),
  def({ key: 'fqTimeoutMs', flag: '--fq-timeout-ms <ms>', default: '10', parse: num(0.001, 1e6),
    description: 'lazy mode: flush-queue timer (IOVA_FQ_TIMEOUT), fired on the next 4 ms jiffy (HZ=250)' }),
  def({ key: 'queue', flag: '--queue <entries>', default: { smmuv3: '65536', vtd: '256' }, parse: powerOfTwo,
    description: 'guest queue entries (SMMUv3 2^LOG2SIZE, 128..2^19; VT-d 256.. as Linux uses 256); small queues wrap often' }),
  def({ key: 'queueBase', flag: '--queue-base <addr>', default: { smmuv3: '0x7ad00000', vtd: '0x2206000' },
    parse: int(0, Number.MAX_SAFE_INTEGER), show: (v) => `0x${v.toString(16)}`,
    description: 'guest-physical base of the queue (header queue_base)' }),
  def({ key: 'cachingMode', flag: '--caching-mode <on|off>', default: { smmuv3: 'off', vtd: 'on' }, parse: onOff, show: showOnOff,
    description: 'invalidate on map too (tlbi-on-map): VT-d CAP.CM (QEMU caching-mode=on, forces strict for second-stage domains); SMMUv3: the tlbi-on-map RFC (TLBI_NH_VA + SYNC after each map)' }),
  def({ key: 'scalable', flag: '--scalable <on|off>', default: 'off', parse: onOff, show: showOnOff, arch: 'vtd',
    description: 'VT-d scalable mode: 256-bit descriptors, PASID-cache and P-IOTLB descriptors' }),
  def({ key: 'stage', flag: '--stage <stage>', default: 'first', parse: choice(STAGES), arch: 'vtd',
    description: 'VT-d scalable mode: first-stage domains (P-IOTLB with PASID 0) or second-stage (IOTLB); legacy is second' }),
  def({ key: 'ril', flag: '--ril <on|off>', default: 'on', parse: onOff, show: showOnOff, arch: 'smmuv3',
    description: 'SMMUv3 IDR3.RIL: range TLBIs (TG/SCALE/NUM/TTL); off = one TLBI_NH_VA per 4 KiB page' }),
  def({ key: 'inject', flag: '--inject <list>', default: 'none', parse: parseInjections, show: formatInjections,
    description: 'errors: ill@N (illegal command), atc-timeout@N[:SID] (ATC/device-TLB time-out), comma-separated' }),
];

export const optionDef = (key: OptionKey): OptionDef => OPTIONS.find((o) => o.key === key)!;

/** `--latency-us <us>` → `latency-us`. */
export const flagName = (o: OptionDef): string => /^--([a-z-]+)/.exec(o.flag)![1]!;

export function defaultText(o: OptionDef, arch: Arch): string {
  return typeof o.default === 'string' ? o.default : o.default[arch];
}

export interface ResolvedOptions {
  readonly options: GenOptions;
  /** Options the user gave (not from the workload or the defaults). */
  readonly explicit: ReadonlySet<OptionKey>;
}

/**
 * Resolves every option: the user's value, else the workload's, else the default. The first bad
 * value fails with the flag named.
 */
export function resolveOptions(
  arch: Arch,
  workload: Readonly<Partial<Record<OptionKey, string>>>,
  user: Readonly<Partial<Record<OptionKey, string>>>,
): Result<ResolvedOptions> {
  const out: Record<string, unknown> = {};
  const explicit = new Set<OptionKey>();
  for (const o of OPTIONS) {
    const given = user[o.key];
    if (given !== undefined) explicit.add(o.key);
    const text = given ?? workload[o.key] ?? defaultText(o, arch);
    const v = o.parse(text);
    if (!v.ok) return fail({ field: `--${flagName(o)}`, message: v.error.message });
    out[o.key] = v.value;
  }
  const options = out as unknown as GenOptions;
  const bad = checkCombination(arch, options, explicit);
  return bad === undefined ? ok({ options, explicit }) : fail(bad);
}

function checkCombination(arch: Arch, o: GenOptions, explicit: ReadonlySet<OptionKey>): { field: string; message: string } | undefined {
  if (arch === 'smmuv3' && o.queue < 128) {
    // Linux refuses a CMDQ that cannot hold one 64-command batch plus its CMD_SYNC (spec §1.2).
    return { field: '--queue', message: `${o.queue} entries: the SMMUv3 driver needs at least 128` };
  }
  if (arch === 'vtd') {
    const min = o.scalable ? 128 : 256; // one 4 KiB page of 16- or 32-byte descriptors (spec/vtd.md §1.1)
    const max = o.scalable ? 1 << 14 : 1 << 15;
    if (o.queue < min || o.queue > max) return { field: '--queue', message: `${o.queue} entries: a VT-d queue holds ${min}..${max}` };
    if (!o.scalable && o.stage === 'first' && explicit.has('stage')) {
      return { field: '--stage', message: 'first-stage domains need --scalable on' };
    }
  }
  if (o.domains > o.devices) return { field: '--domains', message: `${o.domains} domains for ${o.devices} devices` };
  return undefined;
}

/** The effective option values as strings (header notes, `--list`). */
export function showOptions(o: GenOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of OPTIONS) out[flagName(d)] = (d.show as (v: unknown) => string)(o[d.key]);
  return out;
}
