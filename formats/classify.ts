// Architecture dispatch for a decoded command's role and cache scope.

import type { Decoded } from './codec/codec.js';
import type { Classified } from './scope.js';
import { classifySmmuv3, deriveSmmuv3 } from './smmuv3/scope.js';
import { classifyVtd, deriveVtd } from './vtd/scope.js';

export function classify(d: Decoded): Classified {
  if (d.error !== undefined) return { role: 'other' };
  return d.arch === 'smmuv3' ? classifySmmuv3(d) : classifyVtd(d);
}

export function derive(d: Decoded): Record<string, string | number> {
  if (d.error !== undefined) return {};
  return d.arch === 'smmuv3' ? deriveSmmuv3(d) : deriveVtd(d);
}
