// What each invalidation descriptor removes from a unit's caches (spec/vtd.md §2.2 for the fields,
// §3 for AM and the device-TLB size): one case per descriptor type. Waits, timeouts and errors are
// the queue's business (unit.ts); here only cache effects. Each effect carries the text QEMU's
// trace event prints for the same descriptor (spec/vtd.md §6.4), so replays compare with QEMU logs.

import { hex } from '../../formats/bits.js';
import type { Decoded } from '../../formats/codec/codec.js';
import { CC_G, IEC_G, IOTLB_G, PC_G, PIOTLB_G, vtdOp, type VtdDescName } from '../../formats/vtd/descriptors.js';
import { devtlbRange, FM_IGNORE, psiRange, classifyVtd } from '../../formats/vtd/scope.js';
import { unreachable } from '../../formats/result.js';
import type { AddrRange, Scope } from '../../formats/scope.js';
import type { CacheEffect } from '../unit.js';
import type { VtdCaches } from './caches.js';
import { NO_PASID, tagOf, tagPasid, type TagSelect } from './pagecache.js';
import { LEVEL_SHIFT_N } from './pagetable.js';
import { rangeBounds, type Bounds } from '../level-cache.js';
import type { IndexMap } from '../index-map.js';

const n = (v: bigint | undefined): number => Number(v ?? 0n);
const ALL_LEVELS = 0b11110;
/** Paging-structure entries sit at levels 2..4 (a level-1 entry is always a leaf). */
const WALK_LEVELS = 0b11100;

/** Collects effects only when someone listens (no allocation per descriptor otherwise). */
export type EffectSink = CacheEffect[] | undefined;

/** `detail` is computed by the caller only when there is a sink (`out && text`): undefined otherwise. */
function effect(out: EffectSink, d: Decoded, cache: CacheEffect['cache'], dropped: number, detail: string | undefined): void {
  if (out === undefined) return;
  const scope: Scope = classifyVtd(d).scope ?? { cache: cache === 'walk' ? 'iotlb' : cache };
  out.push({ cache, dropped, scope, detail: detail ?? '' });
}

/** Removes the entries of a context or PASID cache (key → DID) that `keep` refuses; returns how many. */
function dropMapEntries(m: IndexMap<number>, keep: (key: number, did: number) => boolean): number {
  const keys: number[] = [];
  const n = m.keysInto(keys); // keys first: a delete moves entries within the table
  let dropped = 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (!keep(k, m.get(k)!)) {
      m.delete(k);
      dropped++;
    }
  }
  return dropped;
}

/**
 * Applies an invalidation descriptor (already validated) to the caches. Pushes what it removed
 * to `out` when given. Wait and response descriptors have no cache effect here. `drop`: what an
 * IOTLB or device-TLB invalidation drops (prepareDrop(d)), when the caller has it already.
 */
export function invalidate(c: VtdCaches, d: Decoded, out: EffectSink, drop?: PreparedDrop): void {
  const f = d.fields;
  const op = vtdOp(d);
  if (op === undefined) return; // an invalid type never reaches here (the unit refuses it with IQE)
  const name = op.name;
  if (out === undefined && nothingToDrop(c, name)) return; // the hot path of a replay without probes
  switch (name) {
    case 'cc_inv': {
      // §2.2 type 0x1. Device-selective matches the SID under the function mask (FM) and ignores
      // DID, as QEMU does; QEMU also turns domain-selective into global, we keep it selective.
      if (f.G === CC_G.GLOBAL) return effect(out, d, 'context', clearMap(c.context), 'context invalidate globally');
      if (f.G === CC_G.DOMAIN) {
        const did = n(f.DID);
        return effect(
          out,
          d,
          'context',
          dropMapEntries(c.context, (_, e) => e !== did),
          `context invalidate domain ${hex(did)}`,
        );
      }
      const ign = FM_IGNORE[n(f.FM)]!;
      const sid = n(f.SID) & ~ign;
      return effect(
        out,
        d,
        'context',
        dropMapEntries(c.context, (s) => (s & ~ign) !== sid),
        `context invalidate devices sid ${hex(n(f.SID))} fmask ${hex(n(f.FM))}`,
      );
    }
    case 'iotlb_inv':
    case 'p_iotlb_inv':
    case 'dev_tlb_inv':
    case 'p_dev_tlb_inv':
      return applyDrop(c, d, drop ?? prepareDrop(d)!, out, out && dropDetail(name, f));
    case 'iec_inv': {
      // §2.2 type 0x4: G=0 global; G=1 2^IM entries from IIDX (low IM bits ignored, like AM).
      const detail = `granularity ${hex(n(f.G))} index ${hex(n(f.IIDX))} mask ${hex(n(f.IM))}`;
      if (f.G !== IEC_G.INDEX) {
        const dropped = c.iec.size;
        c.iec.clear();
        return effect(out, d, 'iec', dropped, detail);
      }
      const count = 2 ** n(f.IM);
      const base = n(f.IIDX) & ~(count - 1);
      let dropped = 0;
      if (count <= c.iec.size) {
        for (let i = base; i < base + count; i++) if (c.iec.delete(i)) dropped++;
      } else {
        for (const i of c.iec) if (i >= base && i < base + count && c.iec.delete(i)) dropped++;
      }
      return effect(out, d, 'iec', dropped, detail);
    }
    case 'pc_inv': {
      // §2.2 type 0x7: G 0 every PASID of the DID, 1 one PASID of the DID, 3 global.
      const did = n(f.DID);
      const pasid = n(f.PASID);
      if (f.G === PC_G.GLOBAL) return effect(out, d, 'pasid', clearMap(c.pasid), 'pasid cache invalidate global');
      if (f.G === PC_G.DOMAIN)
        return effect(
          out,
          d,
          'pasid',
          dropMapEntries(c.pasid, (_, e) => e !== did),
          `pasid cache invalidate domain ${hex(did)}`,
        );
      return effect(
        out,
        d,
        'pasid',
        dropMapEntries(c.pasid, (k, e) => e !== did || tagPasid(k) !== pasid),
        `pasid cache invalidate domain ${hex(did)} pasid ${hex(pasid)}`,
      );
    }
    case 'inv_wait':
    case 'page_grp_resp':
    case 'page_strm_resp':
      return;
    default:
      return unreachable(name);
  }
}

/**
 * What an IOTLB or device-TLB invalidation drops, worked out once per decoded descriptor (the unit
 * keeps it with the prepared descriptor, prepared.ts): the tags it selects and its range's indexes
 * at every level, so that running it again converts no field and makes no object (`invalidate`
 * derives them from the fields on every run). undefined for the other descriptors, which take
 * `invalidate`.
 */
export interface PreparedDrop {
  /** 'tlb': the IOTLB, and the paging-structure caches unless `ih`; 'devtlb': device `sid`'s device TLB. */
  readonly cache: 'tlb' | 'devtlb';
  readonly select: TagSelect;
  /** The range's indexes (rangeBounds with LEVEL_SHIFT_N); undefined: every address. */
  readonly bounds: Bounds | undefined;
  readonly ih: boolean;
  readonly sid: number;
}

/** `invalidate`'s choice of tags and range for `d`, when it is an IOTLB or device-TLB invalidation (see PreparedDrop). */
export function prepareDrop(d: Decoded): PreparedDrop | undefined {
  const f = d.fields;
  const op = vtdOp(d);
  if (op === undefined) return undefined;
  const bounds = (r: AddrRange | undefined): Bounds | undefined => (r === undefined ? undefined : rangeBounds(r, LEVEL_SHIFT_N));
  const tlb = (select: TagSelect, r: AddrRange | undefined, ih: boolean): PreparedDrop => ({
    cache: 'tlb',
    select,
    bounds: bounds(r),
    ih,
    sid: 0,
  });
  const name = op.name;
  switch (name) {
    case 'iotlb_inv': {
      // §2.2 type 0x2: G 1 global, 2 domain (every PASID of the DID), 3 page-selective (2^AM pages, IH).
      const did = n(f.DID);
      if (f.G === IOTLB_G.GLOBAL) return tlb('all', undefined, false);
      if (f.G === IOTLB_G.DOMAIN) return tlb({ id: did }, undefined, false);
      return tlb({ id: did }, psiRange(f), f.IH === 1n);
    }
    case 'p_iotlb_inv': {
      // §2.2 type 0x6: G 2 PASID-selective, 3 page-selective-within-PASID.
      const tag = { tag: tagOf(n(f.DID), n(f.PASID)) };
      if (f.G === PIOTLB_G.PASID) return tlb(tag, undefined, false);
      return tlb(tag, psiRange(f), f.IH === 1n);
    }
    case 'dev_tlb_inv':
      // §2.2 type 0x3: translations the device cached for requests without PASID; size by S (§3).
      return { cache: 'devtlb', select: { tag: tagOf(0, NO_PASID) }, bounds: bounds(devtlbRange(f)), ih: false, sid: n(f.SID) };
    case 'p_dev_tlb_inv': {
      // §2.2 type 0x8: one PASID of the device, or with G=1 every PASID of it.
      const select: TagSelect = f.G === 1n ? { pasidsOf: 0 } : { tag: tagOf(0, n(f.PASID)) };
      return { cache: 'devtlb', select, bounds: bounds(devtlbRange(f)), ih: false, sid: n(f.SID) };
    }
    case 'cc_inv':
    case 'iec_inv':
    case 'pc_inv':
    case 'inv_wait':
    case 'page_grp_resp':
    case 'page_strm_resp':
      return undefined;
    default:
      return unreachable(name);
  }
}

/**
 * A prepared drop applied: IOTLB leaves and (unless IH keeps them, §3) the paging-structure
 * entries of the selected tags, or the selected entries of one device's TLB.
 */
function applyDrop(c: VtdCaches, d: Decoded, p: PreparedDrop, out: EffectSink, detail: string | undefined): void {
  if (p.cache === 'tlb') {
    effect(out, d, 'iotlb', c.iotlb.dropBounds(p.select, p.bounds, ALL_LEVELS), detail);
    if (!p.ih) effect(out, d, 'walk', c.walk.dropBounds(p.select, p.bounds, WALK_LEVELS), detail);
    return;
  }
  const t = c.devtlb.get(p.sid);
  effect(out, d, 'devtlb', t === undefined ? 0 : t.dropBounds(p.select, p.bounds, ALL_LEVELS), detail);
}

/** The text of an IOTLB or device-TLB invalidation's effects. */
function dropDetail(name: 'iotlb_inv' | 'p_iotlb_inv' | 'dev_tlb_inv' | 'p_dev_tlb_inv', f: Decoded['fields']): string {
  const did = n(f.DID);
  switch (name) {
    case 'iotlb_inv':
      if (f.G === IOTLB_G.GLOBAL) return 'iotlb invalidate global';
      if (f.G === IOTLB_G.DOMAIN) return `iotlb invalidate whole domain ${hex(did)}`;
      return `iotlb invalidate domain ${hex(did)} addr ${hex(f.ADDR ?? 0n)} mask ${hex(n(f.AM))}`;
    case 'p_iotlb_inv': {
      const pasid = n(f.PASID);
      if (f.G === PIOTLB_G.PASID) return `iotlb invalidate domain ${hex(did)} pasid ${hex(pasid)}`;
      return `iotlb invalidate domain ${hex(did)} addr ${hex(f.ADDR ?? 0n)} mask ${hex(n(f.AM))} pasid ${hex(pasid)}`;
    }
    case 'dev_tlb_inv':
      return devtlbDetail(n(f.SID), undefined, devtlbRange(f));
    case 'p_dev_tlb_inv':
      return devtlbDetail(n(f.SID), f.G === 1n ? 'all' : n(f.PASID), devtlbRange(f));
  }
}

/**
 * `invalidate(c, d, undefined)` for a descriptor whose drop is prepared (`p`, prepareDrop(d)): the
 * same entries removed, with nothing to report.
 */
export function invalidatePrepared(c: VtdCaches, d: Decoded, p: PreparedDrop | undefined): void {
  if (p === undefined) return invalidate(c, d, undefined);
  if (p.cache === 'tlb' ? c.iotlb.size === 0 && c.walk.size === 0 : c.devtlb.size === 0) return;
  applyDrop(c, d, p, undefined, undefined);
}

/** Whether the caches `name` invalidates are all empty (then it has no effect to compute). */
function nothingToDrop(c: VtdCaches, name: VtdDescName): boolean {
  switch (name) {
    case 'cc_inv':
      return c.context.size === 0;
    case 'iotlb_inv':
    case 'p_iotlb_inv':
      return c.iotlb.size === 0 && c.walk.size === 0;
    case 'dev_tlb_inv':
    case 'p_dev_tlb_inv':
      return c.devtlb.size === 0;
    case 'iec_inv':
      return c.iec.size === 0;
    case 'pc_inv':
      return c.pasid.size === 0;
    case 'inv_wait':
    case 'page_grp_resp':
    case 'page_strm_resp':
      return true;
    default:
      return unreachable(name);
  }
}

function clearMap(m: IndexMap<number>): number {
  const dropped = m.size;
  m.clear();
  return dropped;
}

function devtlbDetail(sid: number, pasid: number | 'all' | undefined, r: AddrRange | undefined): string {
  const what = r === undefined ? 'all' : `addr ${hex(r.base)} size ${hex(r.bytes)}`;
  return `device-tlb invalidate sid ${hex(sid)}${pasid === undefined ? '' : ` pasid ${pasid === 'all' ? 'all' : hex(pasid)}`} ${what}`;
}
