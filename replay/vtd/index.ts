// The VT-d replay kit: the bare unit a guest queue meets and the Linux host model behind a VMM.
// The guest unit sees the VM's topology as the guest programmed it: a context entry per guest SID
// pointing at the device's domain (DID = DeviceSpec.domain), ATS where the device has it. Its
// queue is set up by the replay (configureQueue) from the trace header; the queue width picks the
// mode (256-bit: scalable mode, as Linux guests do on QEMU).

import type { Topology } from '../../formats/trace/header.js';
import type { HostIds, ReplayKit } from '../host.js';
import type { GuestMemory } from '../memory.js';
import type { EventSink } from '../unit.js';
import type { HostOpSink } from '../host.js';
import type { Arrangement } from '../vmm/arrangement.js';
import type { DeviceEntry } from './caches.js';
import { fetchShareOf } from '../prepared-fetch.js';
import { VtdHost } from './host.js';
import { VtdUnit } from './unit.js';

export { VtdUnit, type VtdUnitOptions } from './unit.js';
export {
  VtdHost,
  type VtdHostOptions,
  type VtdUserEntry,
  IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
  IOMMU_VTD_INV_FLAGS_LEAF,
  VTD_S1_INV_ENTRY_LEN,
} from './host.js';

/** The guest's context table: each device's guest SID → its guest domain. */
export function guestDevices(topology: Topology): [number, DeviceEntry][] {
  return topology.devices.map((d) => [d.sid, { did: d.domain, ats: d.ats }]);
}

export const vtdKit: ReplayKit = Object.freeze({
  arch: 'vtd' as const,
  guestUnit: (topology: Topology, mem: GuestMemory, events?: EventSink, exec?: boolean) =>
    new VtdUnit(mem, { devices: guestDevices(topology), events, name: 'guest', ...(exec !== undefined ? { exec } : {}) }),
  host: (topology: Topology, ops: HostOpSink, events?: EventSink, arrangement?: Arrangement, ids?: HostIds) =>
    new VtdHost(topology, ops, events, {
      unit: { fetchShare: fetchShareOf(topology) },
      ...(arrangement === undefined ? {} : { arrangement }),
      ...(ids?.firstDid === undefined ? {} : { firstDid: ids.firstDid }),
    }),
});
