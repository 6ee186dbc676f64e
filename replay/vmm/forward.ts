// Hands a run of forwarded guest commands to the host: entries grouped per iommufd object (one
// IOMMU_HWPT_INVALIDATE each, in order of first appearance), and the returned entry_num mapped
// back to guest queue positions through each entry's item. The first failing object stops the rest.
// A batched walk gathers its commands in a ForwardBatch whose arrays it keeps between doorbells.
// One command's requests are made once per decoded command and entry array (CommandGroups, kept
// by the walk's owner), found by the command's key (replay/decoded-table.ts), not hashed.

import type { Decoded } from '../../formats/codec/codec.js';
import { DecodedTable } from '../decoded-table.js';
import type { PolicyContext } from '../policy.js';
import { RequestMemo, type HwptInvalidate } from '../host.js';
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

/** The items to the host, through a batch of their own (walks that keep none; a hot walk keeps one). */
export function forwardToHost(ctx: PolicyContext, items: readonly Forwarded[]): ForwardOutcome {
  const batch = new ForwardBatch();
  for (const it of items) batch.push(it.pos, it.d, it.invs);
  return forwardRange(ctx, batch, 0, batch.length);
}

/** One object's request of a batch: a reused IOMMU_HWPT_INVALIDATE argument (entries[0, entryNum) are this call's). */
class GroupRequest implements HwptInvalidate<HostInv['entry']> {
  dataType = 0;
  entryLen = 0;
  entryNum = 0;
  /** Batch index (from `start`) of the item each entry came from, [0, entryNum). */
  readonly from: number[] = [];
  readonly entries: HostInv['entry'][] = [];
  /** The key of the command each entry came from (HwptInvalidate.entryKeys). */
  readonly entryKeys: number[] = [];
  constructor(public id: number) {}
}

/**
 * Forwarded guest commands gathered for the host, in arrays kept between doorbells: a batched walk
 * `clear`s it, `push`es each forwarded command, and hands ranges of it to the host
 * (`forwardRange`). The arrays, the per-object requests and their entry arrays keep their storage
 * (no array made or grown per doorbell once warm; docs/replayer.md, "The per-event path"). Slots
 * past `length` hold earlier doorbells' items and are never read.
 */
export class ForwardBatch {
  /** Items gathered, [0, length). */
  length = 0;
  /** The requests of a batch of one command (forwardRange hands it to forwardCommand). */
  readonly groups = new CommandGroups();
  private readonly positions: number[] = [];
  private readonly decoded: Decoded[] = [];
  private readonly hostInvs: (readonly HostInv[])[] = [];
  /** Each item's requests when its walk kept them (groupsOf its entries), else undefined. */
  private readonly hostGroups: (readonly Group[] | undefined)[] = [];
  /** Grouping scratch of `forwardRange`: requests by object in order of first appearance. */
  private readonly requests: GroupRequest[] = [];
  /** Entries of each item not handled yet (by index from `start`). */
  private left = new Int32Array(64);

  clear(): void {
    this.length = 0;
  }

  /** Adds the forwarded command at `pos`; `groups`: its requests, groupsOf(invs), if the walk keeps them. */
  push(pos: number, d: Decoded, invs: readonly HostInv[], groups?: readonly Group[]): void {
    const n = this.length;
    this.positions[n] = pos;
    this.decoded[n] = d;
    this.hostInvs[n] = invs;
    this.hostGroups[n] = groups;
    this.length = n + 1;
  }

  posAt(i: number): number {
    return this.positions[i]!;
  }

  dAt(i: number): Decoded {
    return this.decoded[i]!;
  }

  invsAt(i: number): readonly HostInv[] {
    return this.hostInvs[i]!;
  }

  groupsAt(i: number): readonly Group[] | undefined {
    return this.hostGroups[i];
  }

  /** The `n` requests of items [start, end), grouped per object in order of first appearance; fills `leftOf`. */
  group(start: number, end: number, dataType: number, entryLen: number): number {
    if (this.left.length < end - start) this.left = new Int32Array(Math.max(end - start, 2 * this.left.length));
    const left = this.left;
    const reqs = this.requests;
    let groups = 0;
    for (let i = start; i < end; i++) {
      const invs = this.hostInvs[i]!;
      const key = this.decoded[i]!.key;
      left[i - start] = invs.length;
      for (let k = 0; k < invs.length; k++) {
        const inv = invs[k]!;
        let g = 0;
        while (g < groups && reqs[g]!.id !== inv.object) g++;
        if (g === groups) {
          if (g === reqs.length) reqs.push(new GroupRequest(inv.object));
          const r = reqs[g]!;
          r.id = inv.object;
          r.dataType = dataType;
          r.entryLen = entryLen;
          r.entryNum = 0;
          groups++;
        }
        const r = reqs[g]!;
        r.entries[r.entryNum] = inv.entry;
        r.entryKeys[r.entryNum] = key;
        r.from[r.entryNum] = i - start;
        r.entryNum++;
      }
    }
    return groups;
  }

  request(g: number): GroupRequest {
    return this.requests[g]!;
  }

  /** Entries of item `start + i` not handled yet (after `group`). */
  get leftOf(): Int32Array {
    return this.left;
  }
}

/**
 * The items [start, end) of `batch` to the host: entries grouped per iommufd object (one
 * IOMMU_HWPT_INVALIDATE each, in order of first appearance), the returned entry_num mapped back to
 * guest queue positions through each entry's item. The first failing object stops the rest.
 */
export function forwardRange(ctx: PolicyContext, batch: ForwardBatch, start: number, end: number): ForwardOutcome {
  if (end - start === 1) {
    const kept = batch.groupsAt(start);
    if (kept !== undefined) return forwardGroups(ctx, kept, batch.invsAt(start).length, batch.posAt(start), batch.dAt(start));
    return forwardCommand(ctx, batch.groups, batch.posAt(start), batch.dAt(start), batch.invsAt(start));
  }
  const groups = batch.group(start, end, ctx.vmm.dataType, ctx.vmm.entryLen);
  // Entries of each item not handled yet; an item spread over several objects needs all.
  const left = batch.leftOf;
  let ioctls = 0;
  let failedAt: number | undefined;
  let failure: HostFailure | undefined;
  for (let g = 0; g < groups; g++) {
    const req = batch.request(g);
    const n = req.entryNum;
    const idx = req.from;
    const r = ctx.host.invalidate(req);
    ioctls++;
    const handled = Math.min(r.entryNum, n);
    for (let j = 0; j < handled; j++) left[idx[j]!]!--;
    if (r.errno !== 0) {
      const it = start + idx[Math.min(handled, n - 1)]!;
      const f = ctx.vmm.hostFailure(r.errno, batch.dAt(it));
      if (f !== undefined) {
        failedAt = batch.posAt(it);
        failure = f;
        break;
      }
      // The VMM logs the failure and carries on (VT-d, as QEMU does): the entries count as handled.
      for (let j = handled; j < n; j++) left[idx[j]!]!--;
    }
  }
  for (let i = start; i < end; i++) if (left[i - start] === 0) ctx.executed(batch.posAt(i));
  return failedAt !== undefined ? { ioctls, failedAt, failure } : clean(ioctls);
}

/**
 * One object's entries of a forwarded command, in the order the command's entries name them, as
 * the IOMMU_HWPT_INVALIDATE request that carries them (the host only reads a request).
 */
export type Group = HwptInvalidate<HostInv['entry']>;

/** A command's entry array and its requests (the entries of each object in order of first appearance). */
interface Grouping {
  readonly invs: readonly HostInv[];
  readonly groups: readonly Group[];
}

/**
 * One command's requests, made once per decoded command: the VMM's answers are shared per decoded
 * command (vmm/memo.ts), so the same entry array comes back for every write of the same command,
 * and it always groups the same way. Kept by a walk's owner (a policy instance: one queue run, one
 * host, one architecture), in a table by the command's key: an entry holds the array it was made
 * for, and another array for the same command (a policy joining entries of its own) replaces it.
 */
export class CommandGroups {
  private readonly table = new DecodedTable<Grouping>();

  of(d: Decoded, invs: readonly HostInv[], dataType: number, entryLen: number): readonly Group[] {
    let g = this.table.get(d);
    if (g === undefined || g.invs !== invs) this.table.set(d, (g = { invs, groups: groupsOf(invs, dataType, entryLen, d.key) }));
    return g.groups;
  }
}

/** `invs` (of the command whose key is `key`) grouped per object in order of first appearance, one request each. */
export function groupsOf(invs: readonly HostInv[], dataType: number, entryLen: number, key: number): readonly Group[] {
  const groups: Group[] = [];
  for (let i = 0; i < invs.length; i++) {
    const id = invs[i]!.object;
    if (firstOf(invs, i, id) !== i) continue; // this object's group was made with its first entry
    const entries: HostInv['entry'][] = [];
    for (let j = i; j < invs.length; j++) if (invs[j]!.object === id) entries.push(invs[j]!.entry);
    groups.push({ id, dataType, entryLen, entries, entryNum: entries.length, entryKeys: entries.map(() => key), memo: new RequestMemo() });
  }
  return groups;
}

/**
 * forwardToHost of the one guest command at `pos` (`d`) whose host entries are `invs`: one ioctl
 * per object, its request made once per command (`kept`, the walk owner's).
 */
export function forwardCommand(ctx: PolicyContext, kept: CommandGroups, pos: number, d: Decoded, invs: readonly HostInv[]): ForwardOutcome {
  return forwardGroups(ctx, kept.of(d, invs, ctx.vmm.dataType, ctx.vmm.entryLen), invs.length, pos, d);
}

/**
 * forwardCommand with the command's requests at hand (`groups`: groupsOf its `entries` host
 * entries), for a walk that keeps them with the rest of what it worked out for the command.
 */
export function forwardGroups(ctx: PolicyContext, groups: readonly Group[], entries: number, pos: number, d: Decoded): ForwardOutcome {
  let left = entries;
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
