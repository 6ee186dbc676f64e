// raw-ring: the VMM hands the host the guest ring itself (base, size, cons, prod); the host walks
// it, wrap included, converts each invalidation and stops the consumer at the first command it
// cannot take. With vmm=prepass (default, the design of the seed discussion) the VMM first
// executes its own commands in a pass of its own — the hazard: a VMM-owned command after a
// failing invalidation has already taken effect. vmm=inorder stops the host walk before each
// VMM-owned command. The host reads the ring in place: no linear copy by the VMM, and the VMM
// decodes only the commands it owns.

import { checkVariant, variantChoice, type Policy, type Variant } from '../policy.js';
import { BatchBuffers, walkBatched, type BatchOptions } from './batched.js';
import { trappedPolicy, VmmState } from './steps.js';

export function rawRing(variant: Variant, name: string): Policy {
  checkVariant(variant, ['vmm'], name);
  const o: BatchOptions = {
    vmm: variantChoice(variant, 'vmm', ['prepass', 'inorder'] as const, name),
    validator: 'host',
    splitOnWrap: false,
  };
  const st = new VmmState();
  const buf = new BatchBuffers();
  return trappedPolicy(name, (ctx, prod) => walkBatched(ctx, st, prod, o, buf));
}
