// The SMMUv3 emulator: registers (spec/smmuv3.md §1.1), the CMDQ consumer (§1.3, §6.1), every
// command's effect on real caches (IOTLB with walk entries, configuration cache, per-device ATC),
// and translation probes that walk the stream and page tables (tables.ts) and fill those caches.
//
// Behaviour. `compat: 'arch'` (the default) follows the architecture as spec/smmuv3.md states it:
// reserved bits and encodings are CERROR_ILL, a command needing a feature the instance lacks is
// CERROR_ILL, CMD_CFGI_CD is SSID-exact, VMIDs are matched on an S2P instance. `compat: 'qemu-7.2'`
// does what QEMU 7.2's hw/arm/smmuv3.c does instead (spec/smmuv3.md §2 discrepancy table, §6.1):
// only unknown opcodes (0x00, 0x07 "CFGI_ALL", holes) and SSec=1 on CFGI are CERROR_ILL; EL2/EL3,
// stage-2 TLBIs, ATC_INV, PRI_RESP, RESUME and STALL_TERM are unhandled no-ops; TLBI_NH_ALL flushes
// everything like NSNH_ALL; TLBI_NH_ASID ignores the VMID; CFGI_CD(_ALL) drops the device's whole
// configuration; CMDQ_CONS is writable while the queue is enabled; the IOTLB holds 256 entries
// and no walk entries.
//
// Simplifications (documented, not hidden): one 4 KiB-granule 48-bit page-table shape for every
// context with identity output; all entries are non-global (ASID-tagged); PREFETCH_* are hints
// and fetch nothing; RESUME and STALL_TERM are accepted no-ops (no stall model); TLBI TG/NUM/SCALE
// are ignored without IDR3.RIL.

import type { Decoded } from '../../formats/codec/codec.js';
import { SMMUV3 } from '../../formats/codecs.js';
import { hex } from '../../formats/bits.js';
import { unreachable } from '../../formats/result.js';
import { classifySmmuv3 } from '../../formats/smmuv3/scope.js';
import { PreparedFetch, type FetchShare } from '../prepared-fetch.js';
import type { GuestMemory } from '../memory.js';
import { SmmuRing } from '../../formats/ring.js';
import {
  HIT_ALL,
  HIT_ATC,
  HIT_CONFIG,
  HIT_IOTLB,
  HIT_WALK,
  hitsOf,
  type CacheEffect,
  type CacheHits,
  type ConsumerState,
  type EventSink,
  type QueueError,
  type QueueUnit,
  type Translation,
} from '../unit.js';
import { cdIn, ConfigCache } from './config-cache.js';
import { SidTable } from '../sid-table.js';
import * as qt from './qemu-trace.js';
import {
  CERROR,
  CERROR_NAMES,
  CMDQ_BASE,
  CMDQS_MAX,
  CR0,
  GERROR,
  GUEST_FEATURES,
  REG,
  getField,
  getField64,
  idr0Of,
  idr1Of,
  idr3Of,
  missingFeatures,
  setField,
  type Smmuv3Features,
} from './regs.js';
import { inRange, leafLevel, pageInRange, type Cd, type PageTableModel, type Ste, type SteSpec, steOf } from './tables.js';
import { AtcFilter, TlbFilter, tlbKey, type AtcTag, type TlbTag } from './tag-filter.js';
import { prepare, type Fault, type Prepared, type PrepareConfig, type TlbiSpec } from './prepared.js';
import { LEAF, LOOKUP_LEAF, LOOKUP_TABLE, TranslationCache, type Dropped } from './tlb.js';
import type { Bounds } from '../level-cache.js';

export type Compat = 'arch' | 'qemu-7.2';

export interface Smmuv3Options {
  /** 'arch' (default) or 'qemu-7.2' (see the file header). */
  readonly compat?: Compat;
  /** ID-register features; default GUEST_FEATURES (QEMU's virt SMMU: stage 1, RIL, ATS). */
  readonly features?: Partial<Smmuv3Features>;
  /** IDR1.CMDQS: LOG2SIZE writes are capped to it (default and maximum 19, as QEMU). */
  readonly cmdqs?: number;
  /** IOTLB entries (leaf + walk) before a full flush; default 4096, qemu-7.2: 256. */
  readonly iotlbCapacity?: number;
  /** STE + CD entries before a full flush; default 1024. */
  readonly configCapacity?: number;
  /** ATC entries per device before a full flush; default 1024. */
  readonly atcCapacity?: number;
  /** Cache non-leaf walk entries (default true; qemu-7.2: false, QEMU has no walk cache). */
  readonly walkCache?: boolean;
  readonly pageTables?: PageTableModel;
  readonly events?: EventSink;
  /** Report 'exec' events, with their cache effects, to `events` (default true). */
  readonly exec?: boolean;
  /**
   * Where to find the fetch path's tables (prepared-fetch.ts), shared with the other units of a
   * replay that have the same configuration; default: this unit's own.
   */
  readonly fetchShare?: FetchShare;
}

const atcKey = (ssid: number) => ssid + 1;

/** An ATC invalidation sent to a device that does not answer, applied when it answers again. */
interface PendingAtc {
  readonly ssid: number | undefined;
  readonly bounds: Bounds | undefined;
}

/**
 * The state of one command queue feeding the unit: the ATC invalidations it issued that a later
 * CMD_SYNC on the same queue must wait for. The main CMDQ has one; a secondary (VCMDQ-like)
 * queue has its own.
 */
export class QueueContext {
  /**
   * The SIDs of those ATC invalidations, each once, in the order first issued: the first `count`
   * of `sids` (a counted array, not a Set: a Set's deletes at every CMD_SYNC reallocate its table).
   */
  private readonly sids: number[] = [];
  private count = 0;

  /** An ATC invalidation of device `sid` was issued on this queue. */
  addAtc(sid: number): void {
    for (let i = 0; i < this.count; i++) if (this.sids[i] === sid) return;
    this.sids[this.count++] = sid;
  }

  /**
   * A CMD_SYNC waits for the outstanding ATC invalidations in order: those before the first device
   * that does not answer (`silent`) are done and forgotten; returns that device's SID (it and
   * those after it stay outstanding), or undefined when every one was done.
   */
  settleAtc(silent: (sid: number) => boolean): number | undefined {
    let j = 0;
    while (j < this.count && !silent(this.sids[j]!)) j++;
    if (j > 0) {
      for (let i = j; i < this.count; i++) this.sids[i - j] = this.sids[i]!;
      this.count -= j;
    }
    return this.count > 0 ? this.sids[0] : undefined;
  }
}

const ERR_MASK = 0x7f << 24;
const DECODE_CACHE = 4096;
const NO_EFFECTS: readonly CacheEffect[] = [];

export class Smmuv3 implements QueueUnit {
  readonly arch = 'smmuv3' as const;
  readonly compat: Compat;
  readonly features: Smmuv3Features;
  /** What a command's meaning depends on (prepared.ts), fixed at construction. */
  private readonly prepareConfig: PrepareConfig;
  readonly cmdqs: number;

  // Registers (spec/smmuv3.md §1.1).
  private cr0 = 0;
  private gerror = 0;
  private gerrorn = 0;
  private cmdqBase = 0n;
  private prod = 0;
  private cons = 0;
  private ring = new SmmuRing(0);
  /** Effective queue base address (CMDQ_BASE.ADDR, aligned to the queue size in 'arch'). */
  private qbase = 0n;
  /** `qbase` as a number (ADDR is at most 52 bits): the fetch address without a BigInt. */
  private qbaseNum = 0;

  private readonly streams = new SidTable<Ste>();
  readonly config: ConfigCache;
  readonly tlb: TranslationCache<TlbTag>;
  private readonly atcs = new SidTable<TranslationCache<AtcTag>>();
  private readonly atcCapacity: number;
  private readonly walkCache: boolean;
  private readonly pages: PageTableModel;
  private readonly atcTimedOut = new Set<number>();
  private readonly atcPending = new Map<number, PendingAtc[]>();
  private readonly main = new QueueContext();
  private lastError: QueueError | undefined;
  private readonly events: EventSink | undefined;
  /** `events` takes 'exec' events: each command's cache effects are collected for it. */
  private readonly execEvents: boolean;
  /**
   * Commands as this instance runs them (prepared.ts), by their bits in the queue or their words
   * (prepared-fetch.ts): drivers repeat the same words (every CMD_SYNC of a queue is alike; TLBIs
   * recur per page). Shared with the replay's other units of the same configuration, if given one.
   */
  private readonly fetcher: PreparedFetch<Prepared>;
  /** translate's and hits' address as indexes at every table level (one conversion for all caches), reused. */
  private readonly iovaIndexes: number[] = [0, 0, 0, 0];
  /** The command being fetched, reused (the decode cache keeps its own copy). */
  private readonly fetched: bigint[] = [0n, 0n];
  /** Commands that took effect, on every queue. */
  executed = 0;
  /**
   * Per-command scratch, reused (one command runs at a time): the buckets an invalidation selects,
   * what it drops, what it dropped, and translate's answer.
   */
  private readonly tlbSel = new TlbFilter();
  private readonly atcSel = new AtcFilter();
  private readonly dropSpec: { bounds: Bounds | undefined; leaf: boolean; table: boolean; leafLevel: number | undefined } = {
    bounds: undefined,
    leaf: true,
    table: false,
    leafLevel: undefined,
  };
  private readonly dropped: Dropped = { leaf: 0, table: 0 };
  private readonly translated: { ok: true; pa: bigint } = { ok: true, pa: 0n };

  constructor(
    private readonly mem: GuestMemory,
    opts: Smmuv3Options = {},
  ) {
    this.compat = opts.compat ?? 'arch';
    const qemu = this.compat === 'qemu-7.2';
    this.features = { ...GUEST_FEATURES, ...opts.features };
    this.cmdqs = Math.min(opts.cmdqs ?? CMDQS_MAX, CMDQS_MAX);
    this.config = new ConfigCache(opts.configCapacity ?? 1024);
    this.tlb = new TranslationCache(opts.iotlbCapacity ?? (qemu ? 256 : 4096));
    this.atcCapacity = opts.atcCapacity ?? 1024;
    this.walkCache = opts.walkCache ?? !qemu;
    this.pages = opts.pageTables ?? {};
    this.events = opts.events;
    this.execEvents = opts.events !== undefined && opts.exec !== false;
    const config: PrepareConfig = { qemu, features: this.features, missing: missingFeatures(this.features), exec: this.execEvents };
    this.prepareConfig = config;
    const make = () => new PreparedFetch(SMMUV3, {}, (d: Decoded) => prepare(d, config), DECODE_CACHE);
    // The key names all the configuration says (missing follows from the features).
    this.fetcher = opts.fetchShare?.of(`smmuv3/${JSON.stringify(this.features)}/${qemu}/${this.execEvents}`, make) ?? make();
  }

  // ---- Register interface -------------------------------------------------------------------

  get IDR0(): number {
    return idr0Of(this.features);
  }
  get IDR1(): number {
    return idr1Of(this.cmdqs);
  }
  get IDR3(): number {
    return idr3Of(this.features);
  }
  get CR0(): number {
    return this.cr0;
  }
  get GERROR(): number {
    return this.gerror;
  }
  get GERRORN(): number {
    return this.gerrorn;
  }
  get CMDQ_BASE(): bigint {
    return this.cmdqBase;
  }
  get CMDQ_PROD(): number {
    return this.prod;
  }
  get CMDQ_CONS(): number {
    return this.cons;
  }
  /** LOG2SIZE in effect (after the CMDQS cap). */
  get log2size(): number {
    return this.ring.log2size;
  }

  /** An MMIO read at `offset` (page 1 aliases page 0, as in QEMU). */
  readReg(offset: number): bigint {
    switch (offset & ~0x10000) {
      case REG.IDR0:
        return BigInt(this.IDR0);
      case REG.IDR1:
        return BigInt(this.IDR1);
      case REG.IDR3:
        return BigInt(this.IDR3);
      case REG.CR0:
      case REG.CR0ACK:
        return BigInt(this.cr0); // CR0ACK follows CR0 at once
      case REG.GERROR:
        return BigInt(this.gerror);
      case REG.GERRORN:
        return BigInt(this.gerrorn);
      case REG.CMDQ_BASE:
        return this.cmdqBase;
      case REG.CMDQ_PROD:
        return BigInt(this.prod);
      case REG.CMDQ_CONS:
        return BigInt(this.cons);
      default:
        return 0n; // RAZ
    }
  }

  /** An MMIO write; writes of CMDQ_PROD, CR0 and GERRORN run the consumer, as QEMU does (§6.1). */
  writeReg(offset: number, value: bigint): void {
    const v = Number(value & 0xffffffffn);
    switch (offset & ~0x10000) {
      case REG.CR0:
        return this.writeCr0(v);
      case REG.GERRORN:
        return this.writeGerrorn(v);
      case REG.CMDQ_BASE:
        return this.writeCmdqBase(value);
      case REG.CMDQ_PROD:
        return this.writeCmdqProd(v);
      case REG.CMDQ_CONS:
        return this.writeCmdqCons(v);
      default:
        return; // read-only or not modelled: write ignored
    }
  }

  writeCr0(v: number): void {
    this.cr0 = v >>> 0;
    this.consume(); // in case the command queue has just been enabled
  }

  writeGerrorn(v: number): void {
    const wasActive = this.cmdqErrActive();
    this.gerrorn = v >>> 0;
    if (wasActive && !this.cmdqErrActive()) this.events?.({ kind: 'resume' });
    this.consume(); // §1.3 item 3: resume from CONS, re-fetching the command there
  }

  /** CMDQ_BASE: ADDR [51:5], LOG2SIZE [4:0] capped to IDR1.CMDQS (§1.2). */
  writeCmdqBase(v: bigint): void {
    this.cmdqBase = v;
    const n = Math.min(Number(getField64(v, CMDQ_BASE.LOG2SIZE)), this.cmdqs);
    if (n !== this.ring.log2size) this.ring = new SmmuRing(n);
    const addr = getField64(v, CMDQ_BASE.ADDR) << BigInt(CMDQ_BASE.ADDR.lsb);
    // The architecture ignores ADDR bits below the queue's size (IHI 0070 CMDQ_BASE); QEMU uses
    // them as written (spec/smmuv3.md §8 item 10).
    const align = BigInt(Math.max(32, 16 << n));
    this.qbase = this.compat === 'arch' ? addr & ~(align - 1n) : addr;
    this.qbaseNum = Number(this.qbase);
  }

  writeCmdqProd(v: number): void {
    this.prod = v & 0xfffff; // WR index and wrap: at most 20 bits (LOG2SIZE ≤ 19)
    this.consume();
  }

  /** CMDQ_CONS is written by software only while the queue is disabled (spec/smmuv3.md §8 item 8). */
  writeCmdqCons(v: number): void {
    if (this.compat === 'arch' && getField(this.cr0, CR0.CMDQEN) === 1) return;
    this.cons = (v & (ERR_MASK | 0xfffff)) >>> 0;
  }

  // ---- QueueUnit ----------------------------------------------------------------------------

  /** CMDQ_BASE, then PROD = CONS = `start` (lap 0) written while CR0.CMDQEN=0, then CMDQEN=1. */
  configureQueue(base: bigint, entries: number, descBytes: 16 | 32, start = 0): void {
    if (descBytes !== 16) throw new Error('SMMUv3 commands are 16 bytes');
    const n = Math.log2(entries);
    if (!Number.isInteger(n) || n > this.cmdqs) throw new Error(`SMMUv3 CMDQ of ${entries} entries (2^0..2^${this.cmdqs})`);
    if (!Number.isInteger(start) || start < 0 || start >= entries) throw new Error(`start ${start} outside a queue of ${entries} entries`);
    this.writeCr0(setField(this.cr0, CR0.CMDQEN, 0));
    this.writeCmdqBase(base | BigInt(n));
    this.writeCmdqProd(start);
    this.writeCmdqCons(start);
    this.writeCr0(setField(setField(this.cr0, CR0.CMDQEN, 1), CR0.SMMUEN, 1));
  }

  writeProducer(index: number, wrap: number): void {
    // ring.value({ index, wrap }) without the object: one PROD write per doorbell and host issue.
    const r = this.ring;
    this.writeCmdqProd(((wrap & 1) << r.log2size) | (index & r.mask));
  }

  acknowledge(): void {
    this.writeGerrorn(this.gerror);
  }

  consumer(): ConsumerState {
    return { ...this.consumerNow() };
  }

  /** consumerNow's answer, reused. */
  private readonly consNow: { index: number; wrap: number; error: QueueError | undefined } = { index: 0, wrap: 0, error: undefined };

  consumerNow(): ConsumerState {
    const r = this.ring;
    const c = this.consNow;
    c.index = this.cons & r.mask;
    c.wrap = (this.cons >>> r.log2size) & 1;
    c.error = this.consumerError();
    return c;
  }

  /** `consumer().error` without building the answer (the host driver asks before and after each issue). */
  consumerError(): QueueError | undefined {
    return this.cmdqErrActive() ? this.lastError : undefined;
  }

  /** CMDQ_CONS as (wrap|index), without CONS.ERR: what `consumer` gives, as one number. */
  consumerValue(): number {
    return this.cons & ((this.ring.entries << 1) - 1);
  }

  setAtcTimeout(sid: number, timedOut: boolean): void {
    if (timedOut) {
      this.atcTimedOut.add(sid);
      return;
    }
    this.atcTimedOut.delete(sid);
    // The device answers again: the invalidations it missed are carried out now.
    const pending = this.atcPending.get(sid);
    this.atcPending.delete(sid);
    const atc = this.atcs.get(sid);
    if (pending && atc)
      for (const p of pending) atc.drop(atcMatch(p.ssid), { bounds: p.bounds, leaf: true, table: false }, { leaf: 0, table: 0 });
  }

  // ---- Stream table (the model software programs) --------------------------------------------

  /** Installs (or removes) the STE of `sid` in the stream table; caches are not touched. */
  setSte(sid: number, spec: SteSpec | undefined): void {
    if (spec === undefined) this.streams.delete(sid);
    else this.streams.set(sid, steOf(spec));
  }

  ste(sid: number): Ste | undefined {
    return this.streams.get(sid);
  }

  /**
   * Writes (or clears) the CD of (sid, ssid) in the CD table the STE points at, in place, as
   * software writes a CD in memory: a cached STE still points at the same table, so the next CD
   * fetch sees the new CD; a cached CD stays stale until CMD_CFGI_CD. Caches are not touched.
   */
  setCd(sid: number, ssid: number, asid: number | undefined): void {
    const ste = this.streams.get(sid);
    if (ste?.s1 === undefined) throw new Error(`no stage-1 STE for SID ${hex(sid)}`);
    const table = ste.s1.cds as Map<number, Cd>;
    if (asid === undefined) table.delete(ssid);
    else table.set(ssid, { asid });
  }

  /** atcSilent as one function made once (sync asks it per outstanding device). */
  private readonly isSilent = (sid: number): boolean => this.atcTimedOut.has(sid);

  /** Whether device `sid` is currently not answering ATS invalidations (setAtcTimeout). */
  atcSilent(sid: number): boolean {
    return this.atcTimedOut.has(sid);
  }

  /** Entries held by the device's ATC (0 without one). */
  atcSize(sid: number): number {
    return this.atcs.get(sid)?.size ?? 0;
  }

  // ---- The consumer (spec/smmuv3.md §1.3, §6.1) ----------------------------------------------

  private cmdqErrActive(): boolean {
    return getField(this.gerror ^ this.gerrorn, GERROR.CMDQ_ERR) === 1;
  }

  private slotAddr(index: number): bigint {
    return this.qbase + BigInt(index * 16);
  }

  /** One loop owns the queue: runs until it is empty or a command fails. */
  private consume(): void {
    if (getField(this.cr0, CR0.CMDQEN) === 0) return;
    const ring = this.ring;
    while (!ring.empty(this.prod, this.cons)) {
      if (this.cmdqErrActive()) return; // §1.3 item 2: nothing is fetched while CMDQ_ERR is active
      const slot = this.cons & ring.mask;
      const p = this.fetcher.fetch(this.mem, this.qbaseNum + slot * 16, this.fetched);
      if (p === undefined) return this.stop(slot, { cerror: CERROR.ABT, message: `command fetch at ${hex(this.slotAddr(slot))} aborted` });
      const fault = this.run(p, slot, this.main);
      if (fault !== undefined) return this.stop(slot, fault); // CONS stays on the failing command
      // CONS moves only after the command took effect; CONS.ERR is kept, as QEMU does.
      this.cons = ((this.cons & ERR_MASK) | ring.inc(this.cons)) >>> 0;
    }
  }

  /** §1.3 item 1: CONS.ERR := the error; GERROR.CMDQ_ERR toggles unless already pending. */
  private stop(slot: number, fault: Fault): void {
    this.cons = ((this.cons & ~ERR_MASK) | (fault.cerror << 24)) >>> 0;
    if (!this.cmdqErrActive()) this.gerror = (this.gerror ^ 1) >>> 0;
    const code = CERROR_NAMES[fault.cerror]!;
    this.lastError = { code, value: fault.cerror, slot, message: fault.message, ...(fault.sid !== undefined ? { sid: fault.sid } : {}) };
    this.events?.({ kind: 'error', error: this.lastError });
  }

  /**
   * Decodes and executes one command fetched from a queue with context `q`; undefined when it
   * took effect. Used by the main CMDQ and by secondary queues (`runSecondary`).
   */
  private run(p: Prepared, slot: number, q: QueueContext): Fault | undefined {
    if (p.refused !== undefined) return p.refused;
    const fx: CacheEffect[] | undefined = this.execEvents ? [] : undefined;
    const fault = this.execute(p, q, fx);
    if (fault !== undefined) return fault;
    this.executed++;
    if (this.events) {
      if (fx) this.events({ kind: 'exec', slot, name: p.d.name, effects: fx.length ? fx : NO_EFFECTS });
      if (p.kind === 'sync') this.events({ kind: 'complete', slot });
    }
    return undefined;
  }

  /** A command from a secondary queue sharing this unit's caches (a VCMDQ, spec §5.4). */
  runSecondary(words: readonly bigint[], q: QueueContext): QueueError | undefined {
    return this.runPrepared(this.prepareSecondary(words), q);
  }

  /**
   * `words` prepared for runPrepared: a caller that runs the same words again and again (the
   * host's direct queue, per plan) keeps the answer instead of having the words looked up by
   * value (two hashed Map look-ups of BigInts) per command. A prepared command depends only on
   * the words and this instance's fixed configuration.
   */
  prepareSecondary(words: readonly bigint[]): Prepared {
    return this.fetcher.decode(words);
  }

  /** runSecondary of a command prepareSecondary made. */
  runPrepared(p: Prepared, q: QueueContext): QueueError | undefined {
    const fault = this.run(p, -1, q);
    if (fault === undefined) return undefined;
    return {
      code: CERROR_NAMES[fault.cerror]!,
      value: fault.cerror,
      slot: -1,
      message: fault.message,
      ...(fault.sid !== undefined ? { sid: fault.sid } : {}),
    };
  }

  // ---- What each command does (spec/smmuv3.md §2, §6.1; the opcode dispatch is prepared.ts) ----

  /**
   * The effect of a command this instance accepts (`prepare` decided which commands are refused
   * and what each one selects): each handler gets the values it works on and returns the
   * command's outcome (`Fault | undefined`).
   */
  private execute(p: Prepared, q: QueueContext, fx: CacheEffect[] | undefined): Fault | undefined {
    switch (p.kind) {
      case 'none':
        return undefined; // hints, no-ops, QEMU 7.2's unhandled commands
      case 'sync':
        return this.sync(p, q);
      case 'cfgi_ste':
        return this.cfgiSte(p.d, fx, p.sid);
      case 'cfgi_ste_range':
        return this.cfgiSteRange(p.d, fx, p.sid, p.ignore);
      case 'cfgi_cd':
        return this.cfgiCd(p.d, fx, p.sid, p.ssid);
      case 'tlbi':
        return this.tlbi(fx, p.tlbi!);
      case 'atc_inv':
        return this.atcInv(p, q, fx);
      default:
        return unreachable(p.kind);
    }
  }

  /** CMD_SYNC: every earlier command of its queue has completed, unless an ATC did not answer. */
  private sync(p: Prepared, q: QueueContext): Fault | undefined {
    const sid = q.settleAtc(this.isSilent);
    if (sid !== undefined) {
      // §1.3 CERROR_ATC_INV_SYNC: CONS stays at this CMD_SYNC; a retry fails again while the
      // device still does not answer (Linux's skip routine retries it, §1.3).
      return { cerror: CERROR.ATC_INV_SYNC, sid, message: `CMD_SYNC: ATC invalidation of device ${hex(sid)} timed out` };
    }
    if (p.msi !== undefined) this.mem.write32(p.msi.addr, p.msi.data); // the completion MSI (prepared.ts msiOf)
    return undefined;
  }

  /**
   * CMD_CFGI_STE: the STE and every CD fetched through it. Linux re-points an STE at a new CD
   * table with CFGI_STE alone (hitless STE writer), and QEMU drops the device's whole config.
   */
  private cfgiSte(d: Decoded, fx: CacheEffect[] | undefined, sid: number): Fault | undefined {
    const ste = this.config.dropSte(sid);
    return this.cfgiDone(d, fx, ste, this.config.dropCds(sid), qt.cfgiSteLine(sid), true);
  }

  /** CMD_CFGI_STE_RANGE: 2^(RANGE+1) StreamIDs aligned down from SID; RANGE=31 is every StreamID (§2). */
  private cfgiSteRange(d: Decoded, fx: CacheEffect[] | undefined, sid: number, ign: number): Fault | undefined {
    let ste = 0;
    let cd = 0;
    for (const s of this.config.sidsMatching(sid, ign)) {
      ste += this.config.dropSte(s);
      cd += this.config.dropCds(s);
    }
    const start = ign >= 0xffffffff ? 0 : (sid & ~ign) >>> 0;
    return this.cfgiDone(d, fx, ste, cd, qt.cfgiSteRangeLine(start, ign >= 0xffffffff ? 0xffffffff : start + ign), true);
  }

  /** CMD_CFGI_CD (one SSID) and CMD_CFGI_CD_ALL (`ssid` undefined). */
  private cfgiCd(d: Decoded, fx: CacheEffect[] | undefined, sid: number, ssid: number | undefined): Fault | undefined {
    if (this.compat === 'qemu-7.2') {
      // QEMU: the device's whole config, SSID ignored (§6.1).
      return this.cfgiDone(d, fx, this.config.dropSte(sid), this.config.dropCds(sid), qt.cfgiCdLine(sid), true);
    }
    return this.cfgiDone(d, fx, 0, this.config.dropCds(sid, ssid), qt.cfgiCdLine(sid), false);
  }

  /** Reports what a CFGI dropped: the STE effect (when STEs were its target) and the CD effect. */
  private cfgiDone(
    d: Decoded,
    fx: CacheEffect[] | undefined,
    ste: number,
    cd: number,
    line: string,
    steEffect: boolean,
  ): Fault | undefined {
    if (fx) {
      const scope = classifySmmuv3(d).scope!;
      if (steEffect) fx.push({ cache: 'ste', dropped: ste, scope: { ...scope, cache: 'ste' }, detail: line });
      fx.push({ cache: 'cd', dropped: cd, scope: { ...scope, cache: 'cd' }, ...(fx.length === 0 ? { detail: line } : {}) });
    }
    return undefined;
  }

  /** A TLBI: drops the entries `spec` selects and reports them as one effect (two with walk entries). */
  private tlbi(fx: CacheEffect[] | undefined, spec: TlbiSpec): Fault | undefined {
    const out = this.dropped;
    out.leaf = 0;
    out.table = 0;
    const table = spec.table && this.walkCache;
    const drop = this.dropSpec;
    drop.bounds = spec.bounds;
    drop.leaf = true;
    drop.table = table;
    drop.leafLevel = spec.leafLevel;
    this.tlb.drop(this.tlbSel.select(spec.regime, spec.stage, spec.vmid, spec.asid), drop, out, spec.key);
    if (!fx) return undefined;
    const s = spec.scope!;
    fx.push({ cache: 'iotlb', dropped: out.leaf, scope: s, detail: spec.detail! });
    if (table) fx.push({ cache: 'walk', dropped: out.table, scope: s });
    return undefined;
  }

  /** CMD_ATC_INV: the device's ATC entries of the SSID (every one with SSV=0) in the range. */
  private atcInv(p: Prepared, q: QueueContext, fx: CacheEffect[] | undefined): Fault | undefined {
    const { sid, ssid, atcRange: range, atcBounds: bounds } = p;
    q.addAtc(sid);
    let dropped = 0;
    const silent = this.atcTimedOut.has(sid);
    if (silent) {
      // The device does not answer: nothing is invalidated until it does; the next CMD_SYNC fails.
      const list = this.atcPending.get(sid) ?? [];
      list.push({ ssid, bounds });
      this.atcPending.set(sid, list);
    } else {
      const atc = this.atcs.get(sid);
      if (atc !== undefined) {
        const out = this.dropped;
        out.leaf = 0;
        out.table = 0;
        const drop = this.dropSpec;
        drop.bounds = bounds;
        drop.leaf = true;
        drop.table = false;
        drop.leafLevel = undefined;
        atc.drop(this.atcSel.select(ssid), drop, out, ssid === undefined ? undefined : atcKey(ssid));
        dropped = out.leaf;
      }
    }
    if (!fx) return undefined;
    const what = range ? `addr=${hex(range.base)} bytes=${hex(range.bytes)}` : 'all';
    const detail = `atc_inv sid=${hex(sid)}${ssid !== undefined ? ` ssid=${ssid}` : ''} ${what}${silent ? ' (device timed out)' : ''}`;
    fx.push({ cache: 'atc', dropped, scope: classifySmmuv3(p.d).scope!, detail });
    return undefined;
  }

  // ---- Translation (Translator) ----------------------------------------------------------------

  private atc(sid: number): TranslationCache<AtcTag> {
    let a = this.atcs.get(sid);
    if (a === undefined) this.atcs.set(sid, (a = new TranslationCache(this.atcCapacity)));
    return a;
  }

  translate(sid: number, pasid: number | undefined, iova: bigint, page?: number): Translation {
    const ak = atcKey(pasid ?? -1);
    const idx = this.iovaIndexes;
    if (page !== undefined) this.tlb.indexesOfPage(page, idx);
    else this.tlb.indexes(iova, idx);
    // With ATS the device asks its own ATC first; a hit never reaches the SMMU. The ATC found
    // here is the one a miss fills (one look-up by StreamID per probe, not two).
    const atc = this.atcs.get(sid);
    if (atc !== undefined && atc.leafLevelAt(ak, idx) > 0) return this.ok(iova);
    // The configuration: cached snapshots first, else the tables (filling the cache). One look-up
    // finds what the cache holds for the StreamID, its STE and its CDs (config-cache.ts); the
    // answers go in locals, not in a reused object (two pointer stores per probe, each with the
    // collector's write barrier).
    const e0 = this.config.entry(sid);
    let ste = e0 === undefined ? undefined : e0.ste;
    if (ste === undefined) {
      ste = this.streams.get(sid);
      if (ste === undefined) return { ok: false, fault: 'C_BAD_STREAMID' };
      this.config.putSte(sid, ste);
    }
    let cd: Cd | undefined;
    if (ste.s1 !== undefined) {
      const ssid = pasid ?? 0;
      // With no record before, putSte above made one.
      const e = e0 ?? this.config.entry(sid);
      cd = e === undefined ? undefined : cdIn(e, ssid);
      if (cd === undefined) {
        cd = ste.s1.cds.get(ssid);
        if (cd === undefined) return { ok: false, fault: 'C_BAD_SUBSTREAMID' };
        this.config.putCd(sid, ssid, cd);
      }
    }
    if (!(page !== undefined ? pageInRange(page) : inRange(iova))) return { ok: false, fault: 'F_TRANSLATION' };
    const level = this.walk(ste, cd, iova, idx);
    if (ste.ats) {
      const a = atc ?? this.atc(sid);
      // After the look-up above, `find(ak)` answers from the ATC's last-find memo (level-cache.ts).
      a.insertAt(a.find(ak) ?? a.bucket(ak, { ssid: pasid ?? -1 }), level, idx[level]!, LEAF);
    }
    return this.ok(iova);
  }

  /** A successful translation (identity output), as one reused answer: read it before the next call. */
  private ok(pa: bigint): Translation {
    this.translated.pa = pa;
    return this.translated;
  }

  /** IOTLB lookup, else a table walk filling walk and leaf entries; returns the leaf level. */
  /** `iova`'s indexes at every level (`idx`: tlb.indexes of it, shared by the TLB and the ATCs). */
  private walk(ste: Ste, cd: Cd | undefined, iova: bigint, idx: readonly number[]): number {
    const regime = ste.strw === 'el2' ? 1 : 0;
    const vmid = regime === 1 ? -1 : ste.vmid;
    const l1 = cd !== undefined ? leafLevel(this.pages.s1Blocks, iova) : 0;
    const l2 = ste.s2 ? leafLevel(this.pages.s2Blocks, iova) : 0;
    const leaf = Math.max(l1, l2, cd === undefined && !ste.s2 ? 3 : 0); // a nested leaf is the smaller page
    if (cd !== undefined) {
      const k1 = tlbKey(regime, 1, vmid, cd.asid);
      const hit = this.tlb.leafLevelAt(k1, idx);
      if (hit > 0) return hit;
      const b = this.tlb.find(k1) ?? this.tlb.bucket(k1, { regime, stage: 1, vmid, asid: cd.asid });
      this.tlb.fillAt(b, this.walkCache ? l1 : 0, leaf, idx);
    }
    if (ste.s2) {
      const k2 = tlbKey(0, 2, ste.vmid, -1);
      const hit = cd === undefined ? this.tlb.leafLevelAt(k2, idx) : 0;
      if (hit > 0) return hit;
      const b = this.tlb.find(k2) ?? this.tlb.bucket(k2, { regime: 0, stage: 2, vmid: ste.vmid, asid: -1 });
      this.tlb.fillAt(b, this.walkCache ? l2 : 0, l2, idx); // identity stage 1: the IPA is the IOVA
    }
    return leaf;
  }

  cached(sid: number, pasid: number | undefined, iova: bigint): CacheHits {
    return hitsOf(this.hits(sid, pasid, iova));
  }

  /** What `cached` says, as HIT_* bits: the oracle's probe, many per command (no object). */
  hits(sid: number, pasid: number | undefined, iova: bigint, want = HIT_ALL, page?: number): number {
    // The configuration as translate finds it, without filling: cached snapshots first.
    const e = this.config.entry(sid);
    const steCached = e === undefined ? undefined : e.ste;
    const ste = steCached ?? this.streams.get(sid);
    if (ste === undefined) return 0;
    let bits = steCached !== undefined ? HIT_CONFIG : 0;
    let cd: Cd | undefined;
    if (ste.s1 !== undefined) {
      const ssid = pasid ?? 0;
      const cdCached = e === undefined ? undefined : cdIn(e, ssid);
      cd = cdCached ?? ste.s1.cds.get(ssid);
      if (cd === undefined) return 0;
      if (cdCached === undefined) bits = 0;
    }
    // Only the caches asked about are looked up (an oracle's check at a completion point reads the
    // one its invalidation's scope names: the TLB's leaf entries, its walk entries, or the ATC).
    const regime = ste.strw === 'el2' ? 1 : 0;
    const key =
      (want & (HIT_IOTLB | HIT_WALK)) === 0
        ? undefined
        : cd !== undefined
          ? tlbKey(regime, 1, regime === 1 ? -1 : ste.vmid, cd.asid)
          : ste.s2
            ? tlbKey(0, 2, ste.vmid, -1)
            : undefined;
    const atc = ste.ats && (want & HIT_ATC) !== 0;
    if (key === undefined && !atc) return bits;
    const idx = this.iovaIndexes;
    if (page !== undefined) this.tlb.indexesOfPage(page, idx);
    else this.tlb.indexes(iova, idx);
    if (key !== undefined) {
      if ((want & HIT_WALK) === 0) {
        if (this.tlb.leafLevelAt(key, idx) > 0) bits |= HIT_IOTLB;
      } else {
        const t = this.tlb.lookupAt(key, idx);
        if ((t & LOOKUP_LEAF) !== 0) bits |= HIT_IOTLB;
        if ((t & LOOKUP_TABLE) !== 0) bits |= HIT_WALK;
      }
    }
    if (atc && (this.atcs.get(sid)?.leafLevelAt(atcKey(pasid ?? -1), idx) ?? 0) > 0) bits |= HIT_ATC;
    return bits;
  }
}

const atcMatch = (ssid: number | undefined) => (t: AtcTag) => ssid === undefined || t.ssid === ssid;
