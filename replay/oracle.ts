// The correctness oracle (DESIGN.md "Correctness", docs/oracle.md), run on emulator state. It is
// differential: the same checks run on bare hardware consuming the same queue (reference.ts), and
// a policy is blamed only for what the guest sees under it that bare hardware would not show.
// 1. stale-translation: when a guest invalidation is published, probe translations of every
//    device and address its scope covers (filling the physical IOTLBs, walk caches, config caches
//    and device ATCs); when the completion point after it completes — or the queue stops on an
//    error after it, which counts as one — probe again without filling: a covered entry still
//    cached is a stale translation the guest may use.
//    A probe stands for a DMA made before the guest changed its page table. The guest changes it
//    before its first invalidation, so an IOTLB-level invalidation opens an "unmap epoch" for each
//    (device, page) and fills; a device-TLB/ATC invalidation of a page whose epoch is open only
//    checks (Linux sends it after the IOTLB one, when the PTE is already gone and no device can
//    refill its ATC — spec/vtd.md §4.2, spec/smmuv3.md §4.2), and closes the epoch. One with no
//    IOTLB invalidation before it fills, as a device could have cached the page all along.
//    A later invalidation's probe that refills an entry an earlier one had already removed stands
//    for a DMA after the guest mapped the page again: that entry belongs to the later invalidation.
//    Only what the topology attaches is probed: every device is attached without a PASID (VT-d
//    RID_PASID, SMMUv3 SSID 0), so a PASID-tagged VT-d scope has nothing cached to check.
// 2. time-outs (docs/oracle.md "Time-outs"): an invalidation the guest is told has failed is not a
//    stale translation. VT-d ITE aborts the pending waits (spec/vtd.md §1.3): the invalidations
//    before the last aborted wait, and device-TLB invalidations of the ITESID device, were told
//    failed. SMMUv3 CERROR_ATC_INV_SYNC stops CONS at the CMD_SYNC (spec/smmuv3.md §1.3): the other
//    commands before it completed, the ATC invalidations of the timed-out device did not and stay
//    pending until that CMD_SYNC completes after the guest's acknowledgement.
// 3. error semantics (wrong-consumer-index, wrong-error, executed-past-error) and completion
//    (never-completed): the policy's guest-visible state against bare hardware on the same queue;
//    the engine feeds both and calls the checks here.

import { hex } from '../formats/bits.js';
import type { Decoded } from '../formats/codec/codec.js';
import type { Topology } from '../formats/trace/header.js';
import { ringIndex } from '../formats/ring.js';
import { describeScope, type Classified, type Scope } from '../formats/scope.js';
import { grow, PageSet } from './page-index.js';
import { NONE, PendingProbes } from './pending-probes.js';
import type { GuestError } from './policy.js';
import { pageOf, ProbePlans, wantBits } from './probe-plan.js';
import { HIT_ALL, HIT_ATC, HIT_IOTLB, HIT_WALK, hitBits, type CacheHits, type Translator } from './unit.js';

export const VIOLATION_KINDS = [
  'stale-translation',
  'wrong-consumer-index',
  'wrong-error',
  'executed-past-error',
  'never-completed',
] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export interface Violation {
  readonly kind: ViolationKind;
  /** Guest sequence number (trace row) of the command concerned. */
  readonly seq: number;
  readonly scope: string;
  readonly explanation: string;
}

export interface Probe {
  readonly sid: number;
  readonly pasid: number | undefined;
  readonly iova: bigint;
}

/** One invalidation found stale at a completion point: every probe whose entry is still cached. */
export interface StaleFinding {
  readonly pos: number;
  readonly seq: number;
  readonly name: string;
  readonly scope: Scope;
  /** The completion point, e.g. "the CMD_SYNC at slot 3 completed". */
  readonly how: string;
  readonly hits: readonly { readonly probe: Probe; readonly hit: string }[];
}

/** An invalidation the guest was told had failed (time-out): never checked. */
export interface ToldFailed {
  readonly pos: number;
  readonly seq: number;
  readonly reason: string;
}

/** Addresses probed per device when a scope covers every address: the last ones seen. */
const RECENT = 4;
/** RECENT is a power of two: a place in the ring is a sum masked. */
const RING_MASK = RECENT - 1;
/** A device's row of `StaleOracle.recent`: its count, the oldest's place, the RECENT pages. */
const R_COUNT = 0;
const R_START = 1;
const R_PAGES = 2;
const RECENT_ROW = R_PAGES + RECENT;
const DEFAULT_IOVA = 0x100000n;

/** A probe as text (for the rare comparisons of findings; the oracle itself keys by numbers). */
export const probeKey = (p: Probe): string => `${p.sid}/${p.pasid ?? '-'}/${p.iova}`;

/**
 * Whether a probe's cache state (HIT_* bits) shows the scope's entry still cached: a hit in a cache
 * the scope names (`want`: wantBits of the scope, kept per pending invalidation).
 */
function staleBits(want: number, h: number): string | undefined {
  const hit = h & want;
  if (hit === 0) return undefined;
  if ((hit & HIT_IOTLB) !== 0) return 'IOTLB entry';
  if ((hit & HIT_WALK) !== 0) return 'table-walk entry';
  if ((hit & HIT_ATC) !== 0) return 'ATC/device-TLB entry';
  return 'configuration entry';
}

/** Whether a probe's cache state shows the scope's entry still cached. */
export function staleHit(s: Scope, h: CacheHits): string | undefined {
  return staleBits(wantBits(s), hitBits(h));
}

/** Pending invalidations of one device checked for refills of shared entries, at most. */
const PEER_LIMIT = 64;

/** Open unmap epochs kept at most (the oldest are forgotten: they fill again, never falsely flag). */
export const MAX_OPEN_EPOCHS = 1 << 20;

export class StaleOracle {
  /** Pending invalidations and their probes (pending-probes.ts): typed arrays, no object per probe. */
  private readonly store = new PendingProbes();
  /**
   * Per device (its SID slot d, probe-plan.ts), the first pages of the last RECENT ranges it was
   * probed at, a ring of RECENT: in `recent`'s row d (RECENT_ROW words), how many (R_COUNT), where
   * the oldest is (R_START) and the page numbers (from R_PAGES; exact for every 64-bit address:
   * compared as numbers); the addresses at the same places of `recentIova`'s row (RECENT each).
   * A new page overwrites the oldest in place (no shift: one address stored, not RECENT), and a
   * row's numbers share a cache line.
   */
  private readonly recentIova: bigint[];
  private readonly recent: Float64Array;
  /** (ATS device slot, page) with an IOTLB-level invalidation published and no ATC one since. */
  private readonly openEpochs = new PageSet();
  /**
   * Completion points published and neither completed nor aborted, in order: the first
   * `openCount` of `openSyncs` (a count, not the array's length: an array cut to length 0
   * drops its storage, and the next push allocates it again, at every completion point).
   */
  private readonly openSyncs: number[] = [];
  private openCount = 0;
  /** Scratch of `published` (addresses and their page numbers) and `peersGone` (probe numbers), reused (neither is re-entered). */
  private readonly iovas: bigint[] = [];
  private readonly pages: number[] = [];
  private gone = new Int32Array(PEER_LIMIT * 8);

  /**
   * `plans`: what each scope probes (probe-plan.ts), shared with the other oracles of the same
   * guest queue (bare hardware's reference and every policy's run); by default this oracle's own.
   */
  constructor(
    topology: Topology,
    arch: 'smmuv3' | 'vtd',
    private readonly host: Translator,
    private readonly maxEpochs = MAX_OPEN_EPOCHS,
    private readonly plans = new ProbePlans(topology, arch),
  ) {
    if (plans.topology !== topology || plans.arch !== arch) throw new Error('StaleOracle: probe plans of another queue');
    this.recentIova = new Array<bigint>(plans.sidCount * RECENT).fill(0n);
    this.recent = new Float64Array(plans.sidCount * RECENT_ROW);
  }

  /**
   * The cache lookup of a probe, as HIT_* bits (`want`: those read, default all; `page`: iova's
   * page number). A method call on the host, not a bound function kept in a field: optimized code
   * inlines the host's own `hits` here, where a bound function in a field is a builtin call per
   * probe.
   */
  private hits(sid: number, pasid: number | undefined, iova: bigint, want?: number, page?: number): number {
    const h = this.host;
    return h.hits !== undefined ? h.hits(sid, pasid, iova, want, page) : hitBits(h.cached(sid, pasid, iova));
  }

  /** Epochs open now (for tests and the bound). */
  get openEpochCount(): number {
    return this.openEpochs.size;
  }

  /** `fn` is told each time a position becomes pending and stops being pending (isPending's answer changes). */
  watchPending(fn: (pos: number, pending: boolean) => void): void {
    this.store.watch = fn;
  }

  /** Whether the invalidation at `pos` still waits for its completion point. */
  isPending(pos: number): boolean {
    return this.store.at(pos) !== NONE;
  }

  /**
   * A guest command was published at `pos` (`c`: its classification): probe what it covers.
   * `cause` 'map' (a caching-mode flush after a map, recorded by gen or inferred at ingest): the
   * page was not present before, so nothing can be stale, and a probe would fill the caches with a
   * mapping the guest had not made yet: not probed.
   */
  published(pos: number, seq: number, d: Decoded, c: Classified, cause?: string): void {
    const st = this.store;
    const old = st.at(pos);
    if (old !== NONE) st.drop(old); // the guest rewrote a published entry: the new one counts
    if (c.role === 'sync') {
      this.openSyncs[this.openCount++] = pos;
      return;
    }
    if (c.role !== 'invalidate' || c.scope === undefined || cause === 'map') return;
    const s = c.scope;
    const plan = this.plans.of(s);
    if (plan === null) return;
    const pasid = plan.pasid;
    // The record is filled as probes are made and indexed only at the end (`commit`): a later
    // address of this same invalidation neither refills nor hands over its own earlier probes.
    let rec = NONE;
    const deviceLevel = plan.deviceLevel;
    const iovas = this.iovas;
    const pages = this.pages;
    const devs = plan.devices;
    // The pending invalidations' probes are looked up below only while some are pending.
    const pending = st.count > 0;
    if (pending) st.index();
    for (let k = 0; k < devs.length; k++) {
      const dev = devs[k]!;
      const slot = st.useSlot(plan.slots[k]!);
      let n: number = plan.pages;
      if (n > 0) {
        iovas[0] = plan.first;
        iovas[1] = plan.last;
        pages[0] = plan.firstPage;
        pages[1] = plan.lastPage;
        this.remember(plan.sidSlots[k]!, plan.first, plan.firstPage);
      } else {
        n = this.recentAddresses(plan.sidSlots[k]!, iovas);
        for (let a = 0; a < n; a++) pages[a] = pageOf(iovas[a]!);
      }
      for (let a = 0; a < n; a++) {
        const iova = iovas[a]!;
        const page = pages[a]!;
        if (deviceLevel && this.openEpochs.delete(slot, page)) {
          // The IOTLB-level invalidation before it already filled; the page is unmapped since.
          if ((this.hits(dev.sid, pasid, iova, HIT_ATC, page) & HIT_ATC) !== 0) {
            if (rec === NONE) rec = st.open();
            st.addProbe(rec, dev.sid, pasid, iova, slot, page);
          }
          continue;
        }
        // The cache state before this DMA matters only to earlier probes of the same page (lookups
        // fill nothing, so skipping one changes nothing). With no invalidation pending (the common
        // case: the last completion point checked them all) there are no earlier probes at all.
        const shared = pending && st.byKey.first(slot, page) !== NONE;
        const before = shared ? this.hits(dev.sid, pasid, iova, HIT_ALL, page) : 0;
        const gone = pending ? this.peersGone(slot) : 0;
        const t = this.host.translate(dev.sid, pasid, iova, page);
        if (!t.ok) continue;
        if (shared) this.refilled(slot, page, before);
        if (gone > 0) this.peersRefilled(gone);
        if (rec === NONE) rec = st.open();
        st.addProbe(rec, dev.sid, pasid, iova, slot, page);
        if (plan.iotlb && dev.ats) {
          if (this.openEpochs.size >= this.maxEpochs) this.openEpochs.clear();
          this.openEpochs.add(slot, page);
        }
      }
    }
    if (rec !== NONE) st.commit(rec, pos, seq, d.name, s, plan.want);
  }

  /** Whether probe `p`'s entry is gone now (its invalidation's scope shows nothing cached). */
  private goneNow(p: number): boolean {
    const st = this.store;
    const want = st.wantOf(st.ownerOf(p));
    return staleBits(want, this.hits(st.sidOf(p), st.pasidOf(p), st.iovaOf(p), want, st.pageOf(p))) === undefined;
  }

  /**
   * Probes of other pages of the same device whose entries are gone now: a DMA of this device can
   * refill what they share with it (upper-level walk entries, the context/STE/CD entry). Bounded:
   * with more than PEER_LIMIT pending invalidations on the device only the same page is handed over.
   * Their numbers go to the scratch `gone`; returns how many.
   */
  private peersGone(slot: number): number {
    const st = this.store;
    if (st.devPending[slot]! > PEER_LIMIT) return 0;
    let n = 0;
    for (let p = st.firstOnDevice(slot); p !== NONE; p = st.nextOnDevice(p)) {
      if (!this.goneNow(p)) continue;
      if (n >= this.gone.length) this.gone = grow(this.gone, new Int32Array(n * 2));
      this.gone[n++] = p;
    }
    return n;
  }

  /** Those of the first `n` peersGone found that this DMA refilled belong to the later invalidation now. */
  private peersRefilled(n: number): void {
    for (let k = 0; k < n; k++) {
      const p = this.gone[k]!;
      if (this.store.alive(p) && !this.goneNow(p)) this.store.kill(p);
    }
  }

  /**
   * A new probe of (slot, page) filled the caches. An earlier pending invalidation whose entry was
   * already gone before it (`before`, HIT_* bits) no longer owns what is cached there now: the
   * refill is a DMA after the guest mapped the page again, which only the later invalidation covers.
   */
  private refilled(slot: number, page: number, before: number): void {
    const st = this.store;
    for (let p = st.byKey.first(slot, page); p !== NONE;) {
      const next = st.byKey.nextOf(p);
      // Still cached since before: the earlier invalidation's own entry.
      if (staleBits(st.wantOf(st.ownerOf(p)), before) === undefined) st.kill(p);
      p = next;
    }
  }

  /**
   * Every invalidation before `pos` must have taken effect: a completion point at `pos` completed,
   * or the queue stopped on an error at `pos` that counts as one. `keep`: scopes left pending.
   */
  completedBefore(pos: number, how: string, out: (f: StaleFinding) => void, keep?: (s: Scope) => boolean): void {
    this.closeSyncs(pos);
    const st = this.store;
    for (let r = st.first(); r !== NONE;) {
      const next = st.after(r);
      if (st.posOf(r) < pos && (keep === undefined || !keep(st.scope[r]!))) {
        const f = this.check(r, how);
        st.drop(r);
        if (f !== undefined) out(f);
      }
      r = next;
    }
  }

  /** Record `r`'s live probes whose entries are still cached, as a finding (undefined: none). */
  private check(r: number, how: string): StaleFinding | undefined {
    const st = this.store;
    const want = st.wantOf(r);
    let hits: { probe: Probe; hit: string }[] | undefined;
    for (let p = st.probesOf(r); p !== NONE; p = st.nextProbe(p)) {
      if (!st.alive(p)) continue;
      const sid = st.sidOf(p);
      const pasid = st.pasidOf(p);
      const iova = st.iovaOf(p);
      const hit = staleBits(want, this.hits(sid, pasid, iova, want, st.pageOf(p)));
      if (hit !== undefined) (hits ??= []).push({ probe: { sid, pasid, iova }, hit });
    }
    return hits === undefined ? undefined : { pos: st.posOf(r), seq: st.seqOf(r), name: st.name[r]!, scope: st.scope[r]!, how, hits };
  }

  /**
   * The queue stopped on `error` at `pos`. A time-out is not a completion point for what it tells
   * the guest has failed (see the header); any other error is one for everything before it.
   */
  stopped(pos: number, error: GuestError, how: string, out: (f: StaleFinding) => void, failed?: (t: ToldFailed) => void): void {
    const st = this.store;
    if (error.code === 'ITE') {
      // The waits still open before the head are aborted; what they covered has failed.
      let lastAborted = -1;
      let k = 0;
      for (let i = 0; i < this.openCount; i++) {
        const w = this.openSyncs[i]!;
        if (w < pos) lastAborted = w;
        else this.openSyncs[k++] = w;
      }
      this.openCount = k;
      for (let r = st.first(); r !== NONE;) {
        const next = st.after(r);
        const at = st.posOf(r);
        const s = st.scope[r]!;
        const devtlbOfSid = (s.cache === 'devtlb' || s.cache === 'atc') && error.sid !== undefined && s.sid === error.sid;
        if (at < pos && (at < lastAborted || devtlbOfSid)) {
          const seq = st.seqOf(r);
          st.drop(r);
          failed?.({
            pos: at,
            seq,
            reason: `ITE${error.sid !== undefined ? ` (ITESID ${hex(error.sid)})` : ''}${at < lastAborted ? ', its wait aborted' : ''}`,
          });
        }
        r = next;
      }
      return;
    }
    if (error.code === 'CERROR_ATC_INV_SYNC') {
      // CONS stays at this CMD_SYNC: it is still open, and the timed-out device's ATC invalidations wait for it.
      const atcOfSid = (s: Scope) => s.cache === 'atc' && (error.sid === undefined || s.sid === error.sid);
      this.completedBefore(pos, how, out, atcOfSid);
      if (!this.syncOpen(pos)) {
        for (let i = this.openCount; i > 0; i--) this.openSyncs[i] = this.openSyncs[i - 1]!;
        this.openSyncs[0] = pos;
        this.openCount++;
      }
      return;
    }
    this.completedBefore(pos, how, out);
  }

  private syncOpen(pos: number): boolean {
    for (let i = 0; i < this.openCount; i++) if (this.openSyncs[i] === pos) return true;
    return false;
  }

  private closeSyncs(pos: number): void {
    let k = 0;
    for (let i = 0; i < this.openCount; i++) {
      const w = this.openSyncs[i]!;
      if (w > pos) this.openSyncs[k++] = w;
    }
    this.openCount = k;
  }

  /**
   * A ranged scope probed the device of SID slot `d` at page address `first` (page number `page`):
   * unless already among its recent ones, it is the newest, and the oldest of RECENT falls out.
   */
  private remember(d: number, first: bigint, page: number): void {
    const r = this.recent;
    const row = d * RECENT_ROW;
    const n = r[row + R_COUNT]!;
    const start = r[row + R_START]!;
    // Newest first: a device's ATC invalidation follows the IOTLB one of the same page.
    for (let k = n - 1; k >= 0; k--) if (r[row + R_PAGES + ((start + k) & RING_MASK)] === page) return;
    // Not full: the next place (start is still 0); full: the oldest's, and the next one is the oldest.
    const at = (start + n) & RING_MASK;
    r[row + R_PAGES + at] = page;
    this.recentIova[d * RECENT + at] = first;
    if (n < RECENT) r[row + R_COUNT] = n + 1;
    else r[row + R_START] = (start + 1) & RING_MASK;
  }

  /**
   * The addresses probed on the device of SID slot `d` for a scope with no range (every address),
   * into `out`: a default one, then its recent first pages, oldest first; returns how many.
   */
  private recentAddresses(d: number, out: bigint[]): number {
    out[0] = DEFAULT_IOVA;
    const row = d * RECENT_ROW;
    const n = this.recent[row + R_COUNT]!;
    const start = this.recent[row + R_START]!;
    for (let k = 0; k < n; k++) out[k + 1] = this.recentIova[d * RECENT + ((start + k) & RING_MASK)]!;
    return n + 1;
  }
}

/** A stale finding as one line. */
export function describeStale(f: StaleFinding, extra = ''): Violation {
  const h = f.hits[0]!;
  const pr = h.probe;
  return {
    kind: 'stale-translation',
    seq: f.seq,
    scope: describeScope(f.scope),
    explanation: `${f.name}: device ${hex(pr.sid)}${pr.pasid ? ` pasid ${pr.pasid}` : ''} still has a ${h.hit} for ${hex(pr.iova)} after ${f.how}${extra}`,
  };
}

/** Errors that report a device that did not answer an ATS invalidation. */
export const TIMEOUT_ERRORS: ReadonlySet<string> = new Set(['ITE', 'CERROR_ATC_INV_SYNC']);

/**
 * The guest-visible identity of an error, for comparing a policy with bare hardware: the code and
 * value (CMDQ_CONS.ERR / IQERCD.IQEI), and for ITE the ITESID (IQERCD, spec/vtd.md §1.1). The SID
 * of an SMMUv3 ATC time-out is not guest-visible (CONS.ERR only).
 */
export function errorKey(e: GuestError | undefined): string {
  if (e === undefined) return '';
  return e.code === 'ITE' && e.sid !== undefined ? `${e.code}:${e.value}:${hex(e.sid)}` : `${e.code}:${e.value}`;
}

const showError = (e: GuestError) => (e.code === 'ITE' && e.sid !== undefined ? `ITE (ITESID ${hex(e.sid)})` : `${e.code}:${e.value}`);

/** What the policy did about a device that stopped answering, as the engine observed it. */
export interface TimeoutContext {
  readonly arch: 'smmuv3' | 'vtd';
  /** The host saw an ATS invalidation to the device time out (and the policy did not show it). */
  readonly hostTimedOut: boolean;
  /** The completion point bare hardware stopped at or aborted (its slot). */
  readonly slot: number;
}

/**
 * wrong-error explained for a VMM developer. When bare hardware reports a device time-out and the
 * policy shows nothing, say which of the two ways the guest was not told: the host saw the time-out
 * and it was lost on the way up (iommufd reports no ITE; a VMM that drops ETIMEDOUT), or the policy
 * never sent the ATS invalidation at all (devtlb-nop completing it as a no-op).
 */
export function explainErrorMismatch(ref: GuestError | undefined, mine: GuestError | undefined, t: TimeoutContext): string {
  const plain = `the guest sees ${mine ? showError(mine) : 'no error'} where bare hardware raises ${ref ? showError(ref) : 'no error'}`;
  if (ref === undefined || mine !== undefined || !TIMEOUT_ERRORS.has(ref.code)) return plain;
  const dev = ref.sid !== undefined ? `device ${hex(ref.sid)}` : 'the device';
  if (ref.code === 'ITE') {
    return t.hostTimedOut
      ? `iommufd hides ITE: the host's device-TLB invalidation to ${dev} timed out, IOMMU_HWPT_INVALIDATE still returned success and the wait completed; bare hardware raises ITE (ITESID ${ref.sid !== undefined ? hex(ref.sid) : '?'}) and aborts the pending waits`
      : `the policy completed the device-TLB invalidation to ${dev} without sending it, so the guest never sees the ITE (ITESID ${ref.sid !== undefined ? hex(ref.sid) : '?'}) bare hardware raises when the device does not answer`;
  }
  return t.hostTimedOut
    ? `the host reported the ATC time-out of ${dev} (ETIMEDOUT) but the guest's CMD_SYNC at slot ${t.slot} completed: the VMM must show CERROR_ATC_INV_SYNC there`
    : `the policy drops the ATC_INV whose time-out the guest should have seen: nothing reached ${dev}, so the CMD_SYNC at slot ${t.slot} completed where bare hardware stops on it with CERROR_ATC_INV_SYNC`;
}

/** What the guest-state checks read: one side's consumer position and pending error. */
export interface QueueSide {
  readonly cons: number;
  readonly error: (GuestError & { readonly pos?: number }) | undefined;
}

/** What the guest-state checks need of the shared queue. */
export interface QueueCommands {
  readonly entries: number;
  seqAt(pos: number): number;
  decodedAt(pos: number): Decoded;
}

/**
 * Checks 3 for one policy run: the guest-visible state against bare hardware on the same queue
 * (wrong-consumer-index, wrong-error, executed-past-error) and the completion points bare hardware
 * completed that the policy never did (never-completed). A mismatch is reported once until it
 * changes, so a stuck queue yields one finding, not one per doorbell.
 */
export class GuestStateCheck {
  private lastMismatch = '';
  private readonly pastError = new Set<number>();

  constructor(
    private readonly q: QueueCommands,
    private readonly arch: 'smmuv3' | 'vtd',
    private readonly out: (v: Violation) => void,
  ) {}

  /** After an event: the guest reads `mine` where bare hardware shows `ref`; `hostTimedOut` as in TimeoutContext. */
  compare(ref: QueueSide, mine: QueueSide, published: number, seq: number, hostTimedOut: boolean): void {
    const refErr = errorKey(ref.error);
    const myErr = errorKey(mine.error);
    if (ref.cons === mine.cons && refErr === myErr) {
      this.lastMismatch = '';
      return;
    }
    const sig = `${ref.cons - mine.cons}/${refErr}/${myErr}`;
    if (sig === this.lastMismatch) return;
    this.lastMismatch = sig;
    const q = this.q;
    const at = Math.min(ref.cons, mine.cons);
    const cmdSeq = at < published ? q.seqAt(at) : seq;
    const slot = (p: number) => ringIndex(p, q.entries);
    if (ref.cons !== mine.cons) {
      this.out({
        kind: 'wrong-consumer-index',
        seq: cmdSeq,
        scope: `slot ${slot(at)}`,
        explanation: `the guest reads the consumer at slot ${slot(mine.cons)} where bare hardware shows slot ${slot(ref.cons)}`,
      });
    }
    if (refErr !== myErr) {
      this.out({
        kind: 'wrong-error',
        seq: cmdSeq,
        scope: `slot ${slot(at)}`,
        explanation: explainErrorMismatch(ref.error, mine.error, { arch: this.arch, hostTimedOut, slot: slot(ref.cons) }),
      });
    }
  }

  /** The policy made the command at `pos` take effect; bare hardware may have stopped before it. */
  executed(pos: number, refError: { readonly code: string; readonly pos: number } | undefined): void {
    if (refError === undefined || pos < refError.pos || this.pastError.has(pos)) return;
    this.pastError.add(pos);
    const q = this.q;
    const d = q.decodedAt(pos);
    this.out({
      kind: 'executed-past-error',
      seq: q.seqAt(pos),
      scope: d.name,
      explanation: `${d.name} at slot ${ringIndex(pos, q.entries)} took effect, but bare hardware stopped at slot ${ringIndex(refError.pos, q.entries)} with ${refError.code}`,
    });
  }

  /** At the end, for each completion point in queue order: bare hardware completed it, the policy did not. */
  completion(seq: number, slot: number, done: boolean, refDone: boolean): void {
    if (refDone && !done) {
      this.out({
        kind: 'never-completed',
        seq,
        scope: `slot ${slot}`,
        explanation: `bare hardware completed the completion point at slot ${slot}; under this policy the guest waits forever`,
      });
    }
  }
}
