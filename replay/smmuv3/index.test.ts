// The replay kit: the guest unit built from the guest's view of a topology and the host model.
import { describe, expect, it } from 'vitest';
import type { Topology } from '../../formats/trace/header.js';
import { GuestMemory } from '../memory.js';
import type { HostOp } from '../host.js';
import { smmuv3Kit } from './index.js';
import { cmd, SYNC } from './encode.js';

const TOPO: Topology = {
  iommus: [{ id: 0, vmid: 5 }],
  devices: [
    { sid: 0x8, psid: 0x408, iommu: 0, ats: true, domain: 3, hwpt: 0 },
    { sid: 0x10, psid: 0x410, iommu: 0, ats: false, domain: 4, hwpt: 0 },
  ],
};

describe('smmuv3Kit', () => {
  it('guestUnit: stage 1 only (QEMU virt), one STE per guest SID with the device ASID in CD 0', () => {
    const mem = new GuestMemory();
    mem.addRegion(0x1000_0000n, 16 * 16);
    const events: string[] = [];
    const u = smmuv3Kit.guestUnit(TOPO, mem, (e) => events.push(e.kind));
    u.configureQueue(0x1000_0000n, 16, 16);
    expect(u.translate(0x8, undefined, 0x1000n).ok).toBe(true);
    expect(u.translate(0x10, undefined, 0x1000n).ok).toBe(true);
    expect(u.translate(0x99, undefined, 0x1000n)).toEqual({ ok: false, fault: 'C_BAD_STREAMID' });
    expect(u.cached(0x8, undefined, 0x1000n)).toEqual({ iotlb: true, walk: true, config: true, atc: true });
    // The device's ASID tags its entries: NH_ASID 3 takes device 0x8's, not 0x10's.
    mem.writeWords(0x1000_0000n, cmd('CMD_TLBI_NH_ASID', { ASID: 3 }));
    mem.writeWords(0x1000_0010n, SYNC);
    mem.writeWords(0x1000_0020n, cmd('CMD_TLBI_S12_VMALL', { VMID: 0 })); // no stage 2 in the guest's SMMU
    u.writeProducer(3, 0);
    expect([u.cached(0x8, undefined, 0x1000n).iotlb, u.cached(0x10, undefined, 0x1000n).iotlb]).toEqual([false, true]);
    expect(u.consumer().error).toMatchObject({ code: 'CERROR_ILL', slot: 2 });
    expect(events).toEqual(['exec', 'exec', 'complete', 'error']);
  });

  it('host: the physical SMMU behind the devices, with the topology VMID and physical SIDs', () => {
    const ops: HostOp[] = [];
    const h = smmuv3Kit.host(TOPO, (o) => ops.push(o));
    expect(h.arch).toBe('smmuv3');
    expect(h.units).toHaveLength(1);
    expect(h.translate(0x8, undefined, 0x2000n).ok).toBe(true);
    expect(h.units[0]!.cached(0x408, undefined, 0x2000n).iotlb).toBe(true);
    const r = h.invalidate({
      id: h.objects[0]!.id,
      dataType: 1,
      entryLen: 16,
      entries: [cmd('CMD_TLBI_NH_ASID', { ASID: 3 })],
      entryNum: 1,
    });
    expect(r).toEqual({ errno: 0, entryNum: 1 });
    expect(h.cached(0x8, undefined, 0x2000n).iotlb).toBe(false);
    expect(ops.map((o) => o.kind)).toEqual(['ioctl', 'host_cmd', 'host_sync', 'host_doorbell']);
  });
});
