// qemu-accel: QEMU as it is, per architecture (DESIGN.md "Mediation policies"; spec/smmuv3.md
// §6.1, spec/vtd.md §5.4 and §6). Every doorbell traps to QEMU, which reads each command.
//
// SMMUv3 (arm-smmuv3,accel=on with iommufd; hw/arm/smmuv3.c smmuv3_cmdq_consume):
// - TLBI_NH_ASID/NH_VA/NH_VAA/NH_ALL/NSNH_ALL and CFGI_CD/CD_ALL are each sent to the vIOMMU as
//   one IOMMU_HWPT_INVALIDATE with entry_num = 1 (hw/arm/smmuv3-accel.c smmuv3_accel_issue_inv_cmd);
//   a SID-based command for a device without a vDEVICE is skipped there.
// - ATC_INV is forwarded the same way only when the vSMMU advertises ATS (IDR0.ATS, set by
//   smmuv3-accel.c smmuv3_accel_idr_override from the `ats` property: here, when a device of the
//   topology has ATS); otherwise it is one of the commands smmuv3_cmdq_consume only traces
//   (trace_smmuv3_unhandled_cmd).
// - CFGI_STE/CFGI_STE_RANGE install the nested STE, i.e. attach the device's HWPT
//   (smmuv3-accel.c smmuv3_accel_install_ste / smmuv3_accel_install_ste_range).
// - CMD_SYNC completes inside the PROD write (nothing is outstanding; spec/smmuv3.md §6.1).
// - A failed ioctl, whatever its errno, becomes CERROR_ILL on that command with CONS left on it
//   (smmuv3_cmdq_consume breaks before queue_cons_incr): an ATC time-out is not deferred to the
//   next CMD_SYNC as CERROR_ATC_INV_SYNC, as hardware would.
// VT-d (intel-iommu with iommufd, hw/i386/intel_iommu.c and intel_iommu_accel.c):
// - nested (x-flts=on): a PASID-IOTLB descriptor goes, for every device whose cached PASID entry
//   has the same DID and PASID, to that device's own first-stage HWPT as one IOMMU_HWPT_INVALIDATE
//   with entry_num = 1 (intel_iommu_accel.c vtd_flush_host_piotlb_all_locked →
//   vtd_flush_host_piotlb_locked): N devices of a DID, N ioctls. A kernel error is only reported
//   with error_report_err ("trying to continue"); the wait still completes and the oracle says what
//   the guest loses.
// - device-TLB descriptors are not forwarded (vtd_process_device_iotlb_desc only notifies DEVIOTLB
//   listeners, vhost's; VFIO has none): the host flushes device TLBs with each IOTLB entry.
// - an IOTLB descriptor (second-stage / legacy mode) takes the shadow path (shadow.ts): caching mode,
//   a page-table walk and VFIO map/unmap per device. A legacy-mode trace is all shadow; the
//   summary's `path` says which path each run took.
// - context- and PASID-cache descriptors make QEMU re-attach devices; interrupt-entry-cache ones
//   stay in QEMU's interrupt remapping; waits complete locally.

import type { Decoded } from '../../formats/codec/codec.js';
import { checkVariant, type Policy, type PolicyContext, type PolicyDetail, type Variant } from '../policy.js';
import { objectsWithDevices, type HostInv } from '../vmm/arch.js';
import { forwardToHost } from '../vmm/forward.js';
import { MappedPages } from './mapping.js';
import { shadowCounters, shadowDetail, shadowInvalidation } from './shadow.js';
import { completionPoint, trappedPolicy, VmmState } from './steps.js';

class AccelStats {
  ioctls = 0;
  nestedDescriptors = 0;
  shadowDescriptors = 0;
  devtlbDropped = 0;
  atcIgnored = 0;
  readonly shadow = shadowCounters();
}

/** One forwarded SMMUv3 command: one ioctl per vIOMMU concerned, entry_num = 1. False: stopped. */
function smmuForward(ctx: PolicyContext, pos: number, d: Decoded, stats: AccelStats): boolean {
  const invs = ctx.vmm.forward(d, ctx.host, 'all');
  for (const inv of invs) {
    stats.ioctls++;
    const out = forwardToHost(ctx, [{ pos, d, invs: [inv] }]);
    if (out.failure !== undefined) {
      ctx.raise(pos, { code: 'CERROR_ILL', value: 1 }); // smmuv3_cmdq_consume: any ioctl failure
      return false;
    }
  }
  if (invs.length === 0) ctx.executed(pos); // no vIOMMU holds the device: skipped
  return true;
}

function smmuOne(ctx: PolicyContext, st: VmmState, pos: number, d: Decoded, stats: AccelStats): boolean {
  const owner = ctx.vmm.owner(d);
  if (owner === 'illegal') {
    ctx.raise(pos, ctx.vmm.illegal(d));
    return false;
  }
  if (owner === 'sync') return completionPoint(ctx, st, pos);
  if (owner === 'devtlb') {
    const atsAdvertised = ctx.topology.devices.some((x) => x.ats);
    if (atsAdvertised) {
      if (!smmuForward(ctx, pos, d, stats)) return false;
    } else {
      stats.atcIgnored++;
      ctx.executed(pos);
    }
  } else if (owner === 'host') {
    if (!smmuForward(ctx, pos, d, stats)) return false;
  } else {
    ctx.vmm.execute(d, ctx.host); // CFGI_STE(_RANGE): attach; PREFETCH, PRI_RESP ...: nothing
    ctx.executed(pos);
  }
  ctx.setCons(pos + 1);
  return true;
}

/** P-IOTLB: one ioctl per device of the DID, on that device's own HWPT. */
function vtdNested(ctx: PolicyContext, pos: number, d: Decoded, stats: AccelStats): void {
  stats.nestedDescriptors++;
  const did = Number(d.fields.DID);
  const perObject = new Map<number, HostInv>();
  for (const inv of ctx.vmm.forward(d, ctx.host, 'all')) perObject.set(inv.object, inv);
  let sent = 0;
  for (const dev of ctx.topology.devices) {
    if (dev.domain !== did) continue;
    for (const o of objectsWithDevices(ctx.host, [dev.sid])) {
      const inv = perObject.get(o.id);
      if (inv === undefined) continue;
      stats.ioctls++;
      sent++;
      forwardToHost(ctx, [{ pos, d, invs: [inv] }]); // errors only logged (hostFailure: undefined)
    }
  }
  if (sent === 0) ctx.executed(pos);
}

function vtdOne(ctx: PolicyContext, st: VmmState, pos: number, d: Decoded, mapped: MappedPages, stats: AccelStats): boolean {
  const owner = ctx.vmm.owner(d);
  if (owner === 'illegal') {
    ctx.raise(pos, ctx.vmm.illegal(d));
    return false;
  }
  if (owner === 'sync') return completionPoint(ctx, st, pos);
  if (d.name === 'p_iotlb_inv') vtdNested(ctx, pos, d, stats);
  else if (d.name === 'iotlb_inv') {
    stats.shadowDescriptors++;
    shadowInvalidation(ctx, pos, mapped, stats.shadow);
  } else if (owner === 'devtlb') {
    stats.devtlbDropped++;
    ctx.executed(pos);
  } else {
    ctx.vmm.execute(d, ctx.host);
    ctx.executed(pos);
  }
  ctx.setCons(pos + 1);
  return true;
}

export function qemuAccel(variant: Variant, name: string): Policy {
  checkVariant(variant, [], name);
  const st = new VmmState();
  const mapped = new MappedPages();
  const stats = new AccelStats();
  let arch: 'smmuv3' | 'vtd' | undefined;
  const walk = (ctx: PolicyContext, prod: number) => {
    arch = ctx.arch;
    for (let pos = ctx.cons; pos < prod; pos++) {
      const d = ctx.command(pos);
      ctx.op('vmm_cmd', d.name);
      const ok = ctx.arch === 'smmuv3' ? smmuOne(ctx, st, pos, d, stats) : vtdOne(ctx, st, pos, d, mapped, stats);
      if (!ok) return;
    }
  };
  return {
    ...trappedPolicy(name, walk),
    detail(): PolicyDetail {
      if (arch === 'smmuv3')
        return {
          path: 'accel (one IOMMU_HWPT_INVALIDATE per forwarded command)',
          forwarded_ioctls: stats.ioctls,
          atc_inv_ignored: stats.atcIgnored,
        };
      const path =
        stats.nestedDescriptors > 0 && stats.shadowDescriptors > 0
          ? 'nested + shadow'
          : stats.nestedDescriptors > 0
            ? 'nested (per-device P-IOTLB ioctls)'
            : 'shadow (legacy VT-d: caching mode, VFIO map/unmap)';
      return {
        path,
        nested_descriptors: stats.nestedDescriptors,
        nested_ioctls: stats.ioctls,
        shadow_descriptors: stats.shadowDescriptors,
        devtlb_not_forwarded: stats.devtlbDropped,
        ...shadowDetail(stats.shadow),
      };
    },
  };
}
