// The SMMU configuration cache: STEs by StreamID and CDs by (StreamID, SubstreamID), holding the
// snapshots fetched at translation time (a later change of the stream table stays invisible
// until a CMD_CFGI_* drops the entry).
//
// Storage: one record per StreamID ever cached (`SidEntry`: its STE, its SSID-0 CD, its other CDs),
// so a probe finds both its STE and its CD with one look-up (`entry`, replay/sid-table.ts). A dropped entry is a
// field set to undefined: the records stay (a JS Map's delete shrinks and reallocates its table),
// and there are at most as many as the StreamIDs the unit ever translated for.
//
// Bound: `capacity` entries (STEs plus CDs). Inserting into a full cache first flushes it whole,
// like the TLB (tlb.ts); `fullFlushes` counts how often.

import { SidTable } from '../sid-table.js';
import type { Cd, Ste } from './tables.js';

/** What the cache holds for one StreamID (a record the cache owns: callers only read it). */
export interface SidEntry {
  readonly sid: number;
  ste: Ste | undefined;
  /** The CD of SubstreamID 0 (the default substream: nearly every access). */
  cd0: Cd | undefined;
  /** CDs of the other SubstreamIDs (undefined until one is cached). */
  cds: Map<number, Cd> | undefined;
  /** How many CDs `cds` holds (its size, without a Map call). */
  cdCount: number;
}

/** The CD of `ssid` that `e` holds. */
export function cdIn(e: SidEntry, ssid: number): Cd | undefined {
  return ssid === 0 ? e.cd0 : e.cds?.get(ssid);
}

export class ConfigCache {
  private readonly entries = new SidTable<SidEntry>();
  /** The same records in creation order (a flush and sidsMatching walk them, no Map iterator). */
  private readonly list: SidEntry[] = [];
  private count = 0;
  fullFlushes = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.count;
  }

  /** The record of `sid`, if anything was ever cached for it (its fields say what is now). */
  entry(sid: number): SidEntry | undefined {
    return this.entries.get(sid);
  }

  ste(sid: number): Ste | undefined {
    return this.entries.get(sid)?.ste;
  }

  cd(sid: number, ssid: number): Cd | undefined {
    const e = this.entries.get(sid);
    return e === undefined ? undefined : cdIn(e, ssid);
  }

  private room(): void {
    if (this.count < this.capacity) return;
    for (const e of this.list) {
      e.ste = undefined;
      e.cd0 = undefined;
      if (e.cdCount > 0) {
        e.cds = undefined;
        e.cdCount = 0;
      }
    }
    this.count = 0;
    this.fullFlushes++;
  }

  private made(sid: number): SidEntry {
    let e = this.entries.get(sid);
    if (e === undefined) {
      e = { sid, ste: undefined, cd0: undefined, cds: undefined, cdCount: 0 };
      this.entries.set(sid, e);
      this.list.push(e);
    }
    return e;
  }

  putSte(sid: number, ste: Ste): void {
    const e = this.made(sid);
    if (e.ste === undefined) {
      this.room();
      this.count++;
    }
    e.ste = ste;
  }

  putCd(sid: number, ssid: number, cd: Cd): void {
    const e = this.made(sid);
    if (cdIn(e, ssid) === undefined) {
      this.room();
      this.count++;
    }
    if (ssid === 0) e.cd0 = cd;
    else {
      const m = (e.cds ??= new Map<number, Cd>());
      if (!m.has(ssid)) e.cdCount++;
      m.set(ssid, cd);
    }
  }

  /** Drops the STE of `sid`; returns 1 if one was cached. */
  dropSte(sid: number): number {
    const e = this.entries.get(sid);
    if (e?.ste === undefined) return 0;
    e.ste = undefined;
    this.count--;
    return 1;
  }

  /** Drops the CD of (sid, ssid), or every CD of `sid` when ssid is undefined. */
  dropCds(sid: number, ssid?: number): number {
    const e = this.entries.get(sid);
    if (e === undefined) return 0;
    let n = 0;
    if (ssid === undefined) {
      n = (e.cd0 !== undefined ? 1 : 0) + e.cdCount;
      e.cd0 = undefined;
      e.cds = undefined;
      e.cdCount = 0;
    } else if (ssid === 0) {
      if (e.cd0 !== undefined) n = 1;
      e.cd0 = undefined;
    } else if (e.cds?.delete(ssid) === true) {
      e.cdCount--;
      n = 1;
    }
    this.count -= n;
    return n;
  }

  /** StreamIDs with anything cached whose bits outside `ignore` equal those of `sid`. */
  sidsMatching(sid: number, ignore: number): number[] {
    const out: number[] = [];
    const hit = (s: number) => ignore >= 0xffffffff || ((s ^ sid) & ~ignore) >>> 0 === 0;
    for (const e of this.list) {
      if (e.ste === undefined && e.cd0 === undefined && e.cdCount === 0) continue;
      if (hit(e.sid)) out.push(e.sid);
    }
    return out;
  }
}
