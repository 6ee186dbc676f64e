// pv-map: a virtio-iommu-like paravirtual interface on the same workload. The guest sends MAP and
// UNMAP requests instead of invalidations, batched per virtqueue kick the way Linux's virtio-iommu
// driver batches them (drivers/iommu/virtio-iommu.c: viommu_map_pages and viommu_unmap_pages only
// queue a request with viommu_add_req; viommu_iotlb_sync_map and viommu_iotlb_sync send the queue
// with viommu_sync_req, which kicks and waits for every request). Each kick is one trap to the VMM;
// the VMM decodes each request and has the host map or unmap it (iommufd IOMMU_IOAS_MAP/UNMAP on
// the domain's IOAS, or VFIO type1): a map pins pages and needs no flush, an unmap flushes the
// host IOTLB (and ATS device TLBs) of every HWPT of that IOAS inside the call and unpins. The
// request completes synchronously, so the guest's sync point completes with its kick.
// Mapping the trace onto requests: each IOTLB invalidation with cause map/unmap is one MAP/UNMAP
// request of its range; a guest completion point (CMD_SYNC / wait) is the driver's sync, i.e. a
// kick. An invalidation with no recorded cause is an UNMAP. An UNMAP of a range no MAP request of
// the trace created (a trace without caching mode shows no map, or the page was mapped before the
// trace began) had its MAP earlier, in a kick of its own (viommu_iotlb_sync_map after each map):
// counted with the UNMAP, and reported as `maps_inferred`.
// Device-TLB/ATC invalidations have no request (the host flushes ATS devices on unmap);
// configuration invalidations become ATTACH requests the VMM handles.

import { classify } from '../../formats/classify.js';
import type { Decoded } from '../../formats/codec/codec.js';
import { checkVariant, type Policy, type PolicyContext, type Variant } from '../policy.js';
import { domainOf, hostMap, hostUnmap, iotlbScope, MappedPages, pagesOf, unmapFlush } from './mapping.js';
import { counters } from './counters.js';
import { completionPoint, VmmState } from './steps.js';

const CONFIG_CACHES = new Set(['ste', 'cd', 'context', 'pasid']);

/** A request in the current virtqueue batch (not yet kicked). */
interface Request {
  readonly pos: number;
  readonly d: Decoded;
  readonly kind: 'map' | 'unmap' | 'attach' | 'none';
}

class PvState {
  readonly st = new VmmState();
  readonly mapped = new MappedPages();
  readonly stats = counters(
    'kicks',
    'map_requests',
    'unmap_requests',
    'attach_requests',
    'maps_inferred',
    'pages_pinned',
    'pages_unpinned',
  );
  readonly queued: Request[] = [];
}

/** One guest command becomes a request (or nothing) in the current batch. */
function requestOf(ctx: PolicyContext, pos: number, d: Decoded): Request {
  const owner = ctx.vmm.owner(d);
  if (owner === 'host') {
    const s = iotlbScope(d);
    if (s === undefined) return { pos, d, kind: 'attach' }; // SMMUv3 CFGI_CD(_ALL): a configuration change
    return { pos, d, kind: ctx.cause(pos) === 'map' ? 'map' : 'unmap' };
  }
  // Configuration changes (STE/CD, context/PASID entries) are ATTACH requests; interrupt-entry
  // cache, prefetch and page responses have no virtio-iommu request; device-TLB/ATC invalidations
  // are covered by the host's unmap.
  const cache = classify(d).scope?.cache;
  if (owner === 'vmm' && cache !== undefined && CONFIG_CACHES.has(cache)) return { pos, d, kind: 'attach' };
  return { pos, d, kind: 'none' };
}

/** Executes one request on the host. */
function serve(ctx: PolicyContext, p: PvState, r: Request): void {
  if (r.kind === 'none') {
    ctx.executed(r.pos);
    return;
  }
  ctx.op('vmm_cmd', `virtio-iommu ${r.kind.toUpperCase()}`);
  if (r.kind === 'attach') {
    p.stats.attach_requests++;
    ctx.vmm.execute(r.d, ctx.host);
    ctx.executed(r.pos);
    return;
  }
  const s = iotlbScope(r.d)!;
  const dom = domainOf(s, ctx.arch) ?? -1;
  const pages = pagesOf(s);
  if (r.kind === 'map') {
    p.stats.map_requests++;
    if (pages !== undefined) p.mapped.add(dom, pages);
    p.stats.pages_pinned += pages?.length ?? 0;
    hostMap(ctx, pages?.length ?? 0, 'IOMMU_IOAS_MAP');
    ctx.executed(r.pos);
    return;
  }
  p.stats.unmap_requests++;
  const removed = p.mapped.remove(dom, pages);
  p.stats.pages_unpinned += pages?.length ?? removed;
  hostUnmap(ctx, r.pos, r.d, unmapFlush(ctx, r.d), pages?.length ?? removed, 'IOMMU_IOAS_UNMAP');
}

/** The guest's earlier MAP of a range the trace shows no MAP of: its own kick. */
function inferredMap(ctx: PolicyContext, p: PvState, r: Request): void {
  if (r.kind !== 'unmap') return;
  const s = iotlbScope(r.d)!;
  const pages = pagesOf(s);
  if (pages === undefined) return; // a domain-wide flush stands for many unmaps of unknown ranges
  if (p.mapped.has(domainOf(s, ctx.arch) ?? -1, pages[0]!)) return;
  p.stats.maps_inferred++;
  p.stats.map_requests++;
  p.stats.kicks++;
  ctx.op('trap', 'virtqueue kick (MAP, inferred)');
  ctx.op('vmm_cmd', 'virtio-iommu MAP');
  p.stats.pages_pinned += pages.length;
  hostMap(ctx, pages.length, 'IOMMU_IOAS_MAP');
}

/** viommu_sync_req: one kick for the queued requests, served in order. */
function kick(ctx: PolicyContext, p: PvState): void {
  if (p.queued.length === 0) return;
  for (const r of p.queued) inferredMap(ctx, p, r);
  if (p.queued.some((r) => r.kind !== 'none')) {
    p.stats.kicks++;
    ctx.op('trap', 'virtqueue kick');
  }
  for (const r of p.queued) serve(ctx, p, r);
  p.queued.length = 0;
}

function walkPv(ctx: PolicyContext, p: PvState, prod: number): void {
  for (let pos = ctx.cons; pos < prod; pos++) {
    const d = ctx.command(pos);
    const owner = ctx.vmm.owner(d);
    if (owner === 'illegal') {
      kick(ctx, p);
      ctx.setCons(pos);
      ctx.raise(pos, ctx.vmm.illegal(d)); // the guest would have had the same request refused
      return;
    }
    if (owner === 'sync') {
      kick(ctx, p);
      if (!completionPoint(ctx, p.st, pos)) return;
      continue;
    }
    p.queued.push(requestOf(ctx, pos, d));
  }
  kick(ctx, p);
  ctx.setCons(prod);
}

export function pvMap(variant: Variant, name: string): Policy {
  checkVariant(variant, [], name);
  const p = new PvState();
  return {
    name,
    // No doorbell trap: the guest's queue writes stand for requests it queues; kicks trap.
    doorbell(ctx, prod) {
      if (ctx.error === undefined) walkPv(ctx, p, prod);
    },
    ack(ctx, prod) {
      walkPv(ctx, p, prod);
    },
    detail: () => ({ ...p.stats }),
  };
}
