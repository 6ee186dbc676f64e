// hw-direct: hardware consumes the guest queue (VCMDQ-like, spec/smmuv3.md §5.4): no trap, no
// ioctl, hardware vSID→pSID and VMID/DID translation; the lower bound. Only the commands such
// queues accept go there; the rest take the trapped per-command path (a doorbell that carries any
// of them costs one trap).

import { checkVariant, type Policy, type PolicyContext, type Variant } from '../policy.js';
import { handleOne, type WalkOptions } from './per-command.js';
import { completionPoint, VmmState } from './steps.js';

const TRAPPED: WalkOptions = { devtlb: 'forward', fanout: 'all' };

function walkDirect(ctx: PolicyContext, st: VmmState, prod: number): void {
  let trapped = false;
  for (let pos = ctx.cons; pos < prod; pos++) {
    const d = ctx.command(pos);
    const r = ctx.host.direct(ctx.vmm.directForm(d));
    if (r.accepted) {
      if (r.error !== undefined) {
        ctx.raise(pos, { code: r.error.code, value: r.error.value });
        return;
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
}

export function hwDirect(variant: Variant, name: string): Policy {
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
