// Hands a run of forwarded guest commands to the host: entries grouped per iommufd object (one
// IOMMU_HWPT_INVALIDATE each, in order of first appearance), and the returned entry_num mapped
// back to guest queue positions through each entry's item. The first failing object stops the rest.

import type { Decoded } from '../../formats/codec/codec.js';
import type { PolicyContext } from '../policy.js';
import type { HwptInvalidate } from '../host.js';
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
  // Groups in order of first appearance: object ids, their entries, and the item each came from.
  const ids: number[] = [];
  const entries: HostInv['entry'][][] = [];
  const from: number[][] = [];
  // Entries of each item not handled yet; an item spread over several objects needs all.
  const left = new Int32Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const invs = items[i]!.invs;
    left[i] = invs.length;
    for (const inv of invs) {
      let g = ids.indexOf(inv.object);
      if (g < 0) {
        g = ids.push(inv.object) - 1;
        entries.push([]);
        from.push([]);
      }
      entries[g]!.push(inv.entry);
      from[g]!.push(i);
    }
  }
  let ioctls = 0;
  let failedAt: number | undefined;
  let failure: HostFailure | undefined;
  for (let g = 0; g < ids.length; g++) {
    const e = entries[g]!;
    const idx = from[g]!;
    const r = ctx.host.invalidate({ id: ids[g]!, dataType: ctx.vmm.dataType, entryLen: ctx.vmm.entryLen, entries: e, entryNum: e.length });
    ioctls++;
    const handled = Math.min(r.entryNum, e.length);
    for (let j = 0; j < handled; j++) left[idx[j]!]!--;
    if (r.errno !== 0) {
      const it = items[idx[Math.min(handled, idx.length - 1)]!]!;
      const f = ctx.vmm.hostFailure(r.errno, it.d);
      if (f !== undefined) {
        failedAt = it.pos;
        failure = f;
        break;
      }
      // The VMM logs the failure and carries on (VT-d, as QEMU does): the entries count as handled.
      for (let j = handled; j < idx.length; j++) left[idx[j]!]!--;
    }
  }
  for (let i = 0; i < items.length; i++) if (left[i] === 0) ctx.executed(items[i]!.pos);
  return failedAt !== undefined ? { ioctls, failedAt, failure } : clean(ioctls);
}

/**
 * One object's entries of a forwarded command, in the order the command's entries name them, as
 * the IOMMU_HWPT_INVALIDATE request that carries them (the host only reads a request).
 */
type Group = HwptInvalidate<HostInv['entry']>;

/**
 * One command's entries grouped per object in order of first appearance, kept per entry array: the
 * VMM's answers are shared per decoded command (vmm/memo.ts), so the same array comes back for
 * every write of the same command. A cache of answers about arrays nobody changes (their readers
 * only read), not shared state: the same array always groups the same way.
 */
const grouped = new WeakMap<readonly HostInv[], readonly Group[]>();

function groupsOf(invs: readonly HostInv[], dataType: number, entryLen: number): readonly Group[] {
  let out = grouped.get(invs);
  // An entry array belongs to one architecture's VMM, so its data type and entry size never change.
  if (out === undefined || (out.length > 0 && (out[0]!.dataType !== dataType || out[0]!.entryLen !== entryLen))) {
    const groups: Group[] = [];
    for (let i = 0; i < invs.length; i++) {
      const id = invs[i]!.object;
      if (firstOf(invs, i, id) !== i) continue; // this object's group was made with its first entry
      const entries: HostInv['entry'][] = [];
      for (let j = i; j < invs.length; j++) if (invs[j]!.object === id) entries.push(invs[j]!.entry);
      groups.push({ id, dataType, entryLen, entries, entryNum: entries.length });
    }
    grouped.set(invs, (out = groups));
  }
  return out;
}

/**
 * The same for one guest command (the per-command policies): every entry is that command's, so
 * it is handled when none is left over; one ioctl per object, its request made once per entry
 * array (groupsOf).
 */
function forwardOne(ctx: PolicyContext, it: Forwarded): ForwardOutcome {
  return forwardCommand(ctx, it.pos, it.d, it.invs);
}

/** forwardToHost of the one guest command at `pos` (`d`) whose host entries are `invs`. */
export function forwardCommand(ctx: PolicyContext, pos: number, d: Decoded, invs: readonly HostInv[]): ForwardOutcome {
  const groups = groupsOf(invs, ctx.vmm.dataType, ctx.vmm.entryLen);
  let left = invs.length;
  let ioctls = 0;
  for (let g = 0; g < groups.length; g++) {
    const req = groups[g]!;
    const n = req.entryNum;
    const r = ctx.host.invalidate(req);
    ioctls++;
    left -= Math.min(r.entryNum, n);
    if (r.errno !== 0) {
      const failure = ctx.vmm.hostFailure(r.errno, d);
      if (failure !== undefined) {
        if (left === 0) ctx.executed(pos); // every entry counted as handled all the same
        return { ioctls, failedAt: pos, failure };
      }
      // The VMM logs the failure and carries on (VT-d, as QEMU does): the entries count as handled.
      left -= n - Math.min(r.entryNum, n);
    }
  }
  if (left === 0) ctx.executed(pos);
  return clean(ioctls);
}

/** Index of the first entry going to object `id` (entries before `upTo` only). */
function firstOf(invs: readonly HostInv[], upTo: number, id: number): number {
  for (let j = 0; j < upTo; j++) if (invs[j]!.object === id) return j;
  return upTo;
}
