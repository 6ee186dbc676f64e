// The workloads `invtrace gen` knows: two generic guests and one profile per shared capture
// (samples/captures/README.md). A profile describes the captured VM and what it ran, never what
// came out of it: the device list and domains as the guest attached them, the kernel and IOMMU
// settings of the run, the dd workload of capture.sh (4K x300 read, 64K x50, 4K x100 write, 1M x4,
// per disk and round, 2 rounds, disk after disk), and the request pace from the README's "guest
// workload time" (seconds / 1,816 requests). The invalidation traffic is the driver model's answer;
// realism.test.ts compares it with the capture.

import type { Arch } from '../../formats/codec/table.js';
import type { DriverName, OptionKey } from './options.js';

/** A device of a profile's VM, in attach order. */
export interface DeviceRow {
  readonly name: string;
  /** Guest RID / StreamID. */
  readonly sid: number;
  readonly ats: boolean;
  /** Index of the guest domain (first attach order gives DID 2, 3, ... or ASID 1, 2, ...). */
  readonly domain: number;
  readonly driver: DriverName;
  /** Share of the requests (0: attached, no DMA traffic). */
  readonly weight: number;
}

export interface Workload {
  readonly name: string;
  readonly arch: Arch;
  readonly description: string;
  /** Option defaults of this workload, written as on the command line. */
  readonly options: Readonly<Partial<Record<OptionKey, string>>>;
  /** The VM's devices; absent: built from --devices/--ats/--domains/--iommus/--driver. */
  readonly devices?: readonly DeviceRow[];
  /** The capture run this profile reproduces (samples/captures/*-<run>.*). */
  readonly capture?: string;
}

// x86 q35 VM of the VT-d runs: seven devices, five domains (the 00:1f.x functions share one group);
// virtio-blk sits behind a root port with ATS (source-id 0x100), nvme has no ATS.
const Q35: readonly DeviceRow[] = [
  { name: '00:00.0 host bridge', sid: 0x0000, ats: false, domain: 0, driver: 'sg', weight: 0 },
  { name: '00:01.0 root port', sid: 0x0008, ats: false, domain: 1, driver: 'sg', weight: 0 },
  { name: '00:02.0 nvme', sid: 0x0010, ats: false, domain: 2, driver: 'nvme', weight: 1 },
  { name: '00:1f.0 lpc', sid: 0x00f8, ats: false, domain: 3, driver: 'sg', weight: 0 },
  { name: '00:1f.2 sata', sid: 0x00fa, ats: false, domain: 3, driver: 'sg', weight: 0 },
  { name: '00:1f.3 smbus', sid: 0x00fb, ats: false, domain: 3, driver: 'sg', weight: 0 },
  { name: '01:00.0 virtio-blk', sid: 0x0100, ats: true, domain: 4, driver: 'virtio', weight: 1 },
];

// arm64 virt VM of the SMMUv3 runs: QEMU 7.2's SMMUv3 has no ATS.
const VIRT: readonly DeviceRow[] = [
  { name: '00:01.0 virtio-blk', sid: 0x08, ats: false, domain: 0, driver: 'virtio', weight: 1 },
  { name: '00:02.0 nvme', sid: 0x10, ats: false, domain: 1, driver: 'nvme', weight: 1 },
];

// capture.sh: per disk and round 300 + 50 + 100 + 4 dd requests; 2 disks, 2 rounds.
const DD = { requests: '1816', sizes: '4K:400,64K:50,1M:4', order: 'sequential' } as const;

export const WORKLOADS: readonly Workload[] = [
  {
    name: 'smmuv3',
    arch: 'smmuv3',
    options: {},
    description: 'a Linux guest on an Arm SMMUv3: stage-1 domains, range TLBIs, ATC_INV for ATS devices',
  },
  {
    name: 'vtd',
    arch: 'vtd',
    options: {},
    description: 'a Linux guest on Intel VT-d (legacy mode, caching mode on as QEMU needs for VFIO)',
  },
  {
    name: 'linux-6.1-vtd-strict',
    arch: 'vtd',
    capture: 'vtd-legacy-strict',
    devices: Q35,
    options: { ...DD, kernel: '6.1', mode: 'strict', cachingMode: 'on', scalable: 'off', latencyUs: '358' },
    description: 'capture vtd-legacy-strict: Debian 6.1 guest, legacy VT-d, caching mode, device-IOTLB, strict',
  },
  {
    name: 'linux-6.1-vtd-lazy',
    arch: 'vtd',
    capture: 'vtd-legacy-lazy',
    devices: Q35,
    options: { ...DD, kernel: '6.1', mode: 'lazy', cachingMode: 'off', scalable: 'off', latencyUs: '281' },
    description: 'capture vtd-legacy-lazy: as vtd-strict with caching mode off and iommu.strict=0 (flush queue)',
  },
  {
    name: 'linux-6.1-vtd-scalable-strict',
    arch: 'vtd',
    capture: 'vtd-scalable-strict',
    devices: Q35,
    options: {
      ...DD,
      kernel: '6.1',
      mode: 'strict',
      cachingMode: 'on',
      scalable: 'on',
      stage: 'second',
      queueBase: '0x2220000',
      latencyUs: '380',
    },
    description: 'capture vtd-scalable-strict: scalable mode (QEMU 7.2: second-stage only), caching mode, strict',
  },
  {
    name: 'linux-6.1-smmuv3-strict',
    arch: 'smmuv3',
    capture: 'smmuv3-strict',
    devices: VIRT,
    options: { ...DD, kernel: '6.1', mode: 'strict', ril: 'on', latencyUs: '578' },
    description: 'capture smmuv3-strict: Debian 6.1 arm64 guest, SMMUv3 stage 1 with RIL, no ATS, strict',
  },
  {
    name: 'linux-6.1-smmuv3-lazy',
    arch: 'smmuv3',
    capture: 'smmuv3-lazy',
    devices: VIRT,
    options: { ...DD, kernel: '6.1', mode: 'lazy', ril: 'on', latencyUs: '479' },
    description: 'capture smmuv3-lazy: as smmuv3-strict with iommu.strict=0 (flush queue: TLBI_NH_ASID)',
  },
];

export function findWorkload(name: string): Workload | undefined {
  return WORKLOADS.find((w) => w.name === name);
}
