// Derived values of VT-d descriptors: PSI address masks (2^AM pages), the device-TLB size encoding
// (S bit, spec/vtd.md §3), function masks, and the cache scope of each descriptor.

import { exact, trailingOnes } from '../bits.js';
import type { Decoded } from '../codec/codec.js';
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

export function classifyVtd(d: Decoded): Classified {
  const f = d.fields;
  const inv = (scope: Scope): Classified => ({ role: 'invalidate', scope });
  switch (d.name) {
    case 'inv_wait': return { role: 'sync' };
    case 'cc_inv':
      if (f.G === 1n) return inv({ cache: 'context' });
      if (f.G === 2n) return inv({ cache: 'context', did: n(f.DID) });
      return inv({ cache: 'context', did: n(f.DID), sid: n(f.SID), sidIgnore: FM_IGNORE[n(f.FM)]! });
    case 'iotlb_inv':
      if (f.G === 1n) return inv({ cache: 'iotlb' });
      if (f.G === 2n) return inv({ cache: 'iotlb', did: n(f.DID) });
      return inv({ cache: 'iotlb', did: n(f.DID), ...withRange(psiRange(f)), leaf: f.IH === 1n });
    case 'dev_tlb_inv':
      return inv({ cache: 'devtlb', sid: n(f.SID), ...withRange(devtlbRange(f)) });
    case 'iec_inv':
      return inv(f.G === 1n ? { cache: 'iec', index: { base: n(f.IIDX), count: 2 ** n(f.IM) } } : { cache: 'iec' });
    case 'p_iotlb_inv':
      if (f.G === 3n) return inv({ cache: 'iotlb', did: n(f.DID), pasid: n(f.PASID), ...withRange(psiRange(f)), leaf: f.IH === 1n });
      return inv({ cache: 'iotlb', did: n(f.DID), pasid: n(f.PASID) });
    case 'pc_inv':
      if (f.G === 3n) return inv({ cache: 'pasid' });
      if (f.G === 1n) return inv({ cache: 'pasid', did: n(f.DID), pasid: n(f.PASID) });
      return inv({ cache: 'pasid', did: n(f.DID) });
    case 'p_dev_tlb_inv':
      return inv({ cache: 'devtlb', sid: n(f.SID), ...(f.G === 1n ? {} : { pasid: n(f.PASID) }), ...withRange(devtlbRange(f)) });
    default:
      return { role: 'other' };
  }
}

const GRAN: Record<string, Record<number, string>> = {
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
  const g = GRAN[d.name];
  if (g && f.G !== undefined) out.granularity = g[Number(f.G)] ?? `reserved (${f.G})`;
  let r: AddrRange | undefined | null = null;
  if ((d.name === 'iotlb_inv' && f.G === 3n) || (d.name === 'p_iotlb_inv' && f.G === 3n)) {
    r = psiRange(f);
    out.pages = exact(1n << f.AM!);
  } else if (d.name === 'dev_tlb_inv' || d.name === 'p_dev_tlb_inv') {
    r = devtlbRange(f);
    out.size = r ? `${Number(r.bytes / 4096n)} pages` : 'everything';
  } else if (d.name === 'iec_inv' && f.G === 1n) {
    out.entries = exact(1n << f.IM!);
  }
  if (r) {
    out.range_base = `0x${r.base.toString(16)}`;
    out.range_bytes = exact(r.bytes);
  }
  return out;
}
