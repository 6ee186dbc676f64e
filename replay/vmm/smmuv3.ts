// The VMM's view of SMMUv3 guest commands (spec/smmuv3.md §5.1, §6.1 accel mode): the eight
// opcodes the kernel accepts are forwarded to the vIOMMU of each physical SMMU concerned; CFGI_STE
// and CFGI_STE_RANGE re-install nested STEs; PREFETCH, PRI_RESP, RESUME and STALL_TERM are
// handled by the VMM; CMD_SYNC is a completion point; everything the guest's vIOMMU does not
// advertise (GUEST_FEATURES, the same feature set bare hardware has: EL2/EL3 and stage-2 TLBIs,
// PRI_RESP without PRI) is CERROR_ILL, exactly where bare hardware refuses it.

import type { Decoded } from '../../formats/codec/codec.js';
import { SMMUV3 } from '../../formats/codecs.js';
import { steRangeIgnore } from '../../formats/smmuv3/scope.js';
import { fls64 } from '../../formats/bits.js';
import type { HostModel, Smmuv3InvEntry } from '../host.js';
import { GUEST_FEATURES, missingFeature } from '../smmuv3/regs.js';
import { objectsWithDevices, type Fanout, type HostInv, type Owner, type VmmArch } from './arch.js';

/** IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 (spec/smmuv3.md §5.1). */
export const SMMUV3_DATA_TYPE = 1;

const HOST_OPS = new Set(['CMD_TLBI_NSNH_ALL', 'CMD_TLBI_NH_VA', 'CMD_TLBI_NH_VAA', 'CMD_TLBI_NH_ALL', 'CMD_TLBI_NH_ASID', 'CMD_CFGI_CD', 'CMD_CFGI_CD_ALL']);
const VMM_OPS = new Set(['CMD_CFGI_STE', 'CMD_CFGI_STE_RANGE', 'CMD_PREFETCH_CONFIG', 'CMD_PREFETCH_ADDR', 'CMD_PRI_RESP', 'CMD_RESUME', 'CMD_STALL_TERM']);

const raw = (d: Decoded): Smmuv3InvEntry => [d.words[0]!, d.words[1]!];

function devicesOfAsid(host: HostModel, asid: number): number[] {
  return host.topology.devices.filter((x) => x.domain === asid).map((x) => x.sid);
}

/** The vIOMMUs an ASID-scoped TLBI must reach: those with a device of that ASID, else all. */
function asidTargets(host: HostModel, asid: number | undefined, fanout: Fanout): number[] {
  const objs = asid === undefined ? host.objects : objectsWithDevices(host, devicesOfAsid(host, asid));
  const ids = (objs.length > 0 ? objs : host.objects).map((o) => o.id);
  return fanout === 'first' ? ids.slice(0, 1) : ids;
}

/** Linux's ATC_INV encoding of a byte range (spec/smmuv3.md §3): SIZE = fls(first ^ last). */
export function atcInvFor(sid: number, base: bigint | undefined, bytes: bigint | undefined): Smmuv3InvEntry {
  if (base === undefined || bytes === undefined) {
    const all = SMMUV3.encode('CMD_ATC_INV', { SID: sid, SIZE: 52 });
    if (!all.ok) throw new Error(all.error.message);
    return [all.value[0]!, all.value[1]!];
  }
  const first = base >> 12n;
  const last = (base + bytes - 1n) >> 12n;
  const size = fls64(first ^ last);
  const r = SMMUV3.encode('CMD_ATC_INV', { SID: sid, SIZE: size, ADDR: (first >> BigInt(size)) << BigInt(size + 12) });
  if (!r.ok) throw new Error(r.error.message);
  return [r.value[0]!, r.value[1]!];
}

export const smmuv3Vmm: VmmArch = {
  arch: 'smmuv3',
  dataType: SMMUV3_DATA_TYPE,
  entryLen: 16,

  owner(d): Owner {
    if (d.error !== undefined) return 'illegal';
    if (missingFeature(d.name, GUEST_FEATURES) !== undefined) return 'illegal';
    if (d.name === 'CMD_SYNC') return 'sync';
    if (d.name === 'CMD_ATC_INV') return 'devtlb';
    if (HOST_OPS.has(d.name)) return 'host';
    if (VMM_OPS.has(d.name)) return 'vmm';
    return 'illegal'; // EL2/EL3/stage-2 TLBIs on a stage-1-only vSMMU
  },

  illegal: () => ({ code: 'CERROR_ILL', value: 1 }),

  // A CMDQV-aware guest writes CS=NONE into a CMD_SYNC for its VCMDQ (spec/smmuv3.md §2, §5.4).
  directForm: (d) => (d.name === 'CMD_SYNC' && d.error === undefined ? [d.words[0]! & ~(3n << 12n), d.words[1]!] : d.words),

  forwardRaw(d, host): HostInv[] {
    // The host's own conversion decides (spec/smmuv3.md §5.2 step 3): VMID forced, vSID looked up
    // (unknown → EIO), any other opcode → EIO, reserved bits passed to the physical queue.
    const sidBased = d.name === 'CMD_CFGI_CD' || d.name === 'CMD_CFGI_CD_ALL' || d.name === 'CMD_ATC_INV';
    const asidBased = d.name === 'CMD_TLBI_NH_VA' || d.name === 'CMD_TLBI_NH_ASID';
    const all = d.name === 'CMD_TLBI_NH_VAA' || d.name === 'CMD_TLBI_NH_ALL' || d.name === 'CMD_TLBI_NSNH_ALL';
    let ids: number[];
    if (sidBased) ids = objectsWithDevices(host, [Number(d.fields.SID)]).map((o) => o.id);
    else if (asidBased) ids = asidTargets(host, Number(d.fields.ASID), 'all');
    else if (all) ids = asidTargets(host, undefined, 'all');
    else ids = [];
    if (ids.length === 0) ids = host.objects.slice(0, 1).map((o) => o.id);
    return ids.map((object) => ({ object, entry: raw(d) }));
  },

  forward(d, host, fanout): HostInv[] {
    const f = d.fields;
    switch (d.name) {
      case 'CMD_TLBI_NH_VA':
      case 'CMD_TLBI_NH_ASID':
        return asidTargets(host, Number(f.ASID), fanout).map((object) => ({ object, entry: raw(d) }));
      case 'CMD_TLBI_NH_VAA':
      case 'CMD_TLBI_NH_ALL':
      case 'CMD_TLBI_NSNH_ALL':
        return asidTargets(host, undefined, fanout).map((object) => ({ object, entry: raw(d) }));
      case 'CMD_CFGI_CD':
      case 'CMD_CFGI_CD_ALL':
      case 'CMD_ATC_INV':
        // The vIOMMU holding the device's vDEVICE; a device without one is skipped (QEMU accel).
        return objectsWithDevices(host, [Number(f.SID)]).map((o) => ({ object: o.id, entry: raw(d) }));
      default:
        throw new Error(`smmuv3 VMM: ${d.name} is not forwarded`);
    }
  },

  execute(d, host): void {
    if (d.name === 'CMD_CFGI_STE') {
      const sid = Number(d.fields.SID);
      if (host.topology.devices.some((x) => x.sid === sid)) host.reattach(sid);
    } else if (d.name === 'CMD_CFGI_STE_RANGE') {
      const ign = steRangeIgnore(d.fields.RANGE ?? 0n);
      const sid = Number(d.fields.SID);
      for (const dev of host.topology.devices) if (((dev.sid ^ sid) & ~ign) === 0 || ign >= 0xffffffff) host.reattach(dev.sid);
    }
    // PREFETCH_*, PRI_RESP, RESUME, STALL_TERM: nothing reaches the host here.
  },

  hostFailure(errno, d) {
    // An ATC time-out shows as CERROR_ATC_INV_SYNC at the guest's next CMD_SYNC (spec §1.3).
    if (errno === 'ETIMEDOUT' && d.name === 'CMD_ATC_INV') return { error: { code: 'CERROR_ATC_INV_SYNC', value: 3, sid: Number(d.fields.SID) }, atSync: true };
    return { error: { code: 'CERROR_ILL', value: 1 }, atSync: false }; // QEMU accel: failed ioctl → CERROR_ILL
  },

  companionDevtlb(d, host): HostInv[] {
    const f = d.fields;
    let devices = host.topology.devices.filter((x) => x.ats);
    let base: bigint | undefined;
    let bytes: bigint | undefined;
    switch (d.name) {
      case 'CMD_TLBI_NH_VA': {
        devices = devices.filter((x) => x.domain === Number(f.ASID));
        const tg = f.TG ?? 0n;
        base = f.ADDR;
        bytes = tg === 0n ? 4096n : ((f.NUM ?? 0n) + 1n) << (f.SCALE ?? 0n) << (2n * tg + 10n);
        break;
      }
      case 'CMD_TLBI_NH_ASID':
        devices = devices.filter((x) => x.domain === Number(f.ASID));
        break;
      case 'CMD_TLBI_NH_VAA':
      case 'CMD_TLBI_NH_ALL':
      case 'CMD_TLBI_NSNH_ALL':
        break;
      default:
        return [];
    }
    return devices.flatMap((dev) =>
      objectsWithDevices(host, [dev.sid]).map((o) => ({ object: o.id, entry: atcInvFor(dev.sid, base, bytes) })),
    );
  },
};

