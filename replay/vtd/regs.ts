// VT-d queued-invalidation registers as the emulator models them: offsets from the DRHD register
// base and the fields we read or write, named as spec/vtd.md §1.1 and §1.4 print them. One
// declaration per field; the unit reads and writes registers only through these.

/** Register offsets (spec/vtd.md §1.1). */
export const REG = {
  GCMD: 0x18,
  GSTS: 0x1c,
  FSTS: 0x34,
  IQH: 0x80,
  IQT: 0x88,
  IQA: 0x90,
  ICS: 0x9c,
  IQERCD: 0xb0,
} as const;

/** GCMD / GSTS bits. QIE (bit 26) enables queued invalidation; GSTS.QIES acknowledges it. */
export const GCMD_TE = 1 << 31;
export const GCMD_QIE = 1 << 26;
export const GCMD_IRE = 1 << 25;
export const GCMD_CFI = 1 << 23;
/** GSTS mirrors the persistent GCMD bits (TES, QIES, IRES, CFIS sit at the same positions). */
export const GSTS_PERSISTENT = (GCMD_TE | GCMD_QIE | GCMD_IRE | GCMD_CFI) >>> 0;

/** FSTS bits (write-1-to-clear). */
export const FSTS_PFO = 1 << 0;
export const FSTS_PPF = 1 << 1;
export const FSTS_IQE = 1 << 4;
export const FSTS_ICE = 1 << 5;
export const FSTS_ITE = 1 << 6;
export const FSTS_PRO = 1 << 7;
/** The error bits that stop descriptor fetch while set (§1.3: IQE and ITE; ICE does not stop). */
export const FSTS_STOP = FSTS_IQE | FSTS_ITE;
/** Bits software may clear by writing 1 (PPF is read-only: it follows the fault records). */
export const FSTS_W1C = FSTS_PFO | FSTS_IQE | FSTS_ICE | FSTS_ITE | FSTS_PRO;

/** IQA: base 63:12, DW bit 11 (256-bit descriptors), QS 2:0 (2^QS 4 KiB pages). */
export const IQA_BASE_MASK = ~0xfffn & ((1n << 64n) - 1n);
export const IQA_DW = 1n << 11n;
export const IQA_QS_MASK = 0x7n;

/** IQH / IQT: byte offset in bits 18:4; with DW=1 bit 4 is reserved (index = reg >> 5). */
export const IQ_OFFSET_MASK = 0x7fff0;
export const IQT_256_RSV_BIT = 1 << 4;

/** ICS.IWC: set when a wait descriptor with IF=1 completes (write-1-to-clear). */
export const ICS_IWC = 1;

/** IQERCD fields (§1.4). */
export const IQERCD_IQEI_SHIFT = 0n;
export const IQERCD_ITESID_SHIFT = 32n;
export const IQERCD_ICESID_SHIFT = 48n;

/** IQERCD.IQEI: why FSTS.IQE was set (spec/vtd.md §1.4). 0 = information not available. */
export const IQEI = {
  NOT_AVAILABLE: 0,
  INVALID_TAIL: 1,
  FETCH_ERROR: 2,
  INVALID_TYPE: 3,
  RESERVED_FIELD: 4,
  INVALID_WIDTH: 5,
} as const;
export type Iqei = (typeof IQEI)[keyof typeof IQEI];

/** IQA.QS for a queue of `entries` descriptors, or undefined when IQA cannot express it. */
export function qsOf(entries: number, dw: 0 | 1): number | undefined {
  const qs = Math.log2(entries) - 8 + dw;
  return Number.isInteger(qs) && qs >= 0 && qs <= 7 ? qs : undefined;
}

/** Status values Linux keeps per queue slot (qi_submit_sync, spec/vtd.md §1.5). */
export const QI_FREE = 0;
export const QI_IN_USE = 1;
export const QI_DONE = 2;
export const QI_ABORT = 3;
