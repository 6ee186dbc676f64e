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

import type { Scope } from '../formats/scope.js';
import { grow, NONE, PageIndex } from './page-index.js';

export { NONE };

export class PendingProbes {
  /**
   * Told each time a position becomes pending (a record committed there) and stops being pending
   * (its record dropped): bare hardware's thread publishes it for the policy runs (bare-facts.ts).
   */
  watch: ((pos: number, pending: boolean) => void) | undefined = undefined;
  // ---- Records (pending invalidations) ----
  pos = new Float64Array(64);
  seq = new Float64Array(64);
  readonly name: string[] = [];
  readonly scope: Scope[] = [];
  /** The HIT_* bits of the caches each record's scope invalidates (probe-plan.ts wantBits). */
  want = new Int32Array(64);
  /** First and last probe of each record (its own list, through probeNext). */
  private firstProbe = new Int32Array(64);
  private lastProbe = new Int32Array(64);
  /** Publish order. */
  private prevRec = new Int32Array(64);
  private nextRec = new Int32Array(64);
  private head = NONE;
  private tail = NONE;
  /** Position → records, chained (posHeads by position modulo its length). */
  private posHeads = new Int32Array(1024).fill(NONE);
  private posNext = new Int32Array(64);
  private freeRecs: number[] = [];
  private recsMade = 0;
  /** 1 once the record's probes are in the indexes (`index`). */
  private indexed = new Uint8Array(64);
  /**
   * The first committed record not indexed yet (NONE: all are). Records are indexed all at once,
   * in publish order, so the ones not indexed are this one and every record after it.
   */
  private firstUnindexed = NONE;
  /** Records committed and not dropped. */
  count = 0;

  // ---- Probes ----
  probeOwner = new Int32Array(256);
  probeSid = new Float64Array(256);
  /** PASID + 1; 0: none. */
  private probePasid1 = new Int32Array(256);
  readonly probeIova: bigint[] = [];
  probeDev = new Int32Array(256);
  probePage = new Float64Array(256);
  /** The next probe of the same record (NONE: last). */
  probeNext = new Int32Array(256);
  /** 1 while the probe belongs to its invalidation (0: handed over to a later one). */
  probeAlive = new Uint8Array(256);
  /** The device slot's list of live probes. */
  private devPrev = new Int32Array(256);
  private devNext = new Int32Array(256);
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

  pasidOf(probe: number): number | undefined {
    const p = this.probePasid1[probe]!;
    return p === 0 ? undefined : p - 1;
  }

  /** The record at position `pos`, or NONE. */
  at(pos: number): number {
    // Positions are published in order: a new one is past every record (the common case, asked
    // at every command published), and only a rewritten entry's can hold one.
    if (pos > this.maxPos) return NONE;
    for (let r = this.posHeads[pos & (this.posHeads.length - 1)]!; r !== NONE; r = this.posNext[r]!) if (this.pos[r] === pos) return r;
    return NONE;
  }

  /** The first record in publish order, or NONE; `after` walks on. */
  first(): number {
    return this.head;
  }

  after(rec: number): number {
    return this.nextRec[rec]!;
  }

  /** The first probe of a record (dead ones included), or NONE; `probeNext` walks on. */
  probesOf(rec: number): number {
    return this.firstProbe[rec]!;
  }

  /** The first live probe of device slot `dev` in an indexed record, or NONE; `nextOnDevice` walks on. */
  firstOnDevice(dev: number): number {
    return this.devHead[dev]!;
  }

  nextOnDevice(probe: number): number {
    return this.devNext[probe]!;
  }

  /** A new record, with no probes and linked nowhere: `addProbe` then `commit` (or `discard`). */
  open(): number {
    const r = this.freeRecs.length > 0 ? this.freeRecs.pop()! : this.recsMade++;
    if (r >= this.pos.length) this.growRecs();
    this.firstProbe[r] = NONE;
    this.lastProbe[r] = NONE;
    return r;
  }

  /** Appends a probe to an open record's list (indexed at commit). */
  addProbe(rec: number, sid: number, pasid: number | undefined, iova: bigint, dev: number, page: number): void {
    const p = this.freeProbes.length > 0 ? this.freeProbes.pop()! : this.probesMade++;
    if (p >= this.probeOwner.length) this.growProbes();
    this.probeOwner[p] = rec;
    this.probeSid[p] = sid;
    this.probePasid1[p] = pasid === undefined ? 0 : pasid + 1;
    this.probeIova[p] = iova;
    this.probeDev[p] = dev;
    this.probePage[p] = page;
    this.probeNext[p] = NONE;
    this.probeAlive[p] = 1;
    const last = this.lastProbe[rec]!;
    if (last === NONE) this.firstProbe[rec] = p;
    else this.probeNext[last] = p;
    this.lastProbe[rec] = p;
  }

  hasProbes(rec: number): boolean {
    return this.firstProbe[rec] !== NONE;
  }

  /** An open record with no probes goes back. */
  discard(rec: number): void {
    this.freeRecs.push(rec);
  }

  /** The open record becomes pending at `pos`: last in publish order (its probes are indexed by `index`). */
  commit(rec: number, pos: number, seq: number, name: string, scope: Scope, want: number): void {
    this.watch?.(pos, true);
    this.pos[rec] = pos;
    if (pos > this.maxPos) this.maxPos = pos;
    this.seq[rec] = seq;
    this.name[rec] = name;
    this.scope[rec] = scope;
    this.want[rec] = want;
    this.prevRec[rec] = this.tail;
    this.nextRec[rec] = NONE;
    if (this.tail === NONE) this.head = rec;
    else this.nextRec[this.tail] = rec;
    this.tail = rec;
    const b = pos & (this.posHeads.length - 1);
    this.posNext[rec] = this.posHeads[b]!;
    this.posHeads[b] = rec;
    this.count++;
    if (this.count > this.posHeads.length) this.rehashPos();
    this.indexed[rec] = 0;
    if (this.firstUnindexed === NONE) this.firstUnindexed = rec;
  }

  /**
   * Puts the probes of every committed record not yet indexed into `byKey` and their device
   * slots' lists (and counts), in publish order: what `byKey`, `firstOnDevice` and `devPending`
   * answer from. The same lists in the same order as indexing each record at its commit would
   * give, as records leave the indexes only when dropped or through `kill`.
   */
  index(): void {
    for (let r = this.firstUnindexed; r !== NONE; r = this.nextRec[r]!) this.indexRecord(r);
    this.firstUnindexed = NONE;
  }

  private indexRecord(rec: number): void {
    this.indexed[rec] = 1;
    const stamp = ++this.stamp;
    for (let p = this.firstProbe[rec]!; p !== NONE; p = this.probeNext[p]!) {
      const dev = this.probeDev[p]!;
      this.byKey.add(p, dev, this.probePage[p]!);
      const t = this.devTail[dev]!;
      this.devPrev[p] = t;
      this.devNext[p] = NONE;
      if (t === NONE) this.devHead[dev] = p;
      else this.devNext[t] = p;
      this.devTail[dev] = p;
      if (this.devStamp[dev] !== stamp) {
        this.devStamp[dev] = stamp;
        this.devPending[dev]!++;
      }
    }
  }

  /** The probe (of an indexed record) no longer belongs to its invalidation: it stays in its record's list, dead. */
  kill(probe: number): void {
    if (this.probeAlive[probe] === 0) return;
    this.probeAlive[probe] = 0;
    this.byKey.remove(probe);
    const dev = this.probeDev[probe]!;
    const pv = this.devPrev[probe]!;
    const nx = this.devNext[probe]!;
    if (pv === NONE) this.devHead[dev] = nx;
    else this.devNext[pv] = nx;
    if (nx === NONE) this.devTail[dev] = pv;
    else this.devPrev[nx] = pv;
  }

  /** A committed record leaves every list; it and its probes are recycled. */
  drop(rec: number): void {
    this.watch?.(this.pos[rec]!, false);
    const pv = this.prevRec[rec]!;
    const nx = this.nextRec[rec]!;
    if (this.firstUnindexed === rec) this.firstUnindexed = nx;
    if (pv === NONE) this.head = nx;
    else this.nextRec[pv] = nx;
    if (nx === NONE) this.tail = pv;
    else this.prevRec[nx] = pv;
    const b = this.pos[rec]! & (this.posHeads.length - 1);
    if (this.posHeads[b] === rec) this.posHeads[b] = this.posNext[rec]!;
    else {
      let r = this.posHeads[b]!;
      while (this.posNext[r] !== rec) r = this.posNext[r]!;
      this.posNext[r] = this.posNext[rec]!;
    }
    this.count--;
    if (this.indexed[rec] === 1) {
      const stamp = ++this.stamp;
      for (let p = this.firstProbe[rec]!; p !== NONE; p = this.probeNext[p]!) {
        const dev = this.probeDev[p]!;
        if (this.devStamp[dev] !== stamp) {
          this.devStamp[dev] = stamp;
          this.devPending[dev]!--;
        }
        this.kill(p);
      }
    }
    for (let p = this.firstProbe[rec]!; p !== NONE; p = this.probeNext[p]!) {
      this.probeIova[p] = 0n;
      this.freeProbes.push(p);
    }
    this.name[rec] = '';
    this.freeRecs.push(rec);
  }

  private rehashPos(): void {
    const heads = new Int32Array(this.posHeads.length * 2).fill(NONE);
    for (let r = this.head; r !== NONE; r = this.nextRec[r]!) {
      const b = this.pos[r]! & (heads.length - 1);
      this.posNext[r] = heads[b]!;
      heads[b] = r;
    }
    this.posHeads = heads;
  }

  private growRecs(): void {
    const n = this.pos.length * 2;
    this.pos = grow(this.pos, new Float64Array(n));
    this.seq = grow(this.seq, new Float64Array(n));
    this.want = grow(this.want, new Int32Array(n));
    this.firstProbe = grow(this.firstProbe, new Int32Array(n));
    this.lastProbe = grow(this.lastProbe, new Int32Array(n));
    this.prevRec = grow(this.prevRec, new Int32Array(n));
    this.nextRec = grow(this.nextRec, new Int32Array(n));
    this.posNext = grow(this.posNext, new Int32Array(n));
    this.indexed = grow(this.indexed, new Uint8Array(n));
  }

  private growProbes(): void {
    const n = this.probeOwner.length * 2;
    this.probeOwner = grow(this.probeOwner, new Int32Array(n));
    this.probeSid = grow(this.probeSid, new Float64Array(n));
    this.probePasid1 = grow(this.probePasid1, new Int32Array(n));
    this.probeDev = grow(this.probeDev, new Int32Array(n));
    this.probePage = grow(this.probePage, new Float64Array(n));
    this.probeNext = grow(this.probeNext, new Int32Array(n));
    this.probeAlive = grow(this.probeAlive, new Uint8Array(n));
    this.devPrev = grow(this.devPrev, new Int32Array(n));
    this.devNext = grow(this.devNext, new Int32Array(n));
  }
}
