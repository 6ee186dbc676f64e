// The two architectures' codecs, built once from their tables. Frozen: no global mutable state.

import { maskOf } from './bits.js';
import { Codec } from './codec/codec.js';
import type { Arch } from './codec/table.js';
import { SMMUV3_TABLE } from './smmuv3/commands.js';
import { VTD_TABLE } from './vtd/descriptors.js';

export const SMMUV3 = new Codec(SMMUV3_TABLE);
export const VTD = new Codec(VTD_TABLE);

export function codecFor(arch: Arch): Codec {
  return arch === 'smmuv3' ? SMMUV3 : VTD;
}

export function isArch(s: string): s is Arch {
  return s === 'smmuv3' || s === 'vtd';
}

/** The opcode (VT-d: type) bits of a command's first word, from the codec table (`table.opcode`). */
export function opcodeMaskOf(arch: Arch): bigint {
  return codecFor(arch)
    .table.opcode.filter((r) => r.w === 0)
    .reduce((m, r) => m | maskOf(r), 0n);
}
