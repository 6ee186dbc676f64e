// Derived values of SMMUv3 commands: TLBI ranges (TG/SCALE/NUM, spec/smmuv3.md §3), ATC_INV spans,
// CFGI_STE_RANGE StreamID spans, and the cache scope of each command.

import { exact } from '../bits.js';
import type { Decoded } from '../codec/codec.js';
import { smmuv3Op, TLBI_TG, type Smmuv3InvalidateName } from './commands.js';
import { addrRange, type AddrRange, type Classified, type Scope } from '../scope.js';

/**
 * The range a TLBI covers (spec/smmuv3.md §3). TG = 0: one address; its page size comes from the
 * translation config, which a command does not carry, so 4 KiB is taken (as QEMU's IOTLB does).
 * TG != 0: (NUM+1) << SCALE pages of 2^(2*TG+10) bytes from ADDR.
 */
export function tlbiRange(f: Decoded['fields']): { range: AddrRange; granule: bigint; pages: bigint } {
  const tg = f.TG ?? TLBI_TG.NONE;
  const addr = f.ADDR ?? 0n;
  if (tg === TLBI_TG.NONE) return { range: { base: addr, bytes: 4096n }, granule: 4096n, pages: 1n };
  const granule = 1n << (2n * tg + 10n);
  const pages = ((f.NUM ?? 0n) + 1n) << (f.SCALE ?? 0n);
  return { range: { base: addr, bytes: pages * granule }, granule, pages };
}

/** ATC_INV: 4 KiB << SIZE bytes, ADDR aligned down to the span; SIZE 52 (or more) = everything. */
export function atcRange(f: Decoded['fields']): AddrRange | undefined {
  const size = f.SIZE ?? 0n;
  if (size >= 52n) return undefined;
  return addrRange(f.ADDR ?? 0n, 4096n << size);
}

/** CFGI_STE_RANGE covers 2^(RANGE+1) StreamIDs aligned down from SID; RANGE 31 = all. */
export function steRangeIgnore(range: bigint): number {
  return Number((1n << (range + 1n)) - 1n);
}

const n = (v: bigint | undefined) => Number(v ?? 0n);
const va = (f: Decoded['fields']) => ({ range: tlbiRange(f).range, leaf: f.LEAF === 1n });

/** The cache scope of each invalidation, by command (every row whose role is invalidate). */
const SCOPES: { readonly [N in Smmuv3InvalidateName]: (f: Decoded['fields']) => Scope } = {
  CMD_CFGI_STE: (f) => ({ cache: 'ste', sid: n(f.SID) }),
  CMD_CFGI_STE_RANGE: (f) => ({ cache: 'ste', sid: n(f.SID), sidIgnore: steRangeIgnore(f.RANGE ?? 0n) }),
  CMD_CFGI_CD: (f) => ({ cache: 'cd', sid: n(f.SID), ssid: n(f.SSID) }),
  CMD_CFGI_CD_ALL: (f) => ({ cache: 'cd', sid: n(f.SID) }),
  CMD_TLBI_NH_ALL: (f) => ({ cache: 'iotlb', regime: 'nh', stage: 1, vmid: n(f.VMID) }),
  CMD_TLBI_NH_ASID: (f) => ({ cache: 'iotlb', regime: 'nh', stage: 1, vmid: n(f.VMID), asid: n(f.ASID) }),
  CMD_TLBI_NH_VA: (f) => ({ cache: 'iotlb', regime: 'nh', stage: 1, vmid: n(f.VMID), asid: n(f.ASID), ...va(f) }),
  CMD_TLBI_NH_VAA: (f) => ({ cache: 'iotlb', regime: 'nh', stage: 1, vmid: n(f.VMID), ...va(f) }),
  CMD_TLBI_EL3_ALL: () => ({ cache: 'iotlb', regime: 'el3' }),
  CMD_TLBI_EL3_VA: (f) => ({ cache: 'iotlb', regime: 'el3', ...va(f) }),
  CMD_TLBI_EL2_ALL: () => ({ cache: 'iotlb', regime: 'el2' }),
  CMD_TLBI_EL2_ASID: (f) => ({ cache: 'iotlb', regime: 'el2', asid: n(f.ASID) }),
  CMD_TLBI_EL2_VA: (f) => ({ cache: 'iotlb', regime: 'el2', asid: n(f.ASID), ...va(f) }),
  CMD_TLBI_EL2_VAA: (f) => ({ cache: 'iotlb', regime: 'el2', ...va(f) }),
  CMD_TLBI_S12_VMALL: (f) => ({ cache: 'iotlb', regime: 'nh', vmid: n(f.VMID) }),
  CMD_TLBI_S2_IPA: (f) => ({ cache: 'iotlb', regime: 'nh', stage: 2, vmid: n(f.VMID), ...va(f) }),
  CMD_TLBI_NSNH_ALL: () => ({ cache: 'iotlb', regime: 'nh' }),
  CMD_ATC_INV: (f) => {
    const range = atcRange(f);
    return { cache: 'atc', sid: n(f.SID), ...(f.SSV === 1n ? { ssid: n(f.SSID) } : {}), ...(range ? { range } : {}) };
  },
};

/** Role from the table's role column; the scope of an invalidation from SCOPES. */
export function classifySmmuv3(d: Decoded): Classified {
  const op = smmuv3Op(d);
  if (op === undefined) return { role: 'other' }; // an opcode no row has
  if (op.role !== 'invalidate') return { role: op.role };
  return { role: 'invalidate', scope: SCOPES[op.name](d.fields) };
}

/** Values a reader wants beside the fields: ranges, spans, enumerations by name. */
export function deriveSmmuv3(d: Decoded): Record<string, string | number> {
  const f = d.fields;
  const out: Record<string, string | number> = {};
  if (f.TG !== undefined && f.ADDR !== undefined) {
    const { range, granule, pages } = tlbiRange(f);
    out.granule_bytes = exact(granule);
    out.pages = exact(pages);
    out.range_base = `0x${range.base.toString(16)}`;
    out.range_bytes = exact(range.bytes);
    out.kind = f.TG === TLBI_TG.NONE ? 'single address' : 'range (RIL)';
  }
  if (d.name === 'CMD_ATC_INV') {
    const r = atcRange(f);
    out.span = r ? `${Number(r.bytes / 4096n)} pages` : 'everything (SIZE >= 52)';
    if (r) {
      out.range_base = `0x${r.base.toString(16)}`;
      out.range_bytes = exact(r.bytes);
    }
  }
  if (d.name === 'CMD_CFGI_STE_RANGE') {
    const ign = steRangeIgnore(f.RANGE ?? 0n);
    out.sids = ign >= 0xffffffff ? 'all' : `0x${((Number(f.SID) & ~ign) >>> 0).toString(16)}+${ign + 1}`;
  }
  return out;
}
