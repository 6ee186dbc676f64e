// The batched walk behind linear-batch and raw-ring: forwarded commands gathered into one host
// call per doorbell (per iommufd object), VMM-owned commands executed either in order (a batch
// ends before each) or in a prepass before the host call. The two policies differ in who finds
// illegal commands (the VMM while copying, or the host while walking the guest ring), in what the
// VMM pays per command, and in whether a batch may be split where the ring wraps.

import type { Decoded } from '../../formats/codec/codec.js';
import { ringIndex } from '../../formats/ring.js';
import type { PolicyContext } from '../policy.js';
import { forwardToHost, type Forwarded } from '../vmm/forward.js';
import { completionPoint, hostFailed, type VmmState } from './steps.js';

export interface BatchOptions {
  /** inorder: a batch ends before each VMM-owned command; prepass: the VMM runs its commands first. */
  readonly vmm: 'inorder' | 'prepass';
  /** Who detects illegal commands: the VMM (it decodes every command) or the host walking the ring. */
  readonly validator: 'vmm' | 'host';
  /** Split a batch where the ring wraps (two host calls instead of one). */
  readonly splitOnWrap: boolean;
}

/** What a batched walk does with a command: forward it (its host entries), or stop the batch there. */
type Step = Forwarded | 'vmm' | 'sync' | 'stop';

/** Classifies the command at `pos` for a batched walk, charging the VMM what it looks at. */
function step(ctx: PolicyContext, pos: number, o: BatchOptions): Step {
  const d = ctx.command(pos);
  const owner = ctx.vmm.owner(d);
  // linear-batch decodes every command to copy it; raw-ring's VMM only picks out its own.
  if (o.validator === 'vmm' || owner === 'vmm' || owner === 'sync') ctx.op('vmm_cmd', d.name);
  if (owner === 'vmm' || owner === 'sync') return owner;
  if (o.validator === 'host' && ctx.vmm.forwardRaw !== undefined) return { pos, d, invs: ctx.vmm.forwardRaw(d, ctx.host) };
  if (owner === 'illegal') return 'stop';
  return { pos, d, invs: ctx.vmm.forward(d, ctx.host, 'all') };
}

/** flush's answer when the batch went through (made once). */
const FLUSHED: { ok: boolean; failedAt?: number } = Object.freeze({ ok: true });

/** Host call(s) for a batch; false when the queue stopped at a failure. */
function flush(ctx: PolicyContext, st: VmmState, batch: Forwarded[], o: BatchOptions, entries: number): { ok: boolean; failedAt?: number } {
  if (batch.length === 0) return FLUSHED;
  let parts: Forwarded[][] = [batch];
  if (o.splitOnWrap) {
    parts = [];
    let cur: Forwarded[] = [];
    for (const it of batch) {
      if (cur.length > 0 && ringIndex(it.pos, entries) === 0) {
        parts.push(cur);
        cur = [];
      }
      cur.push(it);
    }
    parts.push(cur);
  }
  for (const part of parts) {
    const out = forwardToHost(ctx, part);
    if (out.failedAt !== undefined && !hostFailed(ctx, st, out.failedAt, out.failure!)) return { ok: false, failedAt: out.failedAt };
  }
  return FLUSHED;
}

export function walkBatched(ctx: PolicyContext, st: VmmState, prod: number, o: BatchOptions): void {
  const entries = ctx.header.queue_entries;
  if (o.vmm === 'prepass') return walkPrepass(ctx, st, prod, o, entries);
  let batch: Forwarded[] = [];
  for (let pos = ctx.cons; pos < prod; pos++) {
    const s = step(ctx, pos, o);
    if (typeof s !== 'string') {
      batch.push(s);
      continue;
    }
    const f = flush(ctx, st, batch, o, entries);
    if (!f.ok) return;
    if (batch.length > 0) {
      ctx.setCons(pos);
      batch = [];
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
function walkPrepass(ctx: PolicyContext, st: VmmState, prod: number, o: BatchOptions, entries: number): void {
  const batch: Forwarded[] = [];
  const syncs: number[] = [];
  let stopAt: number | undefined;
  let stopCmd: Decoded | undefined;
  for (let pos = ctx.cons; pos < prod; pos++) {
    const s = step(ctx, pos, o);
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
        syncs.push(pos);
        break;
      default:
        if (stopAt === undefined) batch.push(s); // the host walk ends at the stop
        break;
    }
  }
  const f = flush(ctx, st, batch, o, entries);
  const limit = Math.min(stopAt ?? prod, f.failedAt ?? prod);
  for (const s of syncs) {
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
