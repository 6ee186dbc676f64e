// The SMMUv3 replay kit: bare hardware on the guest's own queue (the oracle's reference) and the
// Linux host model behind a mediating VMM.

import type { Topology } from '../../formats/trace/header.js';
import type { HostModel, HostOpSink, ReplayKit } from '../host.js';
import type { Arrangement } from '../vmm/arrangement.js';
import type { GuestMemory } from '../memory.js';
import type { EventSink, QueueUnit } from '../unit.js';
import { Smmuv3, type Smmuv3Options } from './emulator.js';
import { Smmuv3Host, type Smmuv3HostOptions } from './host.js';
import { GUEST_FEATURES } from './regs.js';
import { fetchShareOf } from '../prepared-fetch.js';

export { Smmuv3, QueueContext, type Compat, type Smmuv3Options } from './emulator.js';
export { Smmuv3Host, DATA_ARM_SMMUV3, ENTRY_LEN, BLOCK, type Smmuv3HostOptions } from './host.js';
export { GUEST_FEATURES, HOST_FEATURES, REG, type Smmuv3Features } from './regs.js';
export { steOf, type Ste, type SteSpec, type Cd, type PageTableModel, type BlockRegion } from './tables.js';

/**
 * The SMMU a guest sees, configured from the guest's view of the topology: stage 1 only, like
 * QEMU's virt SMMU (RIL, no HYP/MSI/SEV; ATS so that ATC_INV is accepted), one STE per guest SID
 * whose CD (SSID 0) carries the device's ASID (topology `domain`).
 */
export function guestSmmu(topology: Topology, mem: GuestMemory, opts: Smmuv3Options = {}): Smmuv3 {
  const unit = new Smmuv3(mem, { features: GUEST_FEATURES, ...opts });
  for (const d of topology.devices) unit.setSte(d.sid, { cds: { 0: d.domain }, ats: d.ats });
  return unit;
}

/** Kit with options: the compatibility mode of the guest unit, the host's queues and page tables. */
export function makeSmmuv3Kit(opts: { guest?: Omit<Smmuv3Options, 'events'>; host?: Smmuv3HostOptions } = {}): ReplayKit {
  return {
    arch: 'smmuv3',
    guestUnit(topology: Topology, mem: GuestMemory, events?: EventSink, exec?: boolean): QueueUnit {
      return guestSmmu(topology, mem, { ...opts.guest, ...(events ? { events } : {}), ...(exec !== undefined ? { exec } : {}) });
    },
    host(topology: Topology, ops: HostOpSink, events?: EventSink, arrangement?: Arrangement): HostModel {
      const share = { fetchShare: fetchShareOf(topology) };
      return new Smmuv3Host(
        topology,
        ops,
        events,
        arrangement === undefined ? { ...opts.host, ...share } : { ...opts.host, ...share, arrangement },
      );
    },
  };
}

/** The default kit: architectural behaviour (compat 'arch'), 256-entry physical queues. */
export const smmuv3Kit: ReplayKit = makeSmmuv3Kit();
