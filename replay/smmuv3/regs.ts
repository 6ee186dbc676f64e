// SMMUv3 programming interface as the emulator exposes it: register offsets, the fields that matter
// (spec/smmuv3.md §1.1), the CONS.ERR codes (§1.3) and the ID registers derived from a feature set.
// Each field is declared once as (lsb, width); everything else reads these rows.

import { SMMUV3_OPS, type Smmuv3OpName } from '../../formats/smmuv3/commands.js';

/** Register offsets from SMMU page 0 (spec/smmuv3.md §1.1). Page 1 aliases page 0 (bit 16 folded). */
export const REG = {
  IDR0: 0x00,
  IDR1: 0x04,
  IDR3: 0x0c,
  CR0: 0x20,
  CR0ACK: 0x24,
  GERROR: 0x60,
  GERRORN: 0x64,
  CMDQ_BASE: 0x90,
  CMDQ_PROD: 0x98,
  CMDQ_CONS: 0x9c,
} as const;
export type RegName = keyof typeof REG;

/** One register field: bits [lsb + width - 1 : lsb]. */
export interface RegField {
  readonly lsb: number;
  readonly width: number;
}
const f = (hi: number, lo = hi): RegField => ({ lsb: lo, width: hi - lo + 1 });

export const IDR0 = {
  S2P: f(0),
  S1P: f(1),
  TTF: f(3, 2),
  HYP: f(9),
  ATS: f(10),
  ASID16: f(12),
  MSI: f(13),
  SEV: f(14),
  PRI: f(16),
  VMID16: f(18),
} as const;
export const IDR1 = { SIDSIZE: f(5, 0), SSIDSIZE: f(10, 6), CMDQS: f(25, 21) } as const;
export const IDR3 = { RIL: f(10) } as const;
export const CR0 = { SMMUEN: f(0), EVENTQEN: f(2), CMDQEN: f(3) } as const;
export const GERROR = { CMDQ_ERR: f(0) } as const;
/** CMDQ_CONS: RD index and wrap in [LOG2SIZE:0], ERR in [30:24]. */
export const CMDQ_CONS = { ERR: f(30, 24) } as const;
/** CMDQ_BASE (64-bit): RA b62, ADDR [51:5], LOG2SIZE [4:0]. */
export const CMDQ_BASE = { LOG2SIZE: f(4, 0), ADDR: f(51, 5), RA: f(62) } as const;

/** Largest CMDQ the emulator accepts: IDR1.CMDQS = 19, as QEMU advertises (spec/smmuv3.md §1.1). */
export const CMDQS_MAX = 19;

export function getField(value: number, fl: RegField): number {
  if (fl.lsb + fl.width <= 31) return (value >>> fl.lsb) & ((1 << fl.width) - 1);
  return Math.floor(value / 2 ** fl.lsb) % 2 ** fl.width;
}

export function setField(value: number, fl: RegField, v: number): number {
  const mask = 2 ** fl.width;
  return value - getField(value, fl) * 2 ** fl.lsb + (v % mask) * 2 ** fl.lsb;
}

export function getField64(value: bigint, fl: RegField): bigint {
  return (value >> BigInt(fl.lsb)) & ((1n << BigInt(fl.width)) - 1n);
}

/** CONS.ERR values (spec/smmuv3.md §1.3). */
export const CERROR = { NONE: 0, ILL: 1, ABT: 2, ATC_INV_SYNC: 3 } as const;
export type CerrorName = 'CERROR_ILL' | 'CERROR_ABT' | 'CERROR_ATC_INV_SYNC';
export const CERROR_NAMES: Readonly<Record<number, CerrorName>> = { 1: 'CERROR_ILL', 2: 'CERROR_ABT', 3: 'CERROR_ATC_INV_SYNC' };

/** What an SMMU instance implements: the ID-register bits the emulator honours. */
export interface Smmuv3Features {
  /** IDR0.S1P: stage-1 translation (stage-1 TLBIs are CERROR_ILL without it). */
  readonly s1p: boolean;
  /** IDR0.S2P: stage-2 translation (TLBI_S12_VMALL / S2_IPA need it; VMIDs are matched only with it). */
  readonly s2p: boolean;
  /** IDR0.HYP: EL2 translation regime (TLBI_EL2_* need it). */
  readonly hyp: boolean;
  /** IDR0.ATS: ATS / ATC invalidation (CMD_ATC_INV needs it). */
  readonly ats: boolean;
  /** IDR0.PRI: page requests (CMD_PRI_RESP needs it). */
  readonly pri: boolean;
  /** IDR0.SEV: CMD_SYNC may signal an event. */
  readonly sev: boolean;
  /** IDR0.MSI: CMD_SYNC with CS=IRQ writes MSIDATA to MSIADDR. */
  readonly msi: boolean;
  /** IDR3.RIL: range invalidation (TG/NUM/SCALE honoured; otherwise a TLBI is one address). */
  readonly ril: boolean;
}

/** QEMU's virt SMMU as a guest sees it: stage 1 only, RIL, no HYP/MSI/SEV (spec/smmuv3.md §4.2). */
export const GUEST_FEATURES: Smmuv3Features = {
  s1p: true,
  s2p: false,
  hyp: false,
  ats: true,
  pri: false,
  sev: false,
  msi: false,
  ril: true,
};

/** A nesting-capable physical SMMU (what iommufd vIOMMU needs, spec/smmuv3.md §5.2 item 6). */
export const HOST_FEATURES: Smmuv3Features = {
  s1p: true,
  s2p: true,
  hyp: true,
  ats: true,
  pri: false,
  sev: true,
  msi: true,
  ril: true,
};

/**
 * Why an SMMU with `x` refuses command `name` with CERROR_ILL for lack of a feature (spec/smmuv3.md
 * §6.1, §9), or undefined. The emulator and the VMM (whose vIOMMU advertises GUEST_FEATURES) ask
 * the same question, so bare hardware and every policy refuse the same commands.
 */
export function missingFeature(name: Smmuv3OpName, x: Smmuv3Features): string | undefined {
  if (/^CMD_TLBI_NH_/.test(name) && !x.s1p) return 'stage 1 not implemented (IDR0.S1P=0)';
  if (/^CMD_TLBI_EL3_/.test(name)) return 'EL3 commands are accepted on the Secure queue only';
  if (/^CMD_TLBI_EL2_/.test(name) && (!x.hyp || !x.s1p)) return 'EL2 regime not implemented (IDR0.HYP=0)';
  if ((name === 'CMD_TLBI_S12_VMALL' || name === 'CMD_TLBI_S2_IPA') && !x.s2p) return 'stage 2 not implemented (IDR0.S2P=0)';
  if (name === 'CMD_ATC_INV' && !x.ats) return 'ATS not implemented (IDR0.ATS=0)';
  if (name === 'CMD_PRI_RESP' && !x.pri) return 'PRI not implemented (IDR0.PRI=0)';
  return undefined;
}

/** missingFeature of every command for one feature set, from a table made once (asked per command). */
export function missingFeatures(x: Smmuv3Features): (name: Smmuv3OpName) => string | undefined {
  const why = new Map<string, string | undefined>(SMMUV3_OPS.map((op) => [op.name, missingFeature(op.name, x)]));
  return (name) => why.get(name);
}

const bit = (b: boolean) => (b ? 1 : 0);

export function idr0Of(x: Smmuv3Features): number {
  let v = 0;
  v = setField(v, IDR0.S2P, bit(x.s2p));
  v = setField(v, IDR0.S1P, bit(x.s1p));
  v = setField(v, IDR0.TTF, 2); // AArch64 tables
  v = setField(v, IDR0.HYP, bit(x.hyp));
  v = setField(v, IDR0.ATS, bit(x.ats));
  v = setField(v, IDR0.ASID16, 1);
  v = setField(v, IDR0.MSI, bit(x.msi));
  v = setField(v, IDR0.SEV, bit(x.sev));
  v = setField(v, IDR0.PRI, bit(x.pri));
  v = setField(v, IDR0.VMID16, 1);
  return v;
}

export function idr1Of(cmdqs: number): number {
  let v = 0;
  v = setField(v, IDR1.SIDSIZE, 32);
  v = setField(v, IDR1.SSIDSIZE, 20);
  v = setField(v, IDR1.CMDQS, cmdqs);
  return v;
}

export function idr3Of(x: Smmuv3Features): number {
  return setField(0, IDR3.RIL, bit(x.ril));
}
