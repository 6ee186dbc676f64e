// The SMMU configuration cache: STEs by StreamID and CDs by (StreamID, SubstreamID), holding the
// snapshots fetched at translation time (a later change of the stream table stays invisible
// until a CMD_CFGI_* drops the entry).
//
// Bound: `capacity` entries (STEs plus CDs). Inserting into a full cache first flushes it whole,
// like the TLB (tlb.ts); `fullFlushes` counts how often.

import type { Cd, Ste } from './tables.js';

export class ConfigCache {
  private readonly stes = new Map<number, Ste>();
  private readonly cds = new Map<number, Map<number, Cd>>();
  private count = 0;
  fullFlushes = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.count;
  }

  ste(sid: number): Ste | undefined {
    return this.stes.get(sid);
  }

  cd(sid: number, ssid: number): Cd | undefined {
    return this.cds.get(sid)?.get(ssid);
  }

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

  /** Drops the STE of `sid`; returns 1 if one was cached. */
  dropSte(sid: number): number {
    if (!this.stes.delete(sid)) return 0;
    this.count--;
    return 1;
  }

  /** Drops the CD of (sid, ssid), or every CD of `sid` when ssid is undefined. */
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

  /** StreamIDs with anything cached whose bits outside `ignore` equal those of `sid`. */
  sidsMatching(sid: number, ignore: number): number[] {
    const out = new Set<number>();
    const hit = (s: number) => ignore >= 0xffffffff || ((s ^ sid) & ~ignore) >>> 0 === 0;
    for (const s of this.stes.keys()) if (hit(s)) out.add(s);
    for (const s of this.cds.keys()) if (hit(s)) out.add(s);
    return [...out];
  }
}
