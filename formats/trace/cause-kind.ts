// What the cause inference (cause.ts CauseWatch) reads of a command: its op's kind (a page-selective
// IOTLB invalidation, a device-TLB one, a wait, or other) and the page of its range base as a Set
// key. The trace builder keeps both in each row template (builder.ts), so the watch does no string
// lookup or BigInt shift per row. Apart from cause.ts, which reads traces back, so that the builder
// does not import the trace reader.

const PSI_OPS = new Set(['iotlb_inv', 'p_iotlb_inv']);
const DEVTLB_OPS = new Set(['dev_tlb_inv', 'p_dev_tlb_inv']);

/** What the watch does with an op: nothing (other), a page-selective IOTLB, a device-TLB, or a wait. */
export type CauseKind = 0 | 1 | 2 | 3;
export const CAUSE_PSI = 1;
export const CAUSE_DEVTLB = 2;
export const CAUSE_WAIT = 3;

export function causeKind(op: string): CauseKind {
  return op === 'inv_wait' ? CAUSE_WAIT : DEVTLB_OPS.has(op) ? CAUSE_DEVTLB : PSI_OPS.has(op) ? CAUSE_PSI : 0;
}

/**
 * The page of a range base as a Set key: base >> 12 as a number (exact below 2^65, which a 64-bit
 * base always is), else the BigInt itself. One key per page either way.
 */
export function pageOf(base: bigint): number | bigint {
  const p = base >> 12n;
  return p <= MAX_SAFE && p >= 0n ? Number(p) : p;
}
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
