// Hands a run of forwarded guest commands to the host: entries grouped per iommufd object (one
// IOMMU_HWPT_INVALIDATE each, in order of first appearance), and the returned entry_num mapped
// back to guest queue positions through an index map. The first failing object stops the rest.

import type { Decoded } from '../../formats/codec/codec.js';
import type { PolicyContext } from '../policy.js';
import type { HostFailure, HostInv } from './arch.js';

/** A guest command and the host entries it became. */
export interface Forwarded {
  readonly pos: number;
  readonly d: Decoded;
  readonly invs: readonly HostInv[];
}

export interface ForwardOutcome {
  /** Position of the first guest command the host did not handle (its ioctl failed there). */
  readonly failedAt?: number;
  /** What the failure means to the guest (undefined: none, the VMM carries on). */
  readonly failure?: HostFailure;
  /** ioctls issued. */
  readonly ioctls: number;
}

/** Outcomes without a failure, by ioctl count (the usual answers, made once). */
const CLEAN: ForwardOutcome[] = [];
const clean = (ioctls: number): ForwardOutcome => (CLEAN[ioctls] ??= Object.freeze({ ioctls }));

export function forwardToHost(ctx: PolicyContext, items: readonly Forwarded[]): ForwardOutcome {
  if (items.length === 1) return forwardOne(ctx, items[0]!);
  const groups = new Map<number, { entries: HostInv['entry'][]; pos: number[] }>();
  for (const it of items) {
    for (const inv of it.invs) {
      let g = groups.get(inv.object);
      if (g === undefined) groups.set(inv.object, (g = { entries: [], pos: [] }));
      g.entries.push(inv.entry);
      g.pos.push(it.pos);
    }
  }
  // Positions whose entries were all handled; a position spread over several objects needs all.
  const unhandled = new Map<number, number>();
  for (const g of groups.values()) for (const p of g.pos) unhandled.set(p, (unhandled.get(p) ?? 0) + 1);
  let ioctls = 0;
  let failedAt: number | undefined;
  let failure: HostFailure | undefined;
  for (const [id, g] of groups) {
    const r = ctx.host.invalidate({
      id,
      dataType: ctx.vmm.dataType,
      entryLen: ctx.vmm.entryLen,
      entries: g.entries,
      entryNum: g.entries.length,
    });
    ioctls++;
    const handled = Math.min(r.entryNum, g.entries.length);
    for (let i = 0; i < handled; i++) unhandled.set(g.pos[i]!, unhandled.get(g.pos[i]!)! - 1);
    if (r.errno !== 0) {
      const pos = g.pos[Math.min(handled, g.pos.length - 1)]!;
      const d = items.find((it) => it.pos === pos)!.d;
      const f = ctx.vmm.hostFailure(r.errno, d);
      if (f !== undefined) {
        failedAt = pos;
        failure = f;
        break;
      }
      // The VMM logs the failure and carries on (VT-d, as QEMU does): the entries count as handled.
      for (let i = handled; i < g.pos.length; i++) unhandled.set(g.pos[i]!, unhandled.get(g.pos[i]!)! - 1);
    }
  }
  for (const it of items) if ((unhandled.get(it.pos) ?? 0) === 0) ctx.executed(it.pos);
  return failedAt !== undefined ? { ioctls, failedAt, failure } : clean(ioctls);
}

/**
 * The same for one guest command (the per-command policies): every entry is that command's, so
 * it is handled when none is left over; no Map, one entry array per object.
 */
function forwardOne(ctx: PolicyContext, it: Forwarded): ForwardOutcome {
  const invs = it.invs;
  let left = invs.length;
  let ioctls = 0;
  for (let i = 0; i < invs.length; i++) {
    const id = invs[i]!.object;
    if (firstOf(invs, i, id) !== i) continue; // this object's ioctl went out with its first entry
    const entries: HostInv['entry'][] = [];
    for (let j = i; j < invs.length; j++) if (invs[j]!.object === id) entries.push(invs[j]!.entry);
    const r = ctx.host.invalidate({ id, dataType: ctx.vmm.dataType, entryLen: ctx.vmm.entryLen, entries, entryNum: entries.length });
    ioctls++;
    left -= Math.min(r.entryNum, entries.length);
    if (r.errno !== 0) {
      const failure = ctx.vmm.hostFailure(r.errno, it.d);
      if (failure !== undefined) {
        if (left === 0) ctx.executed(it.pos); // every entry counted as handled all the same
        return { ioctls, failedAt: it.pos, failure };
      }
      // The VMM logs the failure and carries on (VT-d, as QEMU does): the entries count as handled.
      left -= entries.length - Math.min(r.entryNum, entries.length);
    }
  }
  if (left === 0) ctx.executed(it.pos);
  return clean(ioctls);
}

/** Index of the first entry going to object `id` (entries before `upTo` only). */
function firstOf(invs: readonly HostInv[], upTo: number, id: number): number {
  for (let j = 0; j < upTo; j++) if (invs[j]!.object === id) return j;
  return upTo;
}
