// The stale oracle's bookkeeping (oracle.ts): the guest invalidations published and not yet
// completed, each with the probes it made, held in typed arrays by record number so that the
// per-command work makes no object, array, Map or Set entry.
//
// A pending invalidation (a record) has its position, sequence number, name and scope, and its
// probes in probe order. Records are found three ways, as the oracle needs them:
// - in publish order (a doubly linked list: completion points check them in that order);
// - by position (a chained hash: the guest may rewrite a published entry);
// - through their probes: by (device slot, page) (PageIndex: a later probe refilling the entry
//   hands it over) and by device slot (a list per slot: a DMA refills shared walk and config
//   entries), with the count of records probing each device slot. These two indexes are built
//   only when asked for (`index`): the oracle reads them when it probes while something is
//   pending, and most records are checked and dropped at the next completion point before any
//   other invalidation is published, so they are never indexed at all.
// A probe taken from its invalidation (its entry refilled for a later one) stays in its record's
// list, marked dead, and leaves both indexes. Record and probe numbers are recycled.
//
// Layout: a record's numbers are one row of `recs` and a probe's one row of `probes` (REC and
// PROBE words each), not one typed array per field. The oracles of all nine policies and bare
// hardware's take turns per event, so each one's bookkeeping is cold again at its next publish
// (docs/replayer.md "sixteenth pass"): with a row per record, a publish, check and drop of one
// invalidation touches a few cache lines, not one per field (and one per typed array object).

import type { Scope } from '../formats/scope.js';
import { grow, NONE, PageIndex } from './page-index.js';

export { NONE };

/** Record words (`recs`, REC per record): the first eight are what a publish, check and drop read. */
const R_POS = 0;
/** The HIT_* bits of the caches the record's scope invalidates (probe-plan.ts wantBits). */
const R_WANT = 1;
/** First and last probe of the record (its own list, through P_NEXT). */
const R_FIRST = 2;
const R_LAST = 3;
/** Publish order. */
const R_PREV = 4;
const R_NEXT = 5;
/** The next record of the same position chain (posHeads). */
const R_POS_NEXT = 6;
/** 1 once the record's probes are in the indexes (`index`). */
const R_INDEXED = 7;
const R_SEQ = 8;
const REC = 16;

/** Probe words (`probes`, PROBE per probe). */
const P_OWNER = 0;
const P_SID = 1;
/** PASID + 1; 0: none. */
const P_PASID1 = 2;
const P_DEV = 3;
const P_PAGE = 4;
/** The next probe of the same record (NONE: last). */
const P_NEXT = 5;
/** 1 while the probe belongs to its invalidation (0: handed over to a later one). */
const P_ALIVE = 6;
/** The device slot's list of live probes (indexed records only). */
const P_DEV_PREV = 8;
const P_DEV_NEXT = 9;
const PROBE = 16;

export class PendingProbes {
  /**
   * Told each time a position becomes pending (a record committed there) and stops being pending
   * (its record dropped): bare hardware's thread publishes it for the policy runs (bare-facts.ts).
   */
  watch: ((pos: number, pending: boolean) => void) | undefined = undefined;
  // ---- Records (pending invalidations) ----
  private recs = new Float64Array(64 * REC);
  readonly name: string[] = [];
  readonly scope: Scope[] = [];
  private head = NONE;
  private tail = NONE;
  /** Position → records, chained (posHeads by position modulo its length, then R_POS_NEXT). */
  private posHeads = new Int32Array(1024).fill(NONE);
  private freeRecs: number[] = [];
  private recsMade = 0;
  /**
   * The first committed record not indexed yet (NONE: all are). Records are indexed all at once,
   * in publish order, so the ones not indexed are this one and every record after it.
   */
  private firstUnindexed = NONE;
  /** Records committed and not dropped. */
  count = 0;

  // ---- Probes ----
  private probes = new Float64Array(256 * PROBE);
  private readonly probeIova: bigint[] = [];
  private freeProbes: number[] = [];
  private probesMade = 0;
  /** Live probes of indexed records (`index`) by (device slot, page). */
  readonly byKey = new PageIndex();

  /** The largest position ever committed (-1: none): `at` of a later one is NONE at once. */
  private maxPos = -1;

  // ---- Device slots (ProbePlans numbers them: `ProbePlan.slots`) ----
  private devHead = new Int32Array(16).fill(NONE);
  private devTail = new Int32Array(16).fill(NONE);
  /** Indexed records (`index`) that probed the slot when published. */
  devPending = new Int32Array(16);
  /** Per slot: the last commit or drop that counted it (distinct devices of a record, no Set). */
  private devStamp = new Float64Array(16);
  private stamp = 0;

  /** Makes room for device slot `s` (a ProbePlan's `slots` entry); returns it. */
  useSlot(s: number): number {
    if (s >= this.devHead.length) {
      let n = this.devHead.length * 2;
      while (n <= s) n *= 2;
      this.devHead = grow(this.devHead, new Int32Array(n).fill(NONE));
      this.devTail = grow(this.devTail, new Int32Array(n).fill(NONE));
      this.devPending = grow(this.devPending, new Int32Array(n));
      this.devStamp = grow(this.devStamp, new Float64Array(n));
    }
    return s;
  }

  // ---- A record's fields ----

  posOf(rec: number): number {
    return this.recs[rec * REC + R_POS]!;
  }

  seqOf(rec: number): number {
    return this.recs[rec * REC + R_SEQ]!;
  }

  /** The HIT_* bits of the caches the record's scope invalidates. */
  wantOf(rec: number): number {
    return this.recs[rec * REC + R_WANT]!;
  }

  // ---- A probe's fields ----

  /** The record the probe belongs to. */
  ownerOf(probe: number): number {
    return this.probes[probe * PROBE + P_OWNER]!;
  }

  sidOf(probe: number): number {
    return this.probes[probe * PROBE + P_SID]!;
  }

  pasidOf(probe: number): number | undefined {
    const p = this.probes[probe * PROBE + P_PASID1]!;
    return p === 0 ? undefined : p - 1;
  }

  iovaOf(probe: number): bigint {
    return this.probeIova[probe]!;
  }

  /** The probe's page number (its address's). */
  pageOf(probe: number): number {
    return this.probes[probe * PROBE + P_PAGE]!;
  }

  /** Whether the probe still belongs to its invalidation (`kill`). */
  alive(probe: number): boolean {
    return this.probes[probe * PROBE + P_ALIVE] === 1;
  }

  /** The record at position `pos`, or NONE. */
  at(pos: number): number {
    // Positions are published in order: a new one is past every record (the common case, asked
    // at every command published), and only a rewritten entry's can hold one.
    if (pos > this.maxPos) return NONE;
    const recs = this.recs;
    for (let r = this.posHeads[pos & (this.posHeads.length - 1)]!; r !== NONE; r = recs[r * REC + R_POS_NEXT]!) {
      if (recs[r * REC + R_POS] === pos) return r;
    }
    return NONE;
  }

  /** The first record in publish order, or NONE; `after` walks on. */
  first(): number {
    return this.head;
  }

  after(rec: number): number {
    return this.recs[rec * REC + R_NEXT]!;
  }

  /** The first probe of a record (dead ones included), or NONE; `nextProbe` walks on. */
  probesOf(rec: number): number {
    return this.recs[rec * REC + R_FIRST]!;
  }

  nextProbe(probe: number): number {
    return this.probes[probe * PROBE + P_NEXT]!;
  }

  /** The first live probe of device slot `dev` in an indexed record, or NONE; `nextOnDevice` walks on. */
  firstOnDevice(dev: number): number {
    return this.devHead[dev]!;
  }

  nextOnDevice(probe: number): number {
    return this.probes[probe * PROBE + P_DEV_NEXT]!;
  }

  /** A new record, with no probes and linked nowhere: `addProbe` then `commit` (or `discard`). */
  open(): number {
    const r = this.freeRecs.length > 0 ? this.freeRecs.pop()! : this.recsMade++;
    if ((r + 1) * REC > this.recs.length) this.recs = grow(this.recs, new Float64Array(this.recs.length * 2));
    const at = r * REC;
    this.recs[at + R_FIRST] = NONE;
    this.recs[at + R_LAST] = NONE;
    return r;
  }

  /** Appends a probe to an open record's list (indexed at commit). */
  addProbe(rec: number, sid: number, pasid: number | undefined, iova: bigint, dev: number, page: number): void {
    const p = this.freeProbes.length > 0 ? this.freeProbes.pop()! : this.probesMade++;
    if ((p + 1) * PROBE > this.probes.length) this.probes = grow(this.probes, new Float64Array(this.probes.length * 2));
    const probes = this.probes;
    const at = p * PROBE;
    probes[at + P_OWNER] = rec;
    probes[at + P_SID] = sid;
    probes[at + P_PASID1] = pasid === undefined ? 0 : pasid + 1;
    probes[at + P_DEV] = dev;
    probes[at + P_PAGE] = page;
    probes[at + P_NEXT] = NONE;
    probes[at + P_ALIVE] = 1;
    this.probeIova[p] = iova;
    const recs = this.recs;
    const last = recs[rec * REC + R_LAST]!;
    if (last === NONE) recs[rec * REC + R_FIRST] = p;
    else probes[last * PROBE + P_NEXT] = p;
    recs[rec * REC + R_LAST] = p;
  }

  hasProbes(rec: number): boolean {
    return this.recs[rec * REC + R_FIRST] !== NONE;
  }

  /** An open record with no probes goes back. */
  discard(rec: number): void {
    this.freeRecs.push(rec);
  }

  /** The open record becomes pending at `pos`: last in publish order (its probes are indexed by `index`). */
  commit(rec: number, pos: number, seq: number, name: string, scope: Scope, want: number): void {
    this.watch?.(pos, true);
    const recs = this.recs;
    const at = rec * REC;
    recs[at + R_POS] = pos;
    if (pos > this.maxPos) this.maxPos = pos;
    recs[at + R_SEQ] = seq;
    this.name[rec] = name;
    this.scope[rec] = scope;
    recs[at + R_WANT] = want;
    recs[at + R_PREV] = this.tail;
    recs[at + R_NEXT] = NONE;
    if (this.tail === NONE) this.head = rec;
    else recs[this.tail * REC + R_NEXT] = rec;
    this.tail = rec;
    const b = pos & (this.posHeads.length - 1);
    recs[at + R_POS_NEXT] = this.posHeads[b]!;
    this.posHeads[b] = rec;
    this.count++;
    if (this.count > this.posHeads.length) this.rehashPos();
    recs[at + R_INDEXED] = 0;
    if (this.firstUnindexed === NONE) this.firstUnindexed = rec;
  }

  /**
   * Puts the probes of every committed record not yet indexed into `byKey` and their device
   * slots' lists (and counts), in publish order: what `byKey`, `firstOnDevice` and `devPending`
   * answer from. The same lists in the same order as indexing each record at its commit would
   * give, as records leave the indexes only when dropped or through `kill`.
   */
  index(): void {
    for (let r = this.firstUnindexed; r !== NONE; r = this.recs[r * REC + R_NEXT]!) this.indexRecord(r);
    this.firstUnindexed = NONE;
  }

  private indexRecord(rec: number): void {
    this.recs[rec * REC + R_INDEXED] = 1;
    const stamp = ++this.stamp;
    const probes = this.probes;
    for (let p = this.recs[rec * REC + R_FIRST]!; p !== NONE; p = probes[p * PROBE + P_NEXT]!) {
      const at = p * PROBE;
      const dev = probes[at + P_DEV]!;
      this.byKey.add(p, dev, probes[at + P_PAGE]!);
      const t = this.devTail[dev]!;
      probes[at + P_DEV_PREV] = t;
      probes[at + P_DEV_NEXT] = NONE;
      if (t === NONE) this.devHead[dev] = p;
      else probes[t * PROBE + P_DEV_NEXT] = p;
      this.devTail[dev] = p;
      if (this.devStamp[dev] !== stamp) {
        this.devStamp[dev] = stamp;
        this.devPending[dev]!++;
      }
    }
  }

  /** The probe (of an indexed record) no longer belongs to its invalidation: it stays in its record's list, dead. */
  kill(probe: number): void {
    const probes = this.probes;
    const at = probe * PROBE;
    if (probes[at + P_ALIVE] === 0) return;
    probes[at + P_ALIVE] = 0;
    this.byKey.remove(probe);
    const dev = probes[at + P_DEV]!;
    const pv = probes[at + P_DEV_PREV]!;
    const nx = probes[at + P_DEV_NEXT]!;
    if (pv === NONE) this.devHead[dev] = nx;
    else probes[pv * PROBE + P_DEV_NEXT] = nx;
    if (nx === NONE) this.devTail[dev] = pv;
    else probes[nx * PROBE + P_DEV_PREV] = pv;
  }

  /** A committed record leaves every list; it and its probes are recycled. */
  drop(rec: number): void {
    const recs = this.recs;
    const at = rec * REC;
    this.watch?.(recs[at + R_POS]!, false);
    const pv = recs[at + R_PREV]!;
    const nx = recs[at + R_NEXT]!;
    if (this.firstUnindexed === rec) this.firstUnindexed = nx;
    if (pv === NONE) this.head = nx;
    else recs[pv * REC + R_NEXT] = nx;
    if (nx === NONE) this.tail = pv;
    else recs[nx * REC + R_PREV] = pv;
    const b = recs[at + R_POS]! & (this.posHeads.length - 1);
    if (this.posHeads[b] === rec) this.posHeads[b] = recs[at + R_POS_NEXT]!;
    else {
      let r = this.posHeads[b]!;
      while (recs[r * REC + R_POS_NEXT] !== rec) r = recs[r * REC + R_POS_NEXT]!;
      recs[r * REC + R_POS_NEXT] = recs[at + R_POS_NEXT]!;
    }
    this.count--;
    const probes = this.probes;
    if (recs[at + R_INDEXED] === 1) {
      const stamp = ++this.stamp;
      for (let p = recs[at + R_FIRST]!; p !== NONE; p = probes[p * PROBE + P_NEXT]!) {
        const dev = probes[p * PROBE + P_DEV]!;
        if (this.devStamp[dev] !== stamp) {
          this.devStamp[dev] = stamp;
          this.devPending[dev]!--;
        }
        this.kill(p);
      }
    }
    for (let p = recs[at + R_FIRST]!; p !== NONE; p = probes[p * PROBE + P_NEXT]!) {
      this.probeIova[p] = 0n;
      this.freeProbes.push(p);
    }
    this.name[rec] = '';
    this.freeRecs.push(rec);
  }

  private rehashPos(): void {
    const heads = new Int32Array(this.posHeads.length * 2).fill(NONE);
    const recs = this.recs;
    for (let r = this.head; r !== NONE; r = recs[r * REC + R_NEXT]!) {
      const b = recs[r * REC + R_POS]! & (heads.length - 1);
      recs[r * REC + R_POS_NEXT] = heads[b]!;
      heads[b] = r;
    }
    this.posHeads = heads;
  }
}
