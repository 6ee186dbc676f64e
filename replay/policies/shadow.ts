// shadow: tlbi-on-map in practice — QEMU's legacy VT-d with an assigned (VFIO) device and caching
// mode on (spec/vtd.md §6.3; seed 002). CAP.CM makes the guest invalidate on map as well as on
// unmap. Every guest IOTLB invalidation traps; for each assigned device of the domain the VMM walks
// the guest page table over the range (hw/i386/intel_iommu.c: vtd_iotlb_page_invalidate_notify →
// vtd_sync_shadow_page_table_range → vtd_page_walk; a domain- or global invalidation resyncs the
// whole address space, vtd_sync_shadow_page_table), and the IOMMU notifier turns what changed into
// VFIO_IOMMU_MAP_DMA for entries that became present and VFIO_IOMMU_UNMAP_DMA for removed ones
// (hw/vfio/common.c vfio_iommu_map_notify → vfio_dma_map / vfio_dma_unmap; hw/vfio/listener.c in
// newer trees). Each device sits in its own VFIO container (its own address space), so the work
// repeats per device. The host flushes its IOTLB inside unmap; a map pins pages and needs no flush.
// Device-TLB descriptors are not forwarded (vtd_process_device_iotlb_desc only notifies vhost's
// DEVIOTLB listeners): the host flushed the device TLBs in the unmap.
// Which invalidations are maps comes from the trace's `cause` column (recorded by gen, inferred at
// ingest for caching-mode captures); an invalidation with no cause is taken as an unmap (all a
// guest without caching mode sends). On SMMUv3 the same path is the tlbi-on-map RFC: QEMU's SMMUv3
// has no MAP notifier, so VFIO behind an emulated SMMUv3 needs exactly this.

import { objectsWithDevices } from '../vmm/arch.js';
import { checkVariant, type Policy, type PolicyContext, type PolicyDetail, type Variant } from '../policy.js';
import { domainOf, hostMap, hostUnmap, iotlbScope, MappedPages, pagesOf, unmapFlush } from './mapping.js';
import { counters } from './counters.js';
import { completionPoint, trappedPolicy, VmmState } from './steps.js';

/** Page-table levels a walk reads above the leaf (4-level tables: 48-bit VT-d SAGAW, SMMUv3 4K granule). */
export const UPPER_LEVELS = 3;

/** What the shadow path did, for the summary. */
export const shadowCounters = () => counters('map_flushes', 'unmap_flushes', 'cause_unknown', 'pages_pinned', 'pages_unpinned', 'walks');
export type ShadowStats = ReturnType<typeof shadowCounters>;

/** The shadow path's summary detail: its counters, after a note when the trace has no map flush to shadow. */
export function shadowDetail(stats: ShadowStats): PolicyDetail {
  return {
    ...(stats.map_flushes === 0 && stats.unmap_flushes > 0
      ? {
          note: 'no map flush in the trace (caching mode off): shadowing needs one (QEMU refuses VFIO behind intel-iommu without caching-mode=on); map work is missing',
        }
      : {}),
    ...stats,
  };
}

/**
 * One guest IOTLB invalidation at `pos` through the shadow path: per device of the domain, a walk
 * of the range and the VFIO map or unmap it leads to. The command has then taken effect.
 */
export function shadowInvalidation(ctx: PolicyContext, pos: number, mapped: MappedPages, stats: ShadowStats): void {
  const d = ctx.command(pos);
  const scope = iotlbScope(d);
  if (scope === undefined) {
    ctx.executed(pos); // not an IOTLB invalidation (e.g. SMMUv3 CFGI_CD): the VMM drops its own cache
    return;
  }
  const dom = domainOf(scope, ctx.arch);
  const devices = ctx.topology.devices.filter((x) => dom === undefined || x.domain === dom);
  const pages = pagesOf(scope);
  const recorded = ctx.cause(pos);
  if (recorded === undefined) stats.cause_unknown++;
  const cause = recorded ?? 'unmap';
  if (cause === 'map') stats.map_flushes++;
  else stats.unmap_flushes++;
  for (const dev of devices) {
    // The walk: the leaf entries of the range (every shadowed page for a domain-wide resync) and
    // the table levels above them.
    const leaves = pages?.length ?? mapped.count(dev.sid);
    stats.walks++;
    for (let i = 0; i < UPPER_LEVELS + leaves; i++) ctx.op('pt_read', 'guest page-table entry');
    if (cause === 'map') {
      if (pages === undefined) continue; // a resync finds nothing new to map that it can count
      mapped.add(dev.sid, pages);
      stats.pages_pinned += pages.length;
      hostMap(ctx, pages.length, 'VFIO_IOMMU_MAP_DMA');
    } else {
      const removed = mapped.remove(dev.sid, pages);
      const n = pages?.length ?? removed;
      stats.pages_unpinned += n;
      const objs = objectsWithDevices(ctx.host, [dev.sid]).map((o) => o.id);
      hostUnmap(ctx, pos, d, unmapFlush(ctx, d, objs), n, 'VFIO_IOMMU_UNMAP_DMA');
    }
  }
  ctx.executed(pos);
}

/** The trapped walk of the shadow path over [ctx.cons, prod). */
function walkShadow(ctx: PolicyContext, st: VmmState, prod: number, mapped: MappedPages, stats: ShadowStats): void {
  for (let pos = ctx.cons; pos < prod; pos++) {
    const d = ctx.command(pos);
    ctx.op('vmm_cmd', d.name);
    const owner = ctx.vmm.owner(d);
    if (owner === 'illegal') {
      ctx.raise(pos, ctx.vmm.illegal(d));
      return;
    }
    if (owner === 'sync') {
      if (!completionPoint(ctx, st, pos)) return;
      continue;
    }
    if (owner === 'host') shadowInvalidation(ctx, pos, mapped, stats);
    else {
      if (owner === 'vmm') ctx.vmm.execute(d, ctx.host); // context/PASID cache: re-attach
      ctx.executed(pos); // devtlb: the unmap already flushed the device TLBs
    }
    ctx.setCons(pos + 1);
  }
}

export function shadow(variant: Variant, name: string): Policy {
  checkVariant(variant, [], name);
  const st = new VmmState();
  const mapped = new MappedPages();
  const stats = shadowCounters();
  return {
    ...trappedPolicy(name, (ctx, prod) => walkShadow(ctx, st, prod, mapped, stats)),
    detail: () => shadowDetail(stats),
  };
}
