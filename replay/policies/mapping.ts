// The host side of a mapping change a VMM makes on the guest's behalf (shadow, pv-map): a VFIO
// type1 VFIO_IOMMU_MAP_DMA / VFIO_IOMMU_UNMAP_DMA or an iommufd IOMMU_IOAS_MAP / IOMMU_IOAS_UNMAP.
// A map pins each 4 KiB page and installs it in the host page table, with no flush: the physical
// IOMMU (CAP.CM = 0) caches no non-present entry. An unmap removes the pages, flushes the host
// IOTLB (and the device TLBs of ATS devices) inside the call, then unpins. The flush runs as host
// kernel code through the host model (no IOMMU_HWPT_INVALIDATE ioctl of its own).
// Also: which pages an IOTLB invalidation covers, and the VMM's record of what it has mapped.

import type { Decoded } from '../../formats/codec/codec.js';
import { classify } from '../../formats/classify.js';
import type { Scope } from '../../formats/scope.js';
import type { PolicyContext } from '../policy.js';
import type { HostInv } from '../vmm/arch.js';
import { forwardToHost } from '../vmm/forward.js';

export const PAGE = 4096n;

/** Pages (4 KiB page numbers) an address-scoped invalidation covers; undefined: the whole space. */
export function pagesOf(s: Scope | undefined): bigint[] | undefined {
  if (s?.range === undefined) return undefined;
  const first = s.range.base / PAGE;
  const n = (s.range.bytes + PAGE - 1n) / PAGE;
  const out: bigint[] = [];
  for (let i = 0n; i < n; i++) out.push(first + i);
  return out;
}

/** The IOTLB-level scope of a guest command (undefined for anything else). */
export function iotlbScope(d: Decoded): Scope | undefined {
  const c = classify(d);
  return c.role === 'invalidate' && c.scope?.cache === 'iotlb' ? c.scope : undefined;
}

/** The guest domain a scope names (SMMUv3 ASID, VT-d DID); undefined: every domain. */
export function domainOf(s: Scope, arch: 'smmuv3' | 'vtd'): number | undefined {
  return arch === 'smmuv3' ? s.asid : s.did;
}

/**
 * What the VMM has mapped on the host, per key (a device for shadow, a domain for pv-map): the
 * page numbers. Pages mapped before the trace started are unknown; an unmap of a page not recorded
 * still unmaps its range (the VMM's IOVA tree had it).
 */
export class MappedPages {
  private readonly byKey = new Map<number, Set<bigint>>();

  add(key: number, pages: readonly bigint[]): number {
    let s = this.byKey.get(key);
    if (s === undefined) this.byKey.set(key, (s = new Set()));
    let added = 0;
    for (const p of pages)
      if (!s.has(p)) {
        s.add(p);
        added++;
      }
    return added;
  }

  /** Removes `pages` (all when undefined); returns how many were recorded. */
  remove(key: number, pages: readonly bigint[] | undefined): number {
    const s = this.byKey.get(key);
    if (s === undefined) return 0;
    if (pages === undefined) {
      const n = s.size;
      s.clear();
      return n;
    }
    let n = 0;
    for (const p of pages) if (s.delete(p)) n++;
    return n;
  }

  has(key: number, page: bigint): boolean {
    return this.byKey.get(key)?.has(page) ?? false;
  }

  count(key: number): number {
    return this.byKey.get(key)?.size ?? 0;
  }
}

/** VFIO_IOMMU_MAP_DMA / IOMMU_IOAS_MAP of `pages` pages: one ioctl, one pin per page. */
export function hostMap(ctx: PolicyContext, pages: number, what: string): void {
  ctx.op('map_ioctl', what);
  for (let i = 0; i < pages; i++) ctx.op('pin', 'pin one page');
}

/**
 * VFIO_IOMMU_UNMAP_DMA / IOMMU_IOAS_UNMAP of `pages` pages: one ioctl; inside it the host kernel
 * flushes `flush` (host IOTLB, and device TLBs where the host does that) and unpins each page.
 * The guest command at `pos` has taken effect once the flush did.
 */
export function hostUnmap(ctx: PolicyContext, pos: number, d: Decoded, flush: readonly HostInv[], pages: number, what: string): void {
  ctx.op('map_ioctl', what);
  if (flush.length > 0) ctx.inKernel(() => forwardToHost(ctx, [{ pos, d, invs: flush }]));
  else ctx.executed(pos);
  for (let i = 0; i < pages; i++) ctx.op('pin', 'unpin one page');
}

/**
 * The host flush an unmap of the guest command `d`'s range implies on the objects `objects`
 * (undefined: every object of the guest domain): the IOTLB entries the VMM would have forwarded,
 * plus, on SMMUv3 whose host does not flush ATCs by itself, an ATC_INV per ATS device.
 */
export function unmapFlush(ctx: PolicyContext, d: Decoded, objects?: readonly number[]): HostInv[] {
  const invs = [...ctx.vmm.forward(d, ctx.host, 'all'), ...ctx.vmm.companionDevtlb(d, ctx.host)];
  return objects === undefined ? invs : invs.filter((i) => objects.includes(i.object));
}
