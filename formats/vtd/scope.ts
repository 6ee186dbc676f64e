// Derived values of VT-d descriptors: PSI address masks (2^AM pages), the device-TLB size encoding
// (S bit, spec/vtd.md §3), function masks, and the cache scope of each descriptor.

import { exact, trailingOnes } from '../bits.js';
import type { Decoded } from '../codec/codec.js';
import { CC_G, IEC_G, IOTLB_G, PC_G, PIOTLB_G, vtdOp, type VtdDescName, type VtdInvalidateName } from './descriptors.js';
import { addrRange, type AddrRange, type Classified, type Scope } from '../scope.js';

/** Page-selective IOTLB: 2^AM 4 KiB pages; hardware ignores the low AM bits of the page number. */
export function psiRange(f: Decoded['fields']): AddrRange | undefined {
  return addrRange(f.ADDR ?? 0n, 4096n << (f.AM ?? 0n));
}

/**
 * Device-TLB size (types 3 and 8, spec/vtd.md §3): S=0 is one 4 KiB page at ADDR. S=1: if bit k
 * is the lowest zero bit of ADDR at or above bit 12, the range is 2^(k+1) bytes, aligned.
 * ADDR bits 12..62 all one (Linux's "everything", qw1 0x7ffffffffffff001) covers the whole space.
 */
export function devtlbRange(f: Decoded['fields']): AddrRange | undefined {
  const addr = f.ADDR ?? 0n;
  if (f.S !== 1n) return { base: addr, bytes: 4096n };
  const ones = trailingOnes(addr >> 12n);
  return addrRange(addr, 8192n << BigInt(ones));
}

/** Context-cache function mask: which low SID bits a device-selective invalidation ignores. */
export const FM_IGNORE: readonly number[] = [0, 0b100, 0b110, 0b111];

const n = (v: bigint | undefined) => Number(v ?? 0n);
const withRange = (r: AddrRange | undefined) => (r ? { range: r } : {});

/** The cache scope of each invalidation, by descriptor type (every row whose role is invalidate). */
const SCOPES: { readonly [N in VtdInvalidateName]: (f: Decoded['fields']) => Scope } = {
  cc_inv: (f) => {
    if (f.G === CC_G.GLOBAL) return { cache: 'context' };
    if (f.G === CC_G.DOMAIN) return { cache: 'context', did: n(f.DID) };
    return { cache: 'context', did: n(f.DID), sid: n(f.SID), sidIgnore: FM_IGNORE[n(f.FM)]! };
  },
  iotlb_inv: (f) => {
    if (f.G === IOTLB_G.GLOBAL) return { cache: 'iotlb' };
    if (f.G === IOTLB_G.DOMAIN) return { cache: 'iotlb', did: n(f.DID) };
    return { cache: 'iotlb', did: n(f.DID), ...withRange(psiRange(f)), leaf: f.IH === 1n };
  },
  dev_tlb_inv: (f) => ({ cache: 'devtlb', sid: n(f.SID), ...withRange(devtlbRange(f)) }),
  iec_inv: (f) => (f.G === IEC_G.INDEX ? { cache: 'iec', index: { base: n(f.IIDX), count: 2 ** n(f.IM) } } : { cache: 'iec' }),
  p_iotlb_inv: (f) => {
    if (f.G === PIOTLB_G.PAGE) return { cache: 'iotlb', did: n(f.DID), pasid: n(f.PASID), ...withRange(psiRange(f)), leaf: f.IH === 1n };
    return { cache: 'iotlb', did: n(f.DID), pasid: n(f.PASID) };
  },
  pc_inv: (f) => {
    if (f.G === PC_G.GLOBAL) return { cache: 'pasid' };
    if (f.G === PC_G.PASID) return { cache: 'pasid', did: n(f.DID), pasid: n(f.PASID) };
    return { cache: 'pasid', did: n(f.DID) };
  },
  // G (qw1 bit 0) set: every PASID of the device.
  p_dev_tlb_inv: (f) => ({ cache: 'devtlb', sid: n(f.SID), ...(f.G === 1n ? {} : { pasid: n(f.PASID) }), ...withRange(devtlbRange(f)) }),
};

/** Role from the table's role column; the scope of an invalidation from SCOPES. */
export function classifyVtd(d: Decoded): Classified {
  const op = vtdOp(d);
  if (op === undefined) return { role: 'other' }; // a type no row has
  if (op.role !== 'invalidate') return { role: op.role };
  return { role: 'invalidate', scope: SCOPES[op.name](d.fields) };
}

const GRAN: { readonly [N in VtdDescName]?: Record<number, string> } = {
  cc_inv: { 1: 'global', 2: 'domain-selective', 3: 'device-selective' },
  iotlb_inv: { 1: 'global', 2: 'domain-selective', 3: 'page-selective-within-domain' },
  iec_inv: { 0: 'global', 1: 'index-selective' },
  p_iotlb_inv: { 2: 'PASID-selective', 3: 'page-selective-within-PASID' },
  pc_inv: { 0: 'domain-selective', 1: 'PASID-selective', 3: 'global' },
};

/** Values a reader wants beside the fields: granularity by name, page counts, device-TLB size. */
export function deriveVtd(d: Decoded): Record<string, string | number> {
  const f = d.fields;
  const out: Record<string, string | number> = {};
  const op = vtdOp(d);
  const g = op && GRAN[op.name];
  if (g && f.G !== undefined) out.granularity = g[Number(f.G)] ?? `reserved (${f.G})`;
  let r: AddrRange | undefined | null = null;
  if ((d.name === 'iotlb_inv' && f.G === IOTLB_G.PAGE) || (d.name === 'p_iotlb_inv' && f.G === PIOTLB_G.PAGE)) {
    r = psiRange(f);
    out.pages = exact(1n << f.AM!);
  } else if (d.name === 'dev_tlb_inv' || d.name === 'p_dev_tlb_inv') {
    r = devtlbRange(f);
    out.size = r ? `${Number(r.bytes / 4096n)} pages` : 'everything';
  } else if (d.name === 'iec_inv' && f.G === IEC_G.INDEX) {
    out.entries = exact(1n << f.IM!);
  }
  if (r) {
    out.range_base = `0x${r.base.toString(16)}`;
    out.range_bytes = exact(r.bytes);
  }
  return out;
}
