// linear-batch: the VMM scans cons→prod, executes the commands it owns and copies the
// invalidations into one linear array: one ioctl per doorbell (per iommufd object), even across
// a wrap; entry_num is mapped back to a queue index. Variants: split_on_wrap=true (two ioctls when
// the batch wraps), vmm=inorder (default: a batch ends before each VMM-owned command) or
// vmm=prepass (the VMM runs its own commands before the ioctl).

import { checkVariant, variantBool, variantChoice, type Policy, type Variant } from '../policy.js';
import { BatchBuffers, walkBatched, type BatchOptions } from './batched.js';
import { trappedPolicy, VmmState } from './steps.js';

export function linearBatch(variant: Variant, name: string): Policy {
  checkVariant(variant, ['split_on_wrap', 'vmm'], name);
  const o: BatchOptions = {
    vmm: variantChoice(variant, 'vmm', ['inorder', 'prepass'] as const, name),
    validator: 'vmm',
    splitOnWrap: variantBool(variant, 'split_on_wrap', name),
  };
  const st = new VmmState();
  const buf = new BatchBuffers();
  return trappedPolicy(name, (ctx, prod) => walkBatched(ctx, st, prod, o, buf));
}
