// What a command does to the caches, in one architecture-neutral shape: which cache, which tags
// (VMID, ASID, DID, PASID, SID) and which address range. Policies, the oracle and the analyzers
// read this instead of re-deriving it from fields.

import { hex } from './bits.js';

export type CacheKind = 'iotlb' | 'atc' | 'devtlb' | 'ste' | 'cd' | 'context' | 'pasid' | 'iec';

/** A command is an invalidation, a completion point (CMD_SYNC / wait), or something else. */
export type Role = 'invalidate' | 'sync' | 'other';

/** Bytes from `base`. A scope without a range covers every address. */
export interface AddrRange {
  readonly base: bigint;
  readonly bytes: bigint;
}

export interface Scope {
  readonly cache: CacheKind;
  /** SMMUv3 translation regime: non-secure non-hypervisor (guest), EL2 or EL3 entries. */
  readonly regime?: 'nh' | 'el2' | 'el3';
  /** SMMUv3: which stage's entries (1, 2, or both when absent). */
  readonly stage?: 1 | 2;
  readonly vmid?: number;
  readonly asid?: number;
  readonly did?: number;
  readonly pasid?: number;
  /** SMMUv3 SubstreamID (CD, ATC with SSV). */
  readonly ssid?: number;
  readonly sid?: number;
  /** SID bits that are ignored when matching (CFGI_STE_RANGE, VT-d function mask). */
  readonly sidIgnore?: number;
  readonly range?: AddrRange;
  /** Only leaf entries (SMMUv3 LEAF, VT-d IH). */
  readonly leaf?: boolean;
  /** VT-d interrupt-entry cache: 2^IM entries from IIDX. */
  readonly index?: { readonly base: number; readonly count: number };
}

export interface Classified {
  readonly role: Role;
  readonly scope?: Scope;
}

const UNITS: readonly [bigint, string][] = [
  [1n << 40n, 'T'],
  [1n << 30n, 'G'],
  [1n << 20n, 'M'],
  [1n << 10n, 'K'],
];

/** `4K`, `2M`, `0x1800`: sizes as kernel people write them. */
export function fmtBytes(b: bigint): string {
  for (const [unit, name] of UNITS) if (b >= unit && b % unit === 0n) return `${b / unit}${name}`;
  return hex(b);
}

/** A range of `bytes` at `base`, or undefined (every address) when it covers the 64-bit space. */
export function addrRange(base: bigint, bytes: bigint): AddrRange | undefined {
  return bytes >= 1n << 64n ? undefined : { base: base & ~(bytes - 1n), bytes };
}

/** `iotlb vmid=0 asid=1 0xffff6000+4K leaf`: one line for tables and the TUI. */
export function describeScope(s: Scope): string {
  const out: string[] = [s.cache];
  if (s.regime && s.regime !== 'nh') out.push(s.regime);
  if (s.stage !== undefined) out.push(`s${s.stage}`);
  for (const k of ['vmid', 'asid', 'did', 'pasid', 'ssid'] as const) if (s[k] !== undefined) out.push(`${k}=${s[k]}`);
  if (s.sid !== undefined) {
    const ign = s.sidIgnore ?? 0;
    // SIDs are 32-bit: `>>> 0` keeps one at or above 2^31 unsigned after the bit operation.
    const lo = (s.sid & ~ign) >>> 0;
    out.push(ign === 0 ? `sid=${hex(s.sid)}` : ign >= 0xffffffff ? 'sid=*' : `sid=${hex(lo)}..${hex(lo + ign)}`);
  }
  if (s.index) out.push(`index=${s.index.base}+${s.index.count}`);
  if (s.range) out.push(`${hex(s.range.base)}+${fmtBytes(s.range.bytes)}`);
  else if (s.cache === 'iotlb' || s.cache === 'atc' || s.cache === 'devtlb') out.push('all');
  if (s.leaf) out.push('leaf');
  return out.join(' ');
}

/** Whether [a.base, a.base+a.bytes) and [b.base, b.base+b.bytes) overlap; undefined = everything. */
export function rangesOverlap(a: AddrRange | undefined, b: AddrRange | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  return a.base < b.base + b.bytes && b.base < a.base + a.bytes;
}

/** Whether `outer` covers all of `inner` (undefined = everything). */
export function rangeCovers(outer: AddrRange | undefined, inner: AddrRange | undefined): boolean {
  if (outer === undefined) return true;
  if (inner === undefined) return false;
  return outer.base <= inner.base && inner.base + inner.bytes <= outer.base + outer.bytes;
}
