// The configuration cache (one record per StreamID, on a SidTable) against the Maps it used to be
// (STEs by SID, CDs by SID then SSID), on random puts, drops, CFGI_STE_RANGE matches and full
// flushes: the same answers, sizes and flush counts, with StreamIDs on both sides of the
// SidTable's array bound and SubstreamIDs 0 and others.

import { describe, expect, it } from 'vitest';
import { ConfigCache } from './config-cache.js';
import { SidTable } from '../sid-table.js';
import type { Cd, Ste } from './tables.js';
import { steOf } from './tables.js';
import { Rng } from '../../samples/rng.js';

/** The reference: the Map-of-Maps cache as it was. */
class MapConfigCache {
  readonly stes = new Map<number, Ste>();
  readonly cds = new Map<number, Map<number, Cd>>();
  count = 0;
  fullFlushes = 0;
  constructor(readonly capacity: number) {}
  private room(): void {
    if (this.count < this.capacity) return;
    this.stes.clear();
    this.cds.clear();
    this.count = 0;
    this.fullFlushes++;
  }
  putSte(sid: number, ste: Ste): void {
    if (!this.stes.has(sid)) {
      this.room();
      this.count++;
    }
    this.stes.set(sid, ste);
  }
  putCd(sid: number, ssid: number, cd: Cd): void {
    let m = this.cds.get(sid);
    if (m?.has(ssid) !== true) {
      this.room();
      this.count++;
      m = this.cds.get(sid);
      if (m === undefined) this.cds.set(sid, (m = new Map<number, Cd>()));
    }
    m.set(ssid, cd);
  }
  dropSte(sid: number): number {
    if (!this.stes.delete(sid)) return 0;
    this.count--;
    return 1;
  }
  dropCds(sid: number, ssid?: number): number {
    const m = this.cds.get(sid);
    if (m === undefined) return 0;
    let n = 0;
    if (ssid === undefined) {
      n = m.size;
      this.cds.delete(sid);
    } else if (m.delete(ssid)) n = 1;
    this.count -= n;
    return n;
  }
  sidsMatching(sid: number, ignore: number): number[] {
    const out = new Set<number>();
    const hit = (s: number) => ignore >= 0xffffffff || ((s ^ sid) & ~ignore) >>> 0 === 0;
    for (const s of this.stes.keys()) if (hit(s)) out.add(s);
    for (const s of this.cds.keys()) if (hit(s)) out.add(s);
    return [...out];
  }
}

const SIDS = [0, 1, 2, 0x100, 0x101, 0xfff, 0x1000, 0x10000, 0x12345];
const SSIDS = [0, 0, 0, 1, 7];

describe('ConfigCache', () => {
  it('answers as the Map-of-Maps cache did, over random puts, drops and full flushes', () => {
    for (const seed of [1, 2, 3]) {
      const r = new Rng(seed);
      const c = new ConfigCache(12);
      const ref = new MapConfigCache(12);
      const stes = [steOf({ cds: { 0: 1 } }), steOf({ s2: true, vmid: 3 })];
      for (let step = 0; step < 3000; step++) {
        const sid = SIDS[r.int(SIDS.length)]!;
        const ssid = SSIDS[r.int(SSIDS.length)]!;
        const x = r.float();
        if (x < 0.3) {
          const ste = stes[r.int(2)]!;
          c.putSte(sid, ste);
          ref.putSte(sid, ste);
        } else if (x < 0.6) {
          const cd = { asid: r.int(4) };
          c.putCd(sid, ssid, cd);
          ref.putCd(sid, ssid, cd);
        } else if (x < 0.7) expect(c.dropSte(sid)).toBe(ref.dropSte(sid));
        else if (x < 0.8) expect(c.dropCds(sid, ssid)).toBe(ref.dropCds(sid, ssid));
        else if (x < 0.85) expect(c.dropCds(sid)).toBe(ref.dropCds(sid));
        else if (x < 0.9) {
          const ignore = [0, 1, 0xff, 0xffffffff][r.int(4)]!;
          // The Maps also named a SID whose last CD had been dropped (an empty CD map stayed): it
          // held nothing, so CFGI_STE_RANGE dropped nothing there; the records name only SIDs with
          // something cached, as the doc says.
          const held = (s: number) => ref.stes.has(s) || (ref.cds.get(s)?.size ?? 0) > 0;
          const want = ref.sidsMatching(sid, ignore).filter(held);
          expect(c.sidsMatching(sid, ignore).sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
        }
        for (const s of SIDS) {
          expect(c.ste(s)).toBe(ref.stes.get(s));
          for (const q of [0, 1, 7]) expect(c.cd(s, q)).toBe(ref.cds.get(s)?.get(q));
        }
        expect(c.size).toBe(ref.count);
        expect(c.fullFlushes).toBe(ref.fullFlushes);
      }
      expect(c.fullFlushes).toBeGreaterThan(0);
    }
  });
});

describe('SidTable', () => {
  it('answers as a Map, for StreamIDs sharing a slot or not, negative, fractional and NaN keys included', () => {
    const r = new Rng(7);
    const t = new SidTable<number>();
    const ref = new Map<number, number>();
    // 0, 0x1000, 0x4000, 0x10000 and 2^32 share a slot (the low 12 bits), as do 1, 0x1001 and 0x4001.
    const keys = [0, 1, 5, 0xfff, 0x1000, 0x1001, 0x4000, 0x4001, 0x10000, 2 ** 32, 2 ** 32 - 1, -1, -4096, 2.5, 4095.5, NaN];
    for (let step = 0; step < 2000; step++) {
      const k = keys[r.int(keys.length)]!;
      if (r.float() < 0.6) {
        t.set(k, step);
        ref.set(k, step);
      } else {
        t.delete(k);
        ref.delete(k);
      }
      for (const q of keys) expect(t.get(q)).toBe(ref.get(q));
    }
  });
});
