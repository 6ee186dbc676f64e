// VMM knowledge per architecture.

import type { Arch } from '../../formats/codec/table.js';
import type { VmmArch } from './arch.js';
import { smmuv3Vmm } from './smmuv3.js';
import { vtdVmm } from './vtd.js';

export function vmmFor(arch: Arch): VmmArch {
  return arch === 'smmuv3' ? smmuv3Vmm : vtdVmm;
}
