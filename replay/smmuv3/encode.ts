// Building SMMUv3 commands by spec field names, for the host model's own commands (CMD_SYNC,
// CFGI_STE, the skip routine's rewrite) and for tests and benchmarks.

import { SMMUV3 } from '../../formats/codecs.js';

export type Words = readonly [bigint, bigint];

/** Encodes one command from spec field names (`cmd('CMD_TLBI_NH_VA', { ASID: 1, ADDR: 0x1000n })`). */
export function cmd(op: string, fields: Readonly<Record<string, bigint | number>> = {}): Words {
  const r = SMMUV3.encode(op, fields);
  if (!r.ok) throw new Error(`${op}: ${r.error.message}`);
  return [r.value[0]!, r.value[1]!];
}

/** CMD_SYNC as Linux builds it: CS=SEV, MSH=Inner Shareable, MSIATTR=0xF (spec/smmuv3.md §2). */
export const SYNC: Words = cmd('CMD_SYNC', { CS: 2, MSH: 3, MSIATTR: 0xf });
