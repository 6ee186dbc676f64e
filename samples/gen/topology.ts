// The generated VM's devices and domains, and the topology written into the trace header
// (DESIGN.md "Words": guest SID → physical SID and IOMMU, ATS, guest domain, host page table).

import type { Arch } from '../../formats/codec/table.js';
import type { DeviceSpec, IommuSpec, Topology } from '../../formats/trace/header.js';
import type { DriverName, GenOptions, OptionKey } from './options.js';
import type { DeviceRow, Workload } from './workloads.js';

export interface GenDevice {
  readonly index: number;
  readonly name: string;
  readonly sid: number;
  readonly psid: number;
  readonly iommu: number;
  readonly hwpt: number;
  readonly ats: boolean;
  /** Guest domain index (0-based, first-attach order). */
  readonly domain: number;
  readonly driver: DriverName;
  readonly weight: number;
  /** The guest queue (vSMMU instance) the device sits behind: 0 (default), or its physical SMMU with --vsmmus per-iommu. */
  readonly queue?: number;
}

export interface GenTopology {
  readonly devices: readonly GenDevice[];
  readonly domainCount: number;
  readonly header: Topology;
  /** Guest queues (vSMMU instances): 1, or one per physical SMMU with --vsmmus per-iommu. */
  readonly queues: number;
  /** The workload's own device list was used (the topology options were not given). */
  readonly fromWorkload: boolean;
}

/** Guest domain tag: VT-d DID (0 is reserved for caching mode, 1 for first-stage/SVA) or SMMUv3 ASID (0 is reserved). */
export const domainTag = (arch: Arch, index: number): number => (arch === 'vtd' ? index + 2 : index + 1);

/** Options that replace a profile's device list with a generated one. */
export const TOPOLOGY_KEYS: readonly OptionKey[] = ['devices', 'ats', 'domains', 'iommus', 'driver'];

export function buildTopology(arch: Arch, o: GenOptions, w: Workload, explicit: ReadonlySet<OptionKey>): GenTopology {
  const fromWorkload = w.devices !== undefined && !TOPOLOGY_KEYS.some((k) => explicit.has(k));
  const rows = fromWorkload ? w.devices : genericRows(o);
  const iommus = fromWorkload ? 1 : o.iommus;
  // One vSMMU per physical SMMU: the guest sees each instance, each device behind its own.
  const perIommu = arch === 'smmuv3' && o.vsmmus === 'per-iommu';
  const devices = rows.map((r, i): GenDevice => {
    const iommu = i % iommus;
    // Profiles model emulated devices (psid = sid); generated ones sit on bus 0x40 + IOMMU of their host.
    const psid = fromWorkload ? r.sid : ((0x40 + iommu) << 8) | (i & 0xff);
    return {
      index: i,
      name: r.name,
      sid: r.sid,
      psid,
      iommu,
      hwpt: iommu,
      ats: r.ats,
      domain: r.domain,
      driver: r.driver,
      weight: r.weight,
      queue: perIommu ? iommu : 0,
    };
  });
  const domainCount = Math.max(...devices.map((d) => d.domain)) + 1;
  const iommuSpecs: IommuSpec[] = [];
  for (let i = 0; i < iommus; i++) iommuSpecs.push({ id: i, vmid: arch === 'smmuv3' ? i + 1 : 0 });
  const specs: DeviceSpec[] = devices.map((d) => ({
    sid: d.sid,
    psid: d.psid,
    iommu: d.iommu,
    ats: d.ats,
    domain: domainTag(arch, d.domain),
    hwpt: d.hwpt,
    name: d.name,
  }));
  return { devices, domainCount, header: { iommus: iommuSpecs, devices: specs }, queues: perIommu ? iommus : 1, fromWorkload };
}

function genericRows(o: GenOptions): DeviceRow[] {
  const domains = o.domains === 0 ? o.devices : o.domains;
  const rows: DeviceRow[] = [];
  for (let i = 0; i < o.devices; i++) {
    // PCI bus 1 + i/32, device i%32: RIDs 0x100, 0x108, ...
    const sid = ((1 + (i >> 5)) << 8) | ((i & 31) << 3);
    // ATS spread evenly: device i has it when the running share crosses an integer.
    const ats = Math.floor((i + 1) * o.ats + 1e-9) > Math.floor(i * o.ats + 1e-9);
    const bus = sid >> 8;
    const slot = (sid >> 3) & 31;
    rows.push({
      name: `${bus.toString(16).padStart(2, '0')}:${slot.toString(16).padStart(2, '0')}.0`,
      sid,
      ats,
      domain: i % domains,
      driver: o.driver,
      weight: 1,
    });
  }
  return rows;
}
