// The shape of a declarative command table (one per architecture): each opcode or descriptor type
// with its fields as bit ranges. Decoding, encoding, validation, --help and the TUI bit view all
// read these tables; there is no hand-written per-opcode codec.

import type { BitRange } from '../bits.js';

export type Arch = 'smmuv3' | 'vtd';
export const ARCHES: readonly Arch[] = ['smmuv3', 'vtd'];

/** One field of a command. */
export interface FieldDef {
  /** Spec name, upper case (`ASID`, `DID`, `STATUS_ADDR`). Columns use the lower-case form. */
  readonly name: string;
  /** Where the bits sit; the first part holds the low-order bits (VT-d PFSID is split in two). */
  readonly parts: readonly BitRange[];
  /** An address: its value is kept in place (low bits zero), not shifted down. */
  readonly addr?: true;
  /** Names of enumerated values (`CS`: NONE 0, IRQ 1, SEV 2). */
  readonly values?: Readonly<Record<string, number>>;
  /** Encodings the hardware rejects although the bits belong to the field. */
  readonly reserved?: readonly number[];
  readonly doc: string;
}

/** One opcode (SMMUv3) or descriptor type (VT-d). */
export interface OpDef {
  readonly code: number;
  /** Canonical name: the SMMUv3 spec command name, or Linux's qi_submit type name for VT-d. */
  readonly name: string;
  readonly doc: string;
  readonly fields: readonly FieldDef[];
  /** Names the same command has in Linux and QEMU sources, for grep. */
  readonly aka?: readonly string[];
  /** VT-d: the type exists only in 256-bit (scalable-mode) queues. */
  readonly wideOnly?: true;
  /** Confidence note when a layout is not verified in source (spec digests' [?]). */
  readonly note?: string;
}

/** The error a malformed command raises, as the hardware reports it. */
export interface CmdError {
  /** `CERROR_ILL` (SMMUv3 CMDQ_CONS.ERR = 1) or `IQE` (VT-d FSTS.IQE with IQERCD.IQEI). */
  readonly code: 'CERROR_ILL' | 'IQE';
  /** CMDQ_CONS.ERR value, or IQERCD.IQEI. */
  readonly value: number;
  readonly field?: string;
  readonly message: string;
}

export type RejectKind = 'unknown-op' | 'reserved-bits' | 'reserved-value' | 'width';

export interface ArchTable {
  readonly arch: Arch;
  /** Largest command size in 64-bit words (2 for SMMUv3; 4 for VT-d 256-bit descriptors). */
  readonly maxWords: 2 | 4;
  readonly wordName: (w: number) => string;
  /** Bits that select the opcode/type; first part = low-order bits. */
  readonly opcode: readonly BitRange[];
  readonly ops: readonly OpDef[];
  /** Maps a validation failure to what this architecture's hardware reports. */
  readonly reject: (kind: RejectKind, message: string, field?: string) => CmdError;
}
