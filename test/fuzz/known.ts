// Failure classes the property test has found and reported but that are not fixed on this branch
// yet: each has its reproducer and the note that hands it to its owner. The property test fails on
// anything else; `npm run fuzz` prints both. Remove a class once its fix is merged.

import type { Arch } from '../../formats/codec/table.js';
import type { Fault } from './workload.js';

export interface KnownClass {
  readonly id: string;
  readonly arch: Arch;
  readonly fault: Fault;
  readonly match: RegExp;
  /** Where it is reported and reproduced. */
  readonly note: string;
}

// Empty: every class found so far is fixed and merged (docs/verification.md "What the campaign
// found"). An entry looks like
//   { id: 'rewritten-sync-not-counted', arch: 'smmuv3', fault: 'ill',
//     match: /^counts: .* is correct but completes/, note: 'scenario file; notes/to-oracle.md item' }
export const KNOWN: readonly KnownClass[] = [];

/** The known class a failure belongs to, if any. */
export function knownClass(arch: Arch, fault: Fault, failure: string): KnownClass | undefined {
  return KNOWN.find((k) => k.arch === arch && k.fault === fault && k.match.test(failure));
}
