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

export const KNOWN: readonly KnownClass[] = [
  {
    id: 'vtd-hwdirect-runs-reserved-bits',
    arch: 'vtd',
    fault: 'ill',
    match: /^hw-direct: the guest sees what bare hardware does not .*executed-past-error/,
    note: 'the direct path executes a descriptor with reserved bits set (fuzz-2026-12 hwdirect-vtd-accepts-*); to-oracle.md 11:45 item 1',
  },
  {
    id: 'vtd-hwdirect-ite-cons',
    arch: 'vtd',
    fault: 'atc-timeout',
    match: /^hw-direct: the guest sees what bare hardware does not \(wrong-consumer-index×\d+, wrong-error×\d+\)/,
    note: 'hw-direct CONS one slot off at an ITE (fuzz-2026-12 vtd-ite-with-wait-hwdirect-wrong-cons); to-oracle.md 11:45 item 2',
  },
  {
    id: 'rewritten-sync-not-counted',
    arch: 'smmuv3',
    fault: 'ill',
    match: /^counts: .* is correct but completes (\d+) where bare hardware completes \d+/,
    note: 'a CMD_SYNC written over the failing slot is never registered as a completion point; samples/scenarios/inv-smmuv3-rewritten-sync-completion.jsonl; to-oracle.md 11:45 item 3',
  },
  {
    id: 'rewritten-wait-not-counted',
    arch: 'vtd',
    fault: 'ill',
    match: /^counts: .* is correct but completes (\d+) where bare hardware completes \d+/,
    note: 'the same for VT-d: the wait copied over the failing slot; to-oracle.md 11:45 item 3',
  },
  {
    id: 'resubmitted-wait-not-counted',
    arch: 'vtd',
    fault: 'atc-timeout',
    match: /^counts: .* is correct but completes (\d+) where bare hardware completes \d+/,
    note: 'the same for the descriptors Linux writes again after an ITE (-EAGAIN restart); to-oracle.md 11:45 item 3',
  },
];

/** The known class a failure belongs to, if any. */
export function knownClass(arch: Arch, fault: Fault, failure: string): KnownClass | undefined {
  return KNOWN.find((k) => k.arch === arch && k.fault === fault && k.match.test(failure));
}
