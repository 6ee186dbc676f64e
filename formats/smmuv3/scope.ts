// Derived values of SMMUv3 commands: TLBI ranges (TG/SCALE/NUM, spec/smmuv3.md §3), ATC_INV spans,
// CFGI_STE_RANGE StreamID spans, and the cache scope of each command.

import { exact } from '../bits.js';
import type { Decoded } from '../codec/codec.js';
import { addrRange, type AddrRange, type Classified, type Scope } from '../scope.js';

/**
 * The range a TLBI covers (spec/smmuv3.md §3). TG = 0: one address; its page size comes from the
 * translation config, which a command does not carry, so 4 KiB is taken (as QEMU's IOTLB does).
 * TG != 0: (NUM+1) << SCALE pages of 2^(2*TG+10) bytes from ADDR.
 */
export function tlbiRange(f: Decoded['fields']): { range: AddrRange; granule: bigint; pages: bigint } {
  const tg = f.TG ?? 0n;
  const addr = f.ADDR ?? 0n;
  if (tg === 0n) return { range: { base: addr, bytes: 4096n }, granule: 4096n, pages: 1n };
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

export function classifySmmuv3(d: Decoded): Classified {
  const f = d.fields;
  const inv = (scope: Scope): Classified => ({ role: 'invalidate', scope });
  const va = () => {
    const { range } = tlbiRange(f);
    return { range, leaf: f.LEAF === 1n };
  };
  switch (d.name) {
    case 'CMD_SYNC': return { role: 'sync' };
    case 'CMD_CFGI_STE': return inv({ cache: 'ste', sid: n(f.SID) });
    case 'CMD_CFGI_STE_RANGE': return inv({ cache: 'ste', sid: n(f.SID), sidIgnore: steRangeIgnore(f.RANGE ?? 0n) });
    case 'CMD_CFGI_CD': return inv({ cache: 'cd', sid: n(f.SID), ssid: n(f.SSID) });
    case 'CMD_CFGI_CD_ALL': return inv({ cache: 'cd', sid: n(f.SID) });
    case 'CMD_TLBI_NH_ALL': return inv({ cache: 'iotlb', regime: 'nh', stage: 1, vmid: n(f.VMID) });
    case 'CMD_TLBI_NH_ASID': return inv({ cache: 'iotlb', regime: 'nh', stage: 1, vmid: n(f.VMID), asid: n(f.ASID) });
    case 'CMD_TLBI_NH_VA': return inv({ cache: 'iotlb', regime: 'nh', stage: 1, vmid: n(f.VMID), asid: n(f.ASID), ...va() });
    case 'CMD_TLBI_NH_VAA': return inv({ cache: 'iotlb', regime: 'nh', stage: 1, vmid: n(f.VMID), ...va() });
    case 'CMD_TLBI_EL3_ALL': return inv({ cache: 'iotlb', regime: 'el3' });
    case 'CMD_TLBI_EL3_VA': return inv({ cache: 'iotlb', regime: 'el3', ...va() });
    case 'CMD_TLBI_EL2_ALL': return inv({ cache: 'iotlb', regime: 'el2' });
    case 'CMD_TLBI_EL2_ASID': return inv({ cache: 'iotlb', regime: 'el2', asid: n(f.ASID) });
    case 'CMD_TLBI_EL2_VA': return inv({ cache: 'iotlb', regime: 'el2', asid: n(f.ASID), ...va() });
    case 'CMD_TLBI_EL2_VAA': return inv({ cache: 'iotlb', regime: 'el2', ...va() });
    case 'CMD_TLBI_S12_VMALL': return inv({ cache: 'iotlb', regime: 'nh', vmid: n(f.VMID) });
    case 'CMD_TLBI_S2_IPA': return inv({ cache: 'iotlb', regime: 'nh', stage: 2, vmid: n(f.VMID), ...va() });
    case 'CMD_TLBI_NSNH_ALL': return inv({ cache: 'iotlb', regime: 'nh' });
    case 'CMD_ATC_INV': {
      const range = atcRange(f);
      return inv({ cache: 'atc', sid: n(f.SID), ...(f.SSV === 1n ? { ssid: n(f.SSID) } : {}), ...(range ? { range } : {}) });
    }
    default: return { role: 'other' };
  }
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
    out.kind = f.TG === 0n ? 'single address' : 'range (RIL)';
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
