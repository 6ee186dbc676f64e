// Puts several VMs on one host: checks that they can share it and gives each its own host
// identifiers. The physical IOMMU ids in each VM's topology name the shared units (two VMs with a
// device behind IOMMU 1 share unit 1). A physical device belongs to one VM: a physical SID that
// two topologies give on the same unit is an error naming both traces — unless that VM's physical
// SIDs are only a guess (a topology inferred from a capture, or `renumber`), in which case its
// devices get free physical SIDs on their units and the notes say so. Each VM gets its own VMID
// on every SMMU (SMMUv3: VM k uses VMID k + 1) or its own range of host DIDs (VT-d), as a host
// kernel allocating them for several VMs would.

import { hex } from '../../formats/bits.js';
import { InputFault } from '../../formats/result.js';
import type { DeviceSpec, Topology } from '../../formats/trace/header.js';
import type { OpenTrace } from '../../formats/trace/io.js';
import type { HostIds } from '../host.js';
import type { ResolvedTopology } from '../topology.js';

export interface VmSpec {
  readonly path: string;
  readonly trace: OpenTrace;
  readonly topology: ResolvedTopology;
}

export interface PlacedVm extends VmSpec {
  /** Index of the VM (its trace's place on the command line). */
  readonly vm: number;
  readonly hostIds: HostIds;
  /** What placing it changed, one line each. */
  readonly notes: readonly string[];
}

const key = (iommu: number, psid: number) => `${iommu}/${psid}`;

/** The VMs on one host; `renumber`: every VM's physical SIDs are reassigned, not only guessed ones. */
export function placeVms(vms: readonly VmSpec[], renumber = false): PlacedVm[] {
  const arch = vms[0]?.trace.header.arch;
  for (const v of vms) {
    if (v.trace.header.arch !== arch) {
      throw new InputFault({
        file: v.path,
        message: `shared host: this trace is ${v.trace.header.arch} but ${vms[0]!.path} is ${arch}: one host's IOMMUs are of one kind`,
      });
    }
  }
  const movable = (v: VmSpec) => renumber || v.topology.source === 'inferred';
  // Physical SIDs that are facts: each may belong to one VM only.
  const owner = new Map<string, string>();
  const used = new Map<number, Set<number>>();
  for (const v of vms) {
    if (movable(v)) continue;
    for (const d of v.topology.topology.devices) {
      const k = key(d.iommu, d.psid);
      const other = owner.get(k);
      if (other !== undefined && other !== v.path) {
        throw new InputFault({
          file: v.path,
          message: `shared host: physical SID ${hex(d.psid)} on IOMMU ${d.iommu} is also in ${other}: one device cannot be assigned to two VMs (give each trace its own --topology, or --renumber-psids)`,
        });
      }
      owner.set(k, v.path);
      (used.get(d.iommu) ?? used.set(d.iommu, new Set()).get(d.iommu)!).add(d.psid);
    }
  }
  let didBase = 2;
  return vms.map((v, vm): PlacedVm => {
    const notes: string[] = [];
    let devices: readonly DeviceSpec[] = v.topology.topology.devices;
    if (movable(v)) {
      devices = devices.map((d) => {
        const taken = used.get(d.iommu) ?? used.set(d.iommu, new Set()).get(d.iommu)!;
        let psid = d.psid;
        while (taken.has(psid)) psid++;
        taken.add(psid);
        if (psid !== d.psid)
          notes.push(
            `device ${hex(d.sid)}: physical SID ${hex(d.psid)} → ${hex(psid)} on IOMMU ${d.iommu} (${renumber ? '--renumber-psids' : 'inferred topology'}; another VM holds ${hex(d.psid)})`,
          );
        return psid === d.psid ? d : { ...d, psid };
      });
    }
    const arch = v.trace.header.arch;
    const iommus = v.topology.topology.iommus.map((m) => (arch === 'smmuv3' ? { ...m, vmid: vm + 1 } : m));
    if (arch === 'smmuv3' && vms.length > 1)
      notes.push(`VMID ${vm + 1} on ${iommus.length === 1 ? 'its SMMU' : `each of its ${iommus.length} SMMUs`}`);
    const firstDid = didBase;
    // A VM's nested HWPTs on one unit are at most one per device: the next VM starts past them.
    didBase += Math.max(1, devices.length);
    if (arch === 'vtd' && vms.length > 1) notes.push(`host DIDs from ${firstDid} on each unit`);
    const topology: Topology = { ...v.topology.topology, iommus, devices };
    return { ...v, vm, topology: { ...v.topology, topology }, hostIds: arch === 'vtd' ? { firstDid } : {}, notes };
  });
}

/** The physical IOMMU ids the VMs share, ascending. */
export function sharedUnits(vms: readonly PlacedVm[]): number[] {
  return [...new Set(vms.flatMap((v) => v.topology.topology.iommus.map((m) => m.id)))].sort((a, b) => a - b);
}
