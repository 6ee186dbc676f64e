// kernel-ring: the in-kernel short path (seed 000: "the symmetry of the SW path" with VCMDQ; a
// framework like vhost-iommu). The guest's doorbell exits to the host kernel (KVM ioeventfd-like:
// trap_kernel), not to the VMM. The kernel walks the guest ring in its native format from CONS to
// PROD, wrap included (positions are absolute; the slot is pos mod entries), and executes each
// invalidation through the VM's vIOMMU objects as kernel code: no ioctl, no copy from user space,
// the same conversion and host-queue work as IOMMU_HWPT_INVALIDATE (host model). Consecutive
// invalidations go to the host in one batch per object, ended by a completion point, a VMM-owned
// command or the end of the new entries.
// Errors: the kernel validates each command as the hardware does and stops the consumer at a
// failing one with the hardware's error (CERROR_ILL / IQE), nothing after it taking effect; a host
// failure is shown as hardware would (SMMUv3 ATC time-out: CERROR_ATC_INV_SYNC at the next CMD_SYNC).
// VMM-owned commands (SMMUv3 CFGI_STE*, VT-d context/PASID-cache and interrupt-entry-cache
// invalidations): the batch before is flushed, the kernel exits to the VMM (a user-space exit,
// trap_user), the VMM executes the command and resumes the kernel walk after it. In order: unlike
// raw-ring's VMM prepass, nothing after a failing command has taken effect.

import type { Decoded } from '../../formats/codec/codec.js';
import { checkVariant, type Policy, type PolicyContext, type Variant } from '../policy.js';
import { ForwardBatch, forwardRange } from '../vmm/forward.js';
import { counters } from './counters.js';
import { completionPoint, hostFailed, VmmState } from './steps.js';

const kernelCounters = () => counters('kernel_batches', 'kernel_commands', 'vmm_exits');
type KernelStats = ReturnType<typeof kernelCounters>;

/** The batch to the host as kernel code; false when the queue stopped. */
function flush(ctx: PolicyContext, st: VmmState, batch: ForwardBatch, stats: KernelStats): boolean {
  if (batch.length === 0) return true;
  stats.kernel_batches++;
  const out = ctx.inKernel(() => forwardRange(ctx, batch, 0, batch.length));
  batch.clear();
  if (out.failedAt !== undefined && !hostFailed(ctx, st, out.failedAt, out.failure!)) return false;
  return true;
}

function walkKernel(ctx: PolicyContext, st: VmmState, prod: number, stats: KernelStats, batch: ForwardBatch): void {
  batch.clear();
  let start = ctx.cons;
  const advance = (to: number) => {
    if (to > start) ctx.setCons(to);
    start = to;
  };
  for (let pos = ctx.cons; pos < prod; pos++) {
    const d: Decoded = ctx.command(pos);
    const owner = ctx.vmm.owner(d);
    stats.kernel_commands++;
    if (owner === 'host' || owner === 'devtlb') {
      batch.push(pos, d, ctx.vmm.forward(d, ctx.host, 'all'));
      continue;
    }
    if (!flush(ctx, st, batch, stats)) return;
    advance(pos);
    if (owner === 'illegal') {
      ctx.raise(pos, ctx.vmm.illegal(d)); // the consumer stops here, as on hardware
      return;
    }
    if (owner === 'sync') {
      if (!completionPoint(ctx, st, pos)) return;
      start = pos + 1;
      continue;
    }
    // A command the VMM owns: exit to user space, the VMM runs it, the kernel resumes after it.
    stats.vmm_exits++;
    ctx.op('trap', `exit to the VMM for ${d.name}`);
    ctx.op('vmm_cmd', d.name);
    ctx.vmm.execute(d, ctx.host);
    ctx.executed(pos);
    advance(pos + 1);
  }
  if (flush(ctx, st, batch, stats)) advance(prod);
}

export function kernelRing(variant: Variant, name: string): Policy {
  checkVariant(variant, [], name);
  const st = new VmmState();
  const stats = kernelCounters();
  // The batch's storage, kept between doorbells (each walk clears it).
  const batch = new ForwardBatch();
  return {
    name,
    doorbell(ctx, prod) {
      ctx.op('trap_kernel', 'doorbell handled in the host kernel');
      if (ctx.error === undefined) walkKernel(ctx, st, prod, stats, batch);
    },
    ack(ctx, prod) {
      ctx.op('trap_kernel', 'error acknowledgement handled in the host kernel');
      walkKernel(ctx, st, prod, stats, batch);
    },
    detail: () => ({ ...stats }),
  };
}
