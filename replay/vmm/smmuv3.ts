// The VMM's view of SMMUv3 guest commands (spec/smmuv3.md §5.1, §6.1 accel mode): the eight
// opcodes the kernel accepts are forwarded to the vIOMMU of each physical SMMU concerned; CFGI_STE
// and CFGI_STE_RANGE re-install nested STEs; PREFETCH, PRI_RESP, RESUME and STALL_TERM are
// handled by the VMM; CMD_SYNC is a completion point; everything the guest's vIOMMU does not
// advertise (GUEST_FEATURES, the same feature set bare hardware has: EL2/EL3 and stage-2 TLBIs,
// PRI_RESP without PRI) is CERROR_ILL, exactly where bare hardware refuses it.

import type { Decoded } from '../../formats/codec/codec.js';
import { SMMUV3 } from '../../formats/codecs.js';
import { SMMUV3_OPS, smmuv3Op } from '../../formats/smmuv3/commands.js';
import type { NamesWhere } from '../../formats/codec/table.js';
import { unreachable } from '../../formats/result.js';
import type { AddrRange } from '../../formats/scope.js';
import { steRangeIgnore, tlbiRange } from '../../formats/smmuv3/scope.js';
import { fls64 } from '../../formats/bits.js';
import type { HostModel, Smmuv3InvEntry } from '../host.js';
import { GUEST_FEATURES, missingFeatures } from '../smmuv3/regs.js';
import type { Fanout, HostInv, Owner, VmmArch } from './arch.js';
import { targetsOf } from './targets.js';

/** What the vIOMMU (GUEST_FEATURES) refuses, by command. */
const guestMissing = missingFeatures(GUEST_FEATURES);

/** IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 (spec/smmuv3.md §5.1). */
export const SMMUV3_DATA_TYPE = 1;

/** The commands the host executes (owner column host or devtlb). */
type Forwarded = NamesWhere<typeof SMMUV3_OPS, 'owner', 'host' | 'devtlb'>;
/** The commands the VMM executes itself (owner column vmm). */
type VmmOwned = NamesWhere<typeof SMMUV3_OPS, 'owner', 'vmm'>;

/**
 * The vIOMMUs a forwarded command goes to: those holding a device of its ASID, every one, or the
 * one holding the vDEVICE of its SID (QEMU accel; the kernel's conversion in spec/smmuv3.md §5.2).
 */
const TARGET: { readonly [N in Forwarded]: 'asid' | 'all' | 'sid' } = {
  CMD_TLBI_NH_VA: 'asid',
  CMD_TLBI_NH_ASID: 'asid',
  CMD_TLBI_NH_VAA: 'all',
  CMD_TLBI_NH_ALL: 'all',
  CMD_TLBI_NSNH_ALL: 'all',
  CMD_CFGI_CD: 'sid',
  CMD_CFGI_CD_ALL: 'sid',
  CMD_ATC_INV: 'sid',
};

/** The forwarded command's row, or undefined for a command the host does not take. */
function forwarded(d: Decoded): Forwarded | undefined {
  const op = smmuv3Op(d);
  return op !== undefined && (op.owner === 'host' || op.owner === 'devtlb') ? op.name : undefined;
}

function targets(d: Decoded, name: Forwarded, host: HostModel, fanout: Fanout): readonly number[] {
  const target = TARGET[name];
  switch (target) {
    case 'asid':
      return asidTargets(host, Number(d.fields.ASID), fanout);
    case 'all':
      return asidTargets(host, undefined, fanout);
    // The vIOMMU holding the device's vDEVICE; a device without one is skipped (QEMU accel).
    case 'sid':
      return targetsOf(host).ofDevice(Number(d.fields.SID));
    default:
      return unreachable(target);
  }
}

/** The guest command as its host entry: its two words (the decoded command's own, when it has just those). */
const raw = (d: Decoded): Smmuv3InvEntry => (d.words.length === 2 ? (d.words as unknown as Smmuv3InvEntry) : [d.words[0]!, d.words[1]!]);

/** The vIOMMUs an ASID-scoped TLBI must reach: those with a device of that ASID, else all. */
function asidTargets(host: HostModel, asid: number | undefined, fanout: Fanout): readonly number[] {
  const t = targetsOf(host);
  const mine = asid === undefined ? t.all : t.ofDomainDevices(asid);
  const ids = mine.length > 0 ? mine : t.all;
  return fanout === 'first' && ids.length > 1 ? ids.slice(0, 1) : ids;
}

/** One host entry per target object, all of the same guest command. */
function toEach(ids: readonly number[], entry: Smmuv3InvEntry): HostInv[] {
  const out: HostInv[] = new Array<HostInv>(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = { object: ids[i]!, entry };
  return out;
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
    const op = smmuv3Op(d);
    if (op === undefined || d.error !== undefined) return 'illegal';
    if (guestMissing(op.name) !== undefined) return 'illegal';
    return op.owner; // the table's owner column (formats/smmuv3/commands.ts)
  },
  illegal: () => ({ code: 'CERROR_ILL', value: 1 }),
  // A CMDQV-aware guest writes CS=NONE into a CMD_SYNC for its VCMDQ (spec/smmuv3.md §2, §5.4).
  directForm: (d) => (d.name === 'CMD_SYNC' && d.error === undefined ? [d.words[0]! & ~(3n << 12n), d.words[1]!] : d.words),
  forwardRaw(d, host): HostInv[] {
    // The host's own conversion decides (spec/smmuv3.md §5.2 step 3): VMID forced, vSID looked up
    // (unknown → EIO), any other opcode → EIO, reserved bits passed to the physical queue.
    const name = forwarded(d);
    let ids = name === undefined ? [] : targets(d, name, host, 'all');
    if (ids.length === 0) ids = targetsOf(host).all.slice(0, 1);
    return toEach(ids, raw(d));
  },
  forward(d, host, fanout): HostInv[] {
    const name = forwarded(d);
    if (name === undefined) throw new Error(`smmuv3 VMM: ${d.name} is not forwarded`);
    return toEach(targets(d, name, host, fanout), raw(d));
  },
  execute(d, host): void {
    const op = smmuv3Op(d);
    if (op?.owner !== 'vmm') return; // not the VMM's to execute
    const name: VmmOwned = op.name;
    switch (name) {
      case 'CMD_CFGI_STE': {
        const sid = Number(d.fields.SID);
        if (host.topology.devices.some((x) => x.sid === sid)) host.reattach(sid);
        return;
      }
      case 'CMD_CFGI_STE_RANGE': {
        const ign = steRangeIgnore(d.fields.RANGE ?? 0n);
        const sid = Number(d.fields.SID);
        for (const dev of host.topology.devices) if (((dev.sid ^ sid) & ~ign) === 0 || ign >= 0xffffffff) host.reattach(dev.sid);
        return;
      }
      case 'CMD_PREFETCH_CONFIG':
      case 'CMD_PREFETCH_ADDR':
      case 'CMD_PRI_RESP':
      case 'CMD_RESUME':
      case 'CMD_STALL_TERM':
        return; // nothing reaches the host
      default:
        return unreachable(name);
    }
  },
  hostFailure(errno, d) {
    // An ATC time-out shows as CERROR_ATC_INV_SYNC at the guest's next CMD_SYNC (spec §1.3).
    if (errno === 'ETIMEDOUT' && d.name === 'CMD_ATC_INV')
      return { error: { code: 'CERROR_ATC_INV_SYNC', value: 3, sid: Number(d.fields.SID) }, atSync: true };
    return { error: { code: 'CERROR_ILL', value: 1 }, atSync: false }; // QEMU accel: failed ioctl → CERROR_ILL
  },

  companionDevtlb(d, host): HostInv[] {
    const name = forwarded(d);
    if (name === undefined) return [];
    const f = d.fields;
    let devices = host.topology.devices.filter((x) => x.ats);
    let range: AddrRange | undefined;
    switch (name) {
      case 'CMD_TLBI_NH_VA':
        devices = devices.filter((x) => x.domain === Number(f.ASID));
        range = tlbiRange(f).range;
        break;
      case 'CMD_TLBI_NH_ASID':
        devices = devices.filter((x) => x.domain === Number(f.ASID));
        break;
      case 'CMD_TLBI_NH_VAA':
      case 'CMD_TLBI_NH_ALL':
      case 'CMD_TLBI_NSNH_ALL':
        break;
      case 'CMD_CFGI_CD':
      case 'CMD_CFGI_CD_ALL':
      case 'CMD_ATC_INV':
        return []; // no IOTLB entries go: nothing cached from them in an ATC
      default:
        return unreachable(name);
    }
    return devices.flatMap((dev) =>
      targetsOf(host)
        .ofDevice(dev.sid)
        .map((object) => ({ object, entry: atcInvFor(dev.sid, range?.base, range?.bytes) })),
    );
  },
};
