// The VMM's view of VT-d guest descriptors (spec/vtd.md §5): IOTLB and PASID-IOTLB descriptors
// become iommu_hwpt_vtd_s1_invalidate entries on the nested HWPTs of the guest domain; a
// device-TLB descriptor becomes an entry on the device's own nested HWPT (the host flushes device
// TLBs with every entry, §5.1); context-cache and PASID-cache descriptors make the VMM re-attach
// devices; interrupt-entry-cache descriptors stay in the VMM's interrupt remapping; waits are
// completion points. Failed ioctls are only logged, as QEMU does (§5.4). A descriptor the guest's
// vIOMMU refuses (descriptorFault with the guest unit's capabilities: reserved bits, AM above
// CAP.MAMV, page responses without ECAP.PRS) is IQE with the same IQEI as bare hardware.

import { U64_MAX } from '../../formats/bits.js';
import type { NamesWhere } from '../../formats/codec/table.js';
import { unreachable } from '../../formats/result.js';
import { CC_G, IOTLB_G, PC_G, PIOTLB_G, VTD_OPS, vtdOp } from '../../formats/vtd/descriptors.js';
import { devtlbRange, FM_IGNORE, psiRange } from '../../formats/vtd/scope.js';
import type { HostModel, VtdInvEntry } from '../host.js';
import { descriptorFault, GUEST_CAPS } from '../vtd/unit.js';
import type { Fanout, HostInv, Owner, VmmArch } from './arch.js';
import { targetsOf } from './targets.js';

/** IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 and sizeof(struct iommu_hwpt_vtd_s1_invalidate). */
export const VTD_DATA_TYPE = 0;
export const VTD_ENTRY_LEN = 24;
export const IOMMU_VTD_INV_FLAGS_LEAF = 1;

const ALL: VtdInvEntry = { addr: 0n, npages: U64_MAX, flags: 0, reserved: 0 };

function rangeEntry(base: bigint, bytes: bigint, leaf: boolean): VtdInvEntry {
  return { addr: base, npages: bytes / 4096n, flags: leaf ? IOMMU_VTD_INV_FLAGS_LEAF : 0, reserved: 0 };
}

/** The descriptors the host executes (owner column host or devtlb), and the VMM's own. */
type Forwarded = NamesWhere<typeof VTD_OPS, 'owner', 'host' | 'devtlb'>;
type VmmOwned = NamesWhere<typeof VTD_OPS, 'owner', 'vmm'>;

/** Nested HWPTs of a guest DID (all, or the first one only). */
function domainObjects(host: HostModel, did: number | undefined, fanout: Fanout): readonly number[] {
  const t = targetsOf(host);
  const ids = did === undefined ? t.all : t.ofObjectDomain(did);
  return fanout === 'first' && ids.length > 1 ? ids.slice(0, 1) : ids;
}

/** One host entry per target object, all the same. */
function to(ids: readonly number[], entry: VtdInvEntry): HostInv[] {
  const out: HostInv[] = new Array<HostInv>(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = { object: ids[i]!, entry };
  return out;
}

export const vtdVmm: VmmArch = {
  arch: 'vtd',
  dataType: VTD_DATA_TYPE,
  entryLen: VTD_ENTRY_LEN,

  owner(d): Owner {
    if (descriptorFault(d, GUEST_CAPS) !== undefined) return 'illegal';
    return vtdOp(d)!.owner; // the table's owner column (formats/vtd/descriptors.ts); no fault: the type has a row
  },
  illegal: (d) => ({ code: 'IQE', value: descriptorFault(d, GUEST_CAPS)?.iqei ?? 4 }),
  directForm: (d) => d.words,
  forward(d, host, fanout): HostInv[] {
    const op = vtdOp(d);
    if (op === undefined || (op.owner !== 'host' && op.owner !== 'devtlb')) throw new Error(`vtd VMM: ${d.name} is not forwarded`);
    const f = d.fields;
    const name: Forwarded = op.name;
    switch (name) {
      case 'iotlb_inv':
        if (f.G === IOTLB_G.GLOBAL) return to(domainObjects(host, undefined, 'all'), ALL);
        if (f.G === IOTLB_G.DOMAIN) return to(domainObjects(host, Number(f.DID), fanout), ALL);
        return to(domainObjects(host, Number(f.DID), fanout), rangeOrAll(psiRange(f), f.IH === 1n));
      case 'p_iotlb_inv':
        if (f.G !== PIOTLB_G.PAGE) return to(domainObjects(host, Number(f.DID), fanout), ALL);
        return to(domainObjects(host, Number(f.DID), fanout), rangeOrAll(psiRange(f), f.IH === 1n));
      case 'dev_tlb_inv':
      case 'p_dev_tlb_inv':
        return to(targetsOf(host).ofDevice(Number(f.SID)), rangeOrAll(devtlbRange(f), false));
      default:
        return unreachable(name);
    }
  },
  execute(d, host): void {
    const op = vtdOp(d);
    if (op?.owner !== 'vmm') return; // not the VMM's to execute
    const f = d.fields;
    const reattach = (pred: (sid: number, did: number) => boolean) => {
      for (const dev of host.topology.devices) if (pred(dev.sid, dev.domain)) host.reattach(dev.sid);
    };
    const name: VmmOwned = op.name;
    switch (name) {
      case 'cc_inv':
        if (f.G === CC_G.GLOBAL) reattach(() => true);
        else if (f.G === CC_G.DOMAIN) reattach((_s, did) => did === Number(f.DID));
        else {
          const ign = FM_IGNORE[Number(f.FM)]!;
          reattach((sid) => ((sid ^ Number(f.SID)) & ~ign) === 0);
        }
        return;
      case 'pc_inv':
        if (f.G === PC_G.GLOBAL) reattach(() => true);
        else reattach((_s, did) => did === Number(f.DID));
        return;
      case 'iec_inv': // the VMM's interrupt-remapping emulation
      case 'page_grp_resp': // PRI: no host invalidation
      case 'page_strm_resp':
        return;
      default:
        return unreachable(name);
    }
  },
  hostFailure: () => undefined,

  companionDevtlb: () => [],
};

function rangeOrAll(r: { base: bigint; bytes: bigint } | undefined, leaf: boolean): VtdInvEntry {
  return r === undefined ? ALL : rangeEntry(r.base, r.bytes, leaf);
}
