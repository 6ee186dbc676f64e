// The shape of a declarative command table (one per architecture): each opcode or descriptor type
// with its fields as bit ranges. Decoding, encoding, validation, --help and the TUI bit view all
// read these tables; there is no hand-written per-opcode codec.

import type { BitRange } from '../bits.js';
import type { Role } from '../scope.js';

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

/**
 * Who handles a guest command under VMM mediation (spec/smmuv3.md §5.1, spec/vtd.md §5): host, an
 * invalidation the host executes (forwarded through IOMMU_HWPT_INVALIDATE); devtlb, the same but
 * of a device TLB/ATC (what devtlb-nop drops); vmm, executed by the VMM itself; sync, a completion
 * point; illegal, the guest's vIOMMU never implements it (refused as the guest unit refuses it).
 * As a table column it is the owner of a well-formed command; the VMM also calls a malformed one,
 * or one needing a feature its vIOMMU lacks, illegal (replay/vmm/).
 */
export type Owner = 'host' | 'devtlb' | 'vmm' | 'sync' | 'illegal';

/** One opcode (SMMUv3) or descriptor type (VT-d). */
export interface OpDef {
  readonly code: number;
  /** Canonical name: the SMMUv3 spec command name, or Linux's qi_submit type name for VT-d. */
  readonly name: string;
  readonly doc: string;
  /** What the command does to the caches: an invalidation, a completion point, or neither. */
  readonly role: Role;
  readonly owner: Owner;
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

/** The row of `Ops` named `N`. */
export type RowOf<Ops extends readonly OpDef[], N extends Ops[number]['name']> = Extract<Ops[number], { readonly name: N }>;

/** The names of the rows of `Ops` whose `K` column is one of `V` (e.g. every invalidation). */
export type NamesWhere<Ops extends readonly OpDef[], K extends 'role' | 'owner', V extends OpDef[K]> = Extract<
  Ops[number],
  { readonly [P in K]: V }
>['name'];

/**
 * The table row of a decoded command of `arch` (the codec's `def`), typed as that table's rows;
 * undefined for another architecture or an opcode no row has. Sound because formats/codecs.ts
 * builds each architecture's codec from that very table.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- O is the caller's table row type: this is the one checked cast from a codec's def to it
export function rowsOf<O extends OpDef>(arch: Arch): (d: { readonly arch: Arch; readonly def: OpDef | undefined }) => O | undefined {
  return (d) => (d.arch === arch ? (d.def as O | undefined) : undefined);
}

/** The row named `name` (the type says it exists; a missing one is a table bug and throws). */
export function rowOf<const Ops extends readonly OpDef[], N extends Ops[number]['name']>(ops: Ops, name: N): RowOf<Ops, N> {
  const row = ops.find((o) => o.name === name);
  if (row === undefined) throw new Error(`table: no row ${name}`);
  return row as RowOf<Ops, N>;
}

type FieldOf<O extends OpDef, F extends string> = Extract<O['fields'][number], { readonly name: F }>;

/**
 * The named values of field `field` of row `op` as bigints (decoded fields are bigints), so code
 * compares `f.G === CC_G.GLOBAL` instead of a number: `{ GLOBAL: 1n, DOMAIN: 2n, DEVICE: 3n }`.
 */
export function namedValues<O extends OpDef, F extends O['fields'][number]['name']>(
  op: O,
  field: F,
): { readonly [K in keyof NonNullable<FieldOf<O, F>['values']>]: bigint } {
  const def = op.fields.find((f) => f.name === field);
  if (def?.values === undefined) throw new Error(`table: ${op.name}.${field} has no named values`);
  return Object.freeze(Object.fromEntries(Object.entries(def.values).map(([k, v]) => [k, BigInt(v)]))) as never;
}
