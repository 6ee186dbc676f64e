// per-command: the VMM walks the new entries and makes one ioctl per invalidation command (per
// iommufd object it concerns), as QEMU's SMMUv3 accel mode does today (spec/smmuv3.md §6.1). The
// same walk with device-TLB commands dropped and IOTLB invalidations sent to one nested object
// is devtlb-nop.

import { checkVariant, variantChoice, type Policy, type PolicyContext, type Variant } from '../policy.js';
import type { Decoded } from '../../formats/codec/codec.js';
import type { Fanout, HostInv } from '../vmm/arch.js';
import { forwardGroups, groupsOf } from '../vmm/forward.js';
import { DecodedTable } from '../decoded-table.js';
import { completionPoint, hostFailed, NO_GROUPS, NO_INVS, trappedPolicy, VmmState, type WalkPlan } from './steps.js';

export interface WalkOptions {
  /** Device-TLB/ATC invalidations: forwarded, or completed as no-ops (devtlb-nop). */
  readonly devtlb: 'forward' | 'nop';
  readonly fanout: Fanout;
  /**
   * devtlb-nop: each decoded command's forwarded entries and their companions joined once (both
   * are kept per command, vmm/memo.ts; the policy instance serves one queue run, one host).
   */
  readonly joined?: DecodedTable<readonly HostInv[]>;
}

/** Processes [ctx.cons, prod) one command at a time. */
export function walkPerCommand(ctx: PolicyContext, st: VmmState, prod: number, o: WalkOptions, only?: (pos: number) => boolean): void {
  for (let pos = ctx.cons; pos < prod; pos++) {
    if (only && !only(pos)) continue;
    if (!handleOne(ctx, st, pos, o)) return;
  }
}

/** One guest command through the trapped path. False: the queue stopped. */
export function handleOne(ctx: PolicyContext, st: VmmState, pos: number, o: WalkOptions): boolean {
  const d = ctx.command(pos);
  ctx.op('vmm_cmd', d.name);
  const plan = st.planOf(d, o) ?? st.keepPlan(d, walkPlan(ctx, d, o));
  const owner = plan.owner;
  if (owner === 'illegal') {
    ctx.raise(pos, ctx.vmm.illegal(d));
    return false;
  }
  if (owner === 'sync') return completionPoint(ctx, st, pos);
  if (owner === 'vmm' || (owner === 'devtlb' && o.devtlb === 'nop')) {
    if (owner === 'vmm') ctx.vmm.execute(d, ctx.host);
    ctx.executed(pos);
  } else {
    const out = forwardGroups(ctx, plan.groups, plan.invs.length, pos, d);
    if (out.failure && !hostFailed(ctx, st, pos, out.failure)) return false;
  }
  ctx.setCons(pos + 1);
  return true;
}

/** What handleOne does with `d` under options `o`: its owner and, when forwarded, its entries and requests. */
function walkPlan(ctx: PolicyContext, d: Decoded, o: WalkOptions): WalkPlan {
  const owner = ctx.vmm.owner(d);
  if (owner !== 'host' && owner !== 'devtlb') return { owner, invs: NO_INVS, groups: NO_GROUPS };
  if (owner === 'devtlb' && o.devtlb === 'nop') return { owner, invs: NO_INVS, groups: NO_GROUPS };
  const invs = o.devtlb === 'nop' ? nopEntries(ctx, d, o) : ctx.vmm.forward(d, ctx.host, o.fanout);
  return { owner, invs, groups: groupsOf(invs, ctx.vmm.dataType, ctx.vmm.entryLen, d.key) };
}

/** devtlb-nop's host entries of `d`: its forwarded entries, then the VMM's companion ATC invalidations. */
function nopEntries(ctx: PolicyContext, d: Decoded, o: WalkOptions): readonly HostInv[] {
  let invs = o.joined?.get(d);
  if (invs === undefined) {
    invs = ctx.vmm.forward(d, ctx.host, o.fanout).concat(ctx.vmm.companionDevtlb(d, ctx.host));
    o.joined?.set(d, invs);
  }
  return invs;
}

export function perCommand(variant: Variant, name: string): Policy {
  checkVariant(variant, [], name);
  const st = new VmmState();
  const o: WalkOptions = { devtlb: 'forward', fanout: 'all' };
  return trappedPolicy(name, (ctx, prod) => walkPerCommand(ctx, st, prod, o));
}

/**
 * devtlb-nop: one host invalidation per IOTLB descriptor, which (VT-d) also flushes the device
 * TLBs of every device attached to that nested domain; device-TLB descriptors become no-ops.
 * On SMMUv3 the host does not flush ATCs by itself, so the VMM adds ATC_INVs for the ATS devices
 * of the domain to the same ioctl (the same idea applied to ATC_INV). Variant fanout=first|all:
 * whether an IOTLB invalidation goes to the first nested object of the guest domain only (one
 * host invalidation, the design as proposed) or to all of them.
 */
export function devtlbNop(variant: Variant, name: string): Policy {
  checkVariant(variant, ['fanout'], name);
  const st = new VmmState();
  const o: WalkOptions = {
    devtlb: 'nop',
    fanout: variantChoice(variant, 'fanout', ['first', 'all'] as const, name),
    joined: new DecodedTable(),
  };
  return trappedPolicy(name, (ctx, prod) => walkPerCommand(ctx, st, prod, o));
}
