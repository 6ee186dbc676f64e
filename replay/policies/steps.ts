// Steps every policy shares: handling a completion point (with an ATC time-out deferred to it),
// a VMM-owned command, and an illegal one. Policies differ in how they batch forwarded commands.

import type { Decoded } from '../../formats/codec/codec.js';
import { DecodedTable } from '../decoded-table.js';
import type { Policy, PolicyContext } from '../policy.js';
import type { HostFailure, HostInv, Owner } from '../vmm/arch.js';
import type { Group } from '../vmm/forward.js';

/**
 * What a walk does with one decoded command, worked out once per command: who owns it and, for
 * a command it forwards, its host entries and their requests (groupsOf). One object found by one
 * look-up per command, where asking the VMM for the owner, then the entries, then the requests was
 * three tables of the policy's own (each cold again by the time the policy's next command comes:
 * the other policies ran in between).
 */
export interface WalkPlan {
  readonly owner: Owner;
  /** The host entries (none for a command the walk does not forward). */
  readonly invs: readonly HostInv[];
  /** Their requests, one per iommufd object. */
  readonly groups: readonly Group[];
}

/** A plan's entries and requests when there are none. */
export const NO_INVS: readonly HostInv[] = Object.freeze([]);
export const NO_GROUPS: readonly Group[] = Object.freeze([]);

/**
 * Per-run VMM state that outlives a doorbell: an SMMUv3 ATC time-out the host reported, to be
 * shown at the guest's next CMD_SYNC as CERROR_ATC_INV_SYNC (spec/smmuv3.md §1.3); and the walk's
 * plans (each forwarded command's requests to the host among them, made once).
 */
export class VmmState {
  /** The failure and the position of the command that caused it. */
  deferred: { readonly failure: HostFailure; readonly after: number } | undefined;
  /**
   * Plans by decoded command, for the walk options `plansFor` (a policy instance walks with one
   * set of options, so this is set once; other options start the table again). The instance serves
   * one queue run: one host, one VMM.
   */
  private plans = new DecodedTable<WalkPlan>();
  private plansFor: object | undefined;

  /** The plan kept for `d` under walk options `o`, if any. */
  planOf(d: Decoded, o: object): WalkPlan | undefined {
    if (this.plansFor !== o) {
      this.plansFor = o;
      this.plans = new DecodedTable<WalkPlan>();
      return undefined;
    }
    return this.plans.get(d);
  }

  /** Keeps `plan` for `d` (under the options of the last planOf). */
  keepPlan(d: Decoded, plan: WalkPlan): WalkPlan {
    this.plans.set(d, plan);
    return plan;
  }
}

/** A completion point at `pos`: completes, or stops there with a deferred error. False = stopped. */
export function completionPoint(ctx: PolicyContext, st: VmmState, pos: number): boolean {
  if (st.deferred !== undefined && pos > st.deferred.after) {
    ctx.raise(pos, st.deferred.failure.error);
    st.deferred = undefined;
    return false;
  }
  ctx.complete(pos);
  ctx.executed(pos);
  ctx.setCons(pos + 1);
  return true;
}

/** Records a host failure: shown now at `pos` (false: stopped), or deferred to the next sync. */
export function hostFailed(ctx: PolicyContext, st: VmmState, pos: number, f: HostFailure): boolean {
  if (f.atSync) {
    st.deferred = { failure: f, after: pos };
    return true;
  }
  ctx.raise(pos, f.error);
  return false;
}

/**
 * A policy whose VMM traps every doorbell (and the error acknowledgement, an MMIO write too) and
 * then walks the new entries its own way; while the guest's queue is stopped on an error, a
 * doorbell only traps.
 */
export function trappedPolicy(name: string, walk: (ctx: PolicyContext, prod: number) => void): Policy {
  return {
    name,
    doorbell(ctx, prod) {
      ctx.op('trap', 'doorbell');
      if (ctx.error === undefined) walk(ctx, prod);
    },
    ack(ctx, prod) {
      ctx.op('trap', 'error acknowledgement');
      walk(ctx, prod);
    },
  };
}
