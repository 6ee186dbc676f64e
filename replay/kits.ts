// The replay kit of each architecture (bare guest unit + host model).

import type { Arch } from '../formats/codec/table.js';
import type { ReplayKit } from './host.js';
import { smmuv3Kit } from './smmuv3/index.js';
import { vtdKit } from './vtd/index.js';

export function kitFor(arch: Arch): ReplayKit {
  return arch === 'smmuv3' ? smmuv3Kit : vtdKit;
}
