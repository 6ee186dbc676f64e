// hw-direct: hardware consumes the guest queue (VCMDQ-like, spec/smmuv3.md §5.4): no trap, no
// ioctl, hardware vSID→pSID and VMID/DID translation; the lower bound. Only the commands such
// queues accept go there; the rest take the trapped per-command path (a doorbell that carries any
// of them costs one trap). The hardware checks and errors are those of bare hardware: a refused
// descriptor stops the queue there; a device-TLB time-out aborts the pending waits and raises ITE
// when the pass ends (VT-d), or stops CONS at the CMD_SYNC with CERROR_ATC_INV_SYNC (SMMUv3).
// A direct queue belongs to one physical unit (a Tegra241 VCMDQ is a queue of one SMMU's CMDQV,
// §5.4): hw-direct is available only when each guest queue fronts devices behind one physical
// IOMMU and no two guest queues front the same one (a trace with one queue per vSMMU, one vSMMU
// per pSMMU: one direct queue per physical SMMU, replay/queue-host.ts); otherwise the replay
// leaves it out of the comparison and says why (docs/hosts.md).

import type { Topology } from '../../formats/trace/header.js';
import { checkVariant, type Policy, type PolicyContext, type PolicyFactory, type Variant } from '../policy.js';
import { handleOne, type WalkOptions } from './per-command.js';
import { completionPoint, VmmState } from './steps.js';

const TRAPPED: WalkOptions = { devtlb: 'forward', fanout: 'all' };

function walkDirect(ctx: PolicyContext, st: VmmState, prod: number): void {
  let trapped = false;
  for (let pos = ctx.cons; pos < prod; pos++) {
    const d = ctx.command(pos);
    const r = ctx.host.direct(ctx.vmm.directForm(d), undefined, d.key);
    if (r.accepted) {
      if (r.error !== undefined) {
        ctx.raise(pos, { code: r.error.code, value: r.error.value, ...(r.error.sid !== undefined ? { sid: r.error.sid } : {}) });
        return;
      }
      if (r.aborted) {
        // VT-d: the wait is fetched and stays pending; ITE at the end of the pass aborts it (§1.3).
        ctx.setCons(pos + 1);
        if (r.fence) break;
        continue;
      }
      if (ctx.vmm.owner(d) === 'sync') {
        if (!completionPoint(ctx, st, pos)) return;
        continue;
      }
      ctx.executed(pos);
      ctx.setCons(pos + 1);
      continue;
    }
    if (!trapped) {
      ctx.op('trap', 'doorbell of the emulated queue');
      trapped = true;
    }
    if (!handleOne(ctx, st, pos, TRAPPED)) return;
  }
  // The pass ends: a device-TLB time-out is reported now, with IQH where the fetch stopped.
  const end = ctx.host.directPassEnd?.();
  if (end !== undefined) ctx.raise(ctx.cons, { code: end.code, value: end.value, ...(end.sid !== undefined ? { sid: end.sid } : {}) });
}

/** Physical IOMMUs (topology ids) behind `sids`, ascending. */
function unitsOf(topology: Topology, sids: readonly number[]): number[] {
  const want = new Set(sids);
  return [...new Set(topology.devices.filter((d) => want.has(d.sid)).map((d) => d.iommu))].sort((a, b) => a - b);
}

/**
 * Why direct queues cannot stand for the guest's queues: a guest queue whose devices sit behind
 * more than one physical IOMMU (a direct queue executes on the one it belongs to), or — with
 * several guest queues (`queues`: the devices behind each) — a queue fronting no unit, or two
 * queues fronting the same one. Undefined: available, one direct queue per physical IOMMU.
 */
export function directQueueUnavailable(topology: Topology, queues?: readonly (readonly number[])[]): string | undefined {
  if (queues === undefined || queues.length <= 1) {
    const units = [...new Set(topology.devices.map((d) => d.iommu))].sort((a, b) => a - b);
    if (units.length <= 1) return undefined;
    return `a direct queue (VCMDQ) belongs to one physical IOMMU, but the guest's one queue fronts devices behind ${units.length} (ids ${units.join(', ')}); it would need a guest queue per physical IOMMU`;
  }
  const owner = new Map<number, number>();
  for (const [k, sids] of queues.entries()) {
    const units = unitsOf(topology, sids);
    if (units.length === 0) return `guest queue ${k} fronts no device, so no physical IOMMU's direct queue stands for it`;
    if (units.length > 1) {
      return `a direct queue (VCMDQ) belongs to one physical IOMMU, but guest queue ${k} fronts devices behind ${units.length} (ids ${units.join(', ')}); the guest's queues must map one to one onto physical IOMMUs`;
    }
    const prev = owner.get(units[0]!);
    if (prev !== undefined) {
      return `guest queues ${prev} and ${k} both front physical IOMMU ${units[0]}; one direct queue per physical IOMMU needs the guest's queues to map one to one onto them`;
    }
    owner.set(units[0]!, k);
  }
  return undefined;
}

function makeHwDirect(variant: Variant, name: string): Policy {
  checkVariant(variant, [], name);
  const st = new VmmState();
  return {
    name,
    doorbell(ctx, prod) {
      if (ctx.error === undefined) walkDirect(ctx, st, prod);
    },
    ack(ctx, prod) {
      walkDirect(ctx, st, prod);
    },
  };
}

export const hwDirect: PolicyFactory = Object.assign(makeHwDirect, {
  unavailable: (_v: Variant, t: Topology, queues?: readonly (readonly number[])[]) => directQueueUnavailable(t, queues),
});
