// The host as one guest queue's vIOMMU instance sees it, in a trace with several (one vSMMU per
// pSMMU, guest visible): the same host model and physical units as every other queue (one VM,
// one VMM), but only the iommufd objects that hold this instance's devices, and a direct queue
// (VCMDQ) that is this instance's own — on the physical unit behind its devices, not every unit
// the VM spans (spec/smmuv3.md §5.4: a VCMDQ belongs to one SMMU's CMDQV). The VMM code is the
// same as with one queue: it invalidates on whatever objects the host lists.

import type { Topology } from '../formats/trace/header.js';
import type { HostModel } from './host.js';

export function queueHost(host: HostModel, topology: Topology): HostModel {
  const mine = new Set(topology.devices.map((d) => d.sid));
  const objects = host.objects
    .filter((o) => o.devices.some((s) => mine.has(s)))
    .map((o) => ({ ...o, devices: o.devices.filter((s) => mine.has(s)) }));
  const units = [...new Set(topology.devices.map((d) => d.iommu))];
  // hw-direct runs only when the queue's devices sit behind one unit (policies/hw-direct.ts).
  const own = units.length === 1 ? units[0] : undefined;
  const passEnd = host.directPassEnd?.bind(host);
  return {
    arch: host.arch,
    topology,
    units: host.units,
    objects,
    invalidate: (req) => host.invalidate(req),
    reattach: (sid) => host.reattach(sid),
    direct: (words, _iommu, key) => host.direct(words, own, key),
    ...(passEnd !== undefined ? { directPassEnd: () => passEnd(own) } : {}),
    setAtcTimeout: (sid, timedOut) => host.setAtcTimeout(sid, timedOut),
    translate: (sid, pasid, iova, page) => host.translate(sid, pasid, iova, page),
    cached: (sid, pasid, iova) => host.cached(sid, pasid, iova),
    ...(host.hits !== undefined
      ? {
          hits: (sid: number, pasid: number | undefined, iova: bigint, want?: number, page?: number) =>
            host.hits!(sid, pasid, iova, want, page),
        }
      : {}),
  };
}
