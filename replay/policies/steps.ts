// Steps every policy shares: handling a completion point (with an ATC time-out deferred to it),
// a VMM-owned command, and an illegal one. Policies differ in how they batch forwarded commands.

import type { Policy, PolicyContext } from '../policy.js';
import type { HostFailure } from '../vmm/arch.js';
import { CommandGroups } from '../vmm/forward.js';

/**
 * Per-run VMM state that outlives a doorbell: an SMMUv3 ATC time-out the host reported, to be
 * shown at the guest's next CMD_SYNC as CERROR_ATC_INV_SYNC (spec/smmuv3.md §1.3); and each
 * forwarded command's requests to the host, made once (per-command.ts handleOne).
 */
export class VmmState {
  /** The failure and the position of the command that caused it. */
  deferred: { readonly failure: HostFailure; readonly after: number } | undefined;
  readonly groups = new CommandGroups();
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
