// What the Linux VT-d driver computes on the host side (spec/vtd.md §3, §4.1, §5.2): the range →
// (ADDR, AM) alignment of cache.c calculate_psi_aligned_address, the device-TLB size encoding of
// qi_desc_dev_iotlb, and the descriptors it batches. Arithmetic is 64-bit unsigned, as in C.
// Descriptors are built by the shared table (formats/vtd/descriptors.ts), 256-bit wide: the host
// queue of a nesting-capable unit is a scalable-mode queue (IQA.DW=1, spec/vtd.md §1.1). The
// `*Into` builders fill 32-bit halves (compiled.ts), which the host writes into its queue as they
// are; the `*Desc` forms give the same descriptor as 64-bit words.

import { U64_MAX } from '../../formats/bits.js';
import { halvesEncoder, wordsOf } from './compiled.js';

/** MAX_AGAW_PFN_WIDTH: the mask that stands for the whole address space. */
export const MAX_AGAW_PFN_WIDTH = 52;
/** QI_MAX_BATCHED_DESC_COUNT: descriptors per qi_batch before it is submitted. */
export const QI_MAX_BATCHED_DESC_COUNT = 16;
const PAGE = 4096n;
const M64 = U64_MAX;

/** __roundup_pow_of_two on x86-64: 1 << fls64(n - 1); n = 0 and n > 2^63 give 1 (the shift wraps). */
function roundupPow2(n: bigint): bigint {
  if (n <= 1n) return 1n;
  const bits = (n - 1n).toString(2).length;
  return bits >= 64 ? 1n : 1n << BigInt(bits);
}

/** __ffs: index of the lowest set bit (v ≠ 0). */
function ffs(v: bigint): number {
  let i = 0;
  while (((v >> BigInt(i)) & 1n) === 0n) i++;
  return i;
}

/**
 * calculate_psi_aligned_address(start, end) with cache_tag_flush_range's full-range case
 * (spec/vtd.md §3): one naturally aligned block of 2^mask pages that covers [start, end].
 * start 0 / end U64_MAX, or a block as large as the address space, gives mask 52.
 */
export function psiAligned(start: bigint, end: bigint): { addr: bigint; mask: number } {
  if (start === 0n && end === M64) return { addr: 0n, mask: MAX_AGAW_PFN_WIDTH };
  const size = (end - start + 1n) & M64;
  const pages = (((start & (PAGE - 1n)) + size + PAGE - 1n) & M64) >> 12n; // aligned_nrpages
  const aligned = roundupPow2(pages);
  const bitmask = aligned - 1n;
  let mask = aligned.toString(2).length - 1; // ilog2
  const pfn = start >> 12n;
  if ((bitmask & pfn) !== 0n) {
    const endPfn = (pfn + pages - 1n) & M64;
    const shared = ~(pfn ^ endPfn) & ~bitmask & M64;
    mask = shared !== 0n ? ffs(shared) : MAX_AGAW_PFN_WIDTH;
  }
  const block = mask >= 52 ? 0n : PAGE << BigInt(mask); // VTD_PAGE_SIZE << 52 overflows to 0: ALIGN_DOWN(x, 0) = 0
  return { addr: block === 0n ? 0n : start & ~(block - 1n) & M64, mask };
}

/** A range's (ADDR, AM), with ADDR a number when it is exact (psiAlignedOf's answer, reused by its caller). */
export interface PsiAligned {
  addr: number | bigint;
  mask: number;
}

/** 2^53: numbers below are exact integers. */
const EXACT = 2 ** 53;

/**
 * 2^k for k = 0..64, exact doubles: what the number paths below read instead of `2 ** k`, which
 * optimized code computes by a call to the C library's pow for a variable exponent (a few hundred
 * instructions, several per host flush).
 */
const POW2: Float64Array = Float64Array.from({ length: 65 }, (_, k) => 2 ** k);

/**
 * psiAligned into `out`, with no BigInt when the range is exact in doubles (0 ≤ start ≤ end <
 * 2^53): the same arithmetic on numbers, where no 64-bit wrap can happen (spec/vtd.md §3).
 * Otherwise psiAligned itself (ADDR a BigInt).
 */
export function psiAlignedOf(start: bigint, end: bigint, out: PsiAligned): PsiAligned {
  const s = Number(start);
  const e = Number(end);
  if (!(s >= 0 && s <= e && e < EXACT)) {
    const r = psiAligned(start, end);
    out.addr = r.addr;
    out.mask = r.mask;
    return out;
  }
  return psiAlignedNumber(s, e, out);
}

/**
 * psiAlignedOf(addr, entryEnd(addr, npages)) for an iommufd entry, with no BigInt when the range
 * is exact in doubles: npages ≥ 1 and below 2^40 (so not U64_MAX), and the end below 2^53 (no
 * 64-bit wrap there). A double sum at or above 2^53 rounds to 2^53 or more, so the check on the
 * computed end is the check on the exact one.
 */
export function psiAlignedOfEntry(addr: bigint, npages: bigint, out: PsiAligned): PsiAligned {
  const s = Number(addr);
  const n = Number(npages);
  if (s >= 0 && n >= 1 && n < 2 ** 40) {
    const e = s + n * 4096 - 1;
    if (e < EXACT) return psiAlignedNumber(s, e, out);
  }
  return psiAlignedOf(addr, entryEnd(addr, npages), out);
}

/** psiAligned on doubles, for 0 ≤ s ≤ e < 2^53. */
function psiAlignedNumber(s: number, e: number, out: PsiAligned): PsiAligned {
  const pfn = Math.floor(s / 4096);
  const pages = Math.floor(e / 4096) - pfn + 1; // aligned_nrpages: the pages [s, e] touches
  let aligned = 1; // __roundup_pow_of_two(pages); 0 and 1 give 1
  let mask = 0; // ilog2(aligned)
  while (aligned < pages) {
    aligned *= 2;
    mask++;
  }
  if (pfn % aligned !== 0) {
    // The lowest bit from `mask` up where the first and last PFN agree (both below 2^41: one exists).
    const endPfn = pfn + pages - 1;
    while (Math.floor(pfn / POW2[mask]!) % 2 !== Math.floor(endPfn / POW2[mask]!) % 2) mask++;
  }
  out.addr = mask >= MAX_AGAW_PFN_WIDTH ? 0 : s - (s % (4096 * POW2[mask]!));
  out.mask = mask;
  return out;
}

/** The end address of an iommufd entry (intel_nested_flush_cache): U64_MAX pages means everything. */
export function entryEnd(addr: bigint, npages: bigint): bigint {
  return npages === M64 ? M64 : (addr + (npages << 12n) - 1n) & M64;
}

const P_IOTLB_PASID = halvesEncoder('p_iotlb_inv', 4, ['G', 'DID', 'PASID']);
const P_IOTLB_PAGE = halvesEncoder('p_iotlb_inv', 4, ['G', 'DID', 'PASID', 'ADDR', 'AM', 'IH']);
const IOTLB = halvesEncoder('iotlb_inv', 4, ['G', 'DID']);
const DEV_TLB = halvesEncoder('dev_tlb_inv', 4, ['SID', 'MIP', 'ADDR', 'S']);
const PC = halvesEncoder('pc_inv', 4, ['G', 'DID', 'PASID']);
const WAIT = halvesEncoder('inv_wait', 4, ['SW', 'STATUS_DATA', 'STATUS_ADDR']);

/** A 256-bit descriptor's halves (the `*Into` builders fill one; the host reuses them). */
export const descHalves = (): Uint32Array => new Uint32Array(8);

/** qi_desc_piotlb / qi_desc_piotlb_all: PSI-in-PASID, or PASID-selective when mask ≥ 52. */
export function piotlbInto(out: Uint32Array, did: number, pasid: number, addr: number | bigint, mask: number, ih: boolean): Uint32Array {
  if (mask >= MAX_AGAW_PFN_WIDTH) return P_IOTLB_PASID(out, 2, did, pasid);
  if (typeof addr === 'number') {
    const align = 4096 * POW2[mask]!; // exact; so is the quotient below (a power of two)
    return P_IOTLB_PAGE(out, 3, did, pasid, Math.floor(addr / align) * align, mask, ih ? 1 : 0);
  }
  const align = PAGE << BigInt(mask);
  return P_IOTLB_PAGE(out, 3, did, pasid, addr & ~(align - 1n), mask, ih ? 1 : 0);
}

/** qi_desc_dev_iotlb (type 3): S=0 for one page, else the low mask-1 page bits of ADDR set (§3). */
export function devTlbInto(out: Uint32Array, sid: number, qdep: number, addr: number | bigint, mask: number): Uint32Array {
  const mip = qdep >= 32 ? 0 : qdep; // QI_DEV_IOTLB_MAX_INVS: a depth of 32 or more is written as 0
  if (typeof addr === 'number') {
    // Below 2^53 with the low 11+mask bits set stays below 2^53 while 11+mask ≤ 52: exact.
    if (mask === 0) return DEV_TLB(out, sid, mip, Math.floor(addr / 4096) * 4096, 0);
    if (mask > 41 || !(addr >= 0 && addr < EXACT)) return devTlbInto(out, sid, qdep, BigInt(addr), mask);
    const low = POW2[11 + mask]!;
    const a = Math.floor(addr / low) * low + (low - 1); // addr | (low − 1)
    return DEV_TLB(out, sid, mip, Math.floor(a / 4096) * 4096, 1);
  }
  if (mask === 0) return DEV_TLB(out, sid, mip, addr & ~(PAGE - 1n), 0);
  const a = (addr | ((1n << BigInt(12 + mask - 1)) - 1n)) & ~(PAGE - 1n) & M64;
  return DEV_TLB(out, sid, mip, a, 1);
}

/** The wait qi_submit_sync appends: status write of QI_DONE to the slot's desc_status word (§1.5). */
export function waitInto(out: Uint32Array, statusAddr: bigint, data: number): Uint32Array {
  return WAIT(out, 1, data, statusAddr);
}

/** qi_desc_iotlb domain-selective (pasid.c flush of a nested/second-stage PASID entry). */
export function iotlbDsiInto(out: Uint32Array, did: number): Uint32Array {
  return IOTLB(out, 2, did);
}

/** pasid_cache_invalidation_with_pasid: PASID-selective PASID-cache invalidation. */
export function pcPasidInto(out: Uint32Array, did: number, pasid: number): Uint32Array {
  return PC(out, 1, did, pasid);
}

/** piotlbInto as 64-bit words. */
export const piotlbDesc = (did: number, pasid: number, addr: bigint, mask: number, ih: boolean): bigint[] =>
  wordsOf(piotlbInto(descHalves(), did, pasid, addr, mask, ih));

/** iotlbDsiInto as 64-bit words. */
export const iotlbDsiDesc = (did: number): bigint[] => wordsOf(iotlbDsiInto(descHalves(), did));

/** devTlbInto as 64-bit words. */
export const devTlbDesc = (sid: number, qdep: number, addr: bigint, mask: number): bigint[] =>
  wordsOf(devTlbInto(descHalves(), sid, qdep, addr, mask));

/** pcPasidInto as 64-bit words. */
export const pcPasidDesc = (did: number, pasid: number): bigint[] => wordsOf(pcPasidInto(descHalves(), did, pasid));

/** waitInto as 64-bit words. */
export const waitDesc = (statusAddr: bigint, data: number): bigint[] => wordsOf(waitInto(descHalves(), statusAddr, data));
