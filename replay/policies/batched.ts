// The batched walk behind linear-batch and raw-ring: forwarded commands gathered into one host
// call per doorbell (per iommufd object), VMM-owned commands executed either in order (a batch
// ends before each) or in a prepass before the host call. The two policies differ in who finds
// illegal commands (the VMM while copying, or the host while walking the guest ring), in what the
// VMM pays per command, and in whether a batch may be split where the ring wraps.

import type { Decoded } from '../../formats/codec/codec.js';
import { ringIndex } from '../../formats/ring.js';
import type { PolicyContext } from '../policy.js';
import type { HostInv } from '../vmm/arch.js';
import { ForwardBatch, forwardRange, groupsOf } from '../vmm/forward.js';
import { completionPoint, hostFailed, NO_GROUPS, NO_INVS, type VmmState, type WalkPlan } from './steps.js';

export interface BatchOptions {
  /** inorder: a batch ends before each VMM-owned command; prepass: the VMM runs its commands first. */
  readonly vmm: 'inorder' | 'prepass';
  /** Who detects illegal commands: the VMM (it decodes every command) or the host walking the ring. */
  readonly validator: 'vmm' | 'host';
  /** Split a batch where the ring wraps (two host calls instead of one). */
  readonly splitOnWrap: boolean;
}

/**
 * A batched walk's storage, kept by its policy instance between doorbells (a walk starts by
 * clearing it): the forwarded commands of the batch, and the prepass's completion points.
 */
export class BatchBuffers {
  readonly batch = new ForwardBatch();
  readonly syncs: number[] = [];
}

/** What a batched walk does with a command: forward it (its host entries), or stop the batch there. */
type Step = 'forward' | 'vmm' | 'sync' | 'stop';

/**
 * Classifies the command at `pos` for a batched walk, charging the VMM what it looks at; a
 * forwarded command joins `batch` when `keep`.
 */
function step(ctx: PolicyContext, st: VmmState, pos: number, o: BatchOptions, batch: ForwardBatch, keep: boolean): Step {
  const d = ctx.command(pos);
  const plan = st.planOf(d, o) ?? st.keepPlan(d, batchPlan(ctx, d, o));
  const owner = plan.owner;
  // linear-batch decodes every command to copy it; raw-ring's VMM only picks out its own.
  if (o.validator === 'vmm' || owner === 'vmm' || owner === 'sync') ctx.op('vmm_cmd', d.name);
  if (owner === 'vmm' || owner === 'sync') return owner;
  if (o.validator === 'host' && ctx.vmm.forwardRaw !== undefined) {
    if (keep) batch.push(pos, d, plan.invs, plan.groups);
    return 'forward';
  }
  if (owner === 'illegal') return 'stop';
  if (keep) batch.push(pos, d, plan.invs, plan.groups);
  return 'forward';
}

/**
 * What `step` does with `d` under options `o`, worked out once per command: its owner and the
 * host entries of a command the batch takes (raw, when the host walks the ring), with their
 * requests for a batch of that one command (forwardRange).
 */
function batchPlan(ctx: PolicyContext, d: Decoded, o: BatchOptions): WalkPlan {
  const owner = ctx.vmm.owner(d);
  if (owner === 'vmm' || owner === 'sync') return { owner, invs: NO_INVS, groups: NO_GROUPS };
  let invs: readonly HostInv[];
  if (o.validator === 'host' && ctx.vmm.forwardRaw !== undefined) invs = ctx.vmm.forwardRaw(d, ctx.host);
  else if (owner === 'illegal') return { owner, invs: NO_INVS, groups: NO_GROUPS };
  else invs = ctx.vmm.forward(d, ctx.host, 'all');
  return { owner, invs, groups: groupsOf(invs, ctx.vmm.dataType, ctx.vmm.entryLen, d.key) };
}

/** flush's answer when the batch went through (made once). */
const FLUSHED: { ok: boolean; failedAt?: number } = Object.freeze({ ok: true });

/** Host call(s) for a batch; false when the queue stopped at a failure. */
function flush(
  ctx: PolicyContext,
  st: VmmState,
  batch: ForwardBatch,
  o: BatchOptions,
  entries: number,
): { ok: boolean; failedAt?: number } {
  const n = batch.length;
  if (n === 0) return FLUSHED;
  // Parts: the whole batch, or (split on wrap) a new part at each item in ring slot 0 but the first.
  let from = 0;
  for (let i = 1; i <= n; i++) {
    if (i < n && (!o.splitOnWrap || ringIndex(batch.posAt(i), entries) !== 0)) continue;
    const out = forwardRange(ctx, batch, from, i);
    if (out.failedAt !== undefined && !hostFailed(ctx, st, out.failedAt, out.failure!)) return { ok: false, failedAt: out.failedAt };
    from = i;
  }
  return FLUSHED;
}

export function walkBatched(ctx: PolicyContext, st: VmmState, prod: number, o: BatchOptions, buf: BatchBuffers): void {
  const entries = ctx.header.queue_entries;
  if (o.vmm === 'prepass') return walkPrepass(ctx, st, prod, o, entries, buf);
  const batch = buf.batch;
  batch.clear();
  for (let pos = ctx.cons; pos < prod; pos++) {
    const s = step(ctx, st, pos, o, batch, true);
    if (s === 'forward') continue;
    const f = flush(ctx, st, batch, o, entries);
    if (!f.ok) return;
    if (batch.length > 0) {
      ctx.setCons(pos);
      batch.clear();
    }
    if (s === 'stop') {
      ctx.raise(pos, ctx.vmm.illegal(ctx.command(pos)));
      return;
    }
    if (s === 'sync') {
      if (!completionPoint(ctx, st, pos)) return;
      continue;
    }
    ctx.vmm.execute(ctx.command(pos), ctx.host);
    ctx.executed(pos);
    ctx.setCons(pos + 1);
  }
  if (flush(ctx, st, batch, o, entries).ok) ctx.setCons(prod);
}

/**
 * Prepass: the VMM executes its own commands first (a VMM that validates stops its pass at the
 * first illegal command; one that leaves that to the host does not), then one host call takes
 * every forwarded command; completion points before the first failure then complete.
 */
function walkPrepass(ctx: PolicyContext, st: VmmState, prod: number, o: BatchOptions, entries: number, buf: BatchBuffers): void {
  const batch = buf.batch;
  batch.clear();
  const syncs = buf.syncs;
  let nSyncs = 0;
  let stopAt: number | undefined;
  let stopCmd: Decoded | undefined;
  for (let pos = ctx.cons; pos < prod; pos++) {
    // The host walk ends at the stop: forwarded commands after it do not join the batch.
    const s = step(ctx, st, pos, o, batch, stopAt === undefined);
    if (s === 'stop') {
      if (stopAt === undefined) {
        stopAt = pos;
        stopCmd = ctx.command(pos);
      }
      if (o.validator === 'vmm') break;
      continue;
    }
    switch (s) {
      case 'vmm':
        ctx.vmm.execute(ctx.command(pos), ctx.host);
        ctx.executed(pos);
        break;
      case 'sync':
        syncs[nSyncs++] = pos;
        break;
      case 'forward':
        break;
    }
  }
  const f = flush(ctx, st, batch, o, entries);
  const limit = Math.min(stopAt ?? prod, f.failedAt ?? prod);
  for (let k = 0; k < nSyncs; k++) {
    const s = syncs[k]!;
    if (s >= limit) break;
    if (!completionPoint(ctx, st, s)) return;
  }
  if (!f.ok) return; // raised at the failure
  if (stopAt !== undefined && stopAt === limit) {
    ctx.setCons(stopAt);
    ctx.raise(stopAt, ctx.vmm.illegal(stopCmd!));
    return;
  }
  ctx.setCons(prod);
}
