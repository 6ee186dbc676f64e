// The VT-d queued-invalidation unit: registers (IQA, IQH, IQT, FSTS, IQERCD, ICS, GCMD/GSTS), the
// consume loop that owns the invalidation queue, and the caches behind it. One instance is the
// bare hardware a guest queue meets (the oracle's reference), another each physical unit the host
// model drives. Fetch model: spec/vtd.md §1.2 and §6.1; errors: §1.3 and §1.4.
//
// Behaviour by default follows the architecture; `compat: 'qemu-7.2'` follows QEMU 7.2 (§6.1-6.2):
//
// | rule                            | architecture (default)            | compat 'qemu-7.2'              |
// | ------------------------------- | --------------------------------- | ------------------------------ |
// | fetch after FSTS.IQE/ITE clear  | at once (restart: 'on-clear')     | on the next IQT write          |
// | IQERCD                          | IQEI, ITESID, ICESID              | reads 0                        |
// | ITE on device-TLB time-out      | yes, pending waits aborted        | never (devTLB is synchronous)  |
// | ICE                             | injectInvalidCompletion()         | never                          |
// | wait PD (qw0 bit 7)             | accepted (no page requests: no-op)| reserved: IQE                  |
// | wait with both SW and IF        | both happen                       | IQE (QEMU asserts)             |
// | wait with neither SW nor IF     | completes, nothing visible        | IQE                            |
// | IQA.DW = 1 without ECAP.SMTS    | IQE, IQEI 5 at fetch              | DW ignored (128-bit queue)     |
// `restart` may be set on its own. Both modes reject type-2 PSI with AM > CAP.MAMV (QEMU: AM > 18).
//
// Device-TLB time-outs (§1.3): a device-TLB descriptor to a SID that setAtcTimeout() stopped is
// sent and IQH moves on (ATS invalidations are posted); every wait fetched after it is pending and
// does not complete; a wait with FN=1 also stops fetching. When the pass over the queue ends
// (queue drained, fence, or IQE), the time-out expires: FSTS.ITE, IQERCD.ITESID = that SID, every
// pending wait aborted (`abort_wait`), and no fetch until ITE is cleared.

import { hex } from '../../formats/bits.js';
import type { Decoded } from '../../formats/codec/codec.js';
import { VTD } from '../../formats/codecs.js';
import type { GuestMemory } from '../memory.js';
import { VtdRing } from '../../formats/ring.js';
import type { CacheEffect, CacheHits, ConsumerState, EventSink, QueueError, QueueUnit, Translation } from '../unit.js';
import {
  cached,
  hits,
  DEFAULT_CAPACITY,
  remapInterrupt,
  translate,
  VtdCaches,
  type CacheCapacity,
  type DeviceEntry,
  type WalkTables,
} from './caches.js';
import { DecodeCache } from '../decode-cache.js';
import { SidTable } from '../sid-table.js';
import { DecodedTable } from '../decoded-table.js';
import { PreparedFetch, type FetchShare } from '../prepared-fetch.js';
import { prepare, type DescriptorCaps, type DescriptorFault, type Prepared } from './prepared.js';
import { invalidate, invalidatePrepared } from './invalidate.js';
import { PageTableModel, type PageTableOptions } from './pagetable.js';
import {
  FSTS_ICE,
  FSTS_IQE,
  FSTS_ITE,
  FSTS_STOP,
  FSTS_W1C,
  GCMD_QIE,
  GSTS_PERSISTENT,
  ICS_IWC,
  IQ_OFFSET_MASK,
  IQA_BASE_MASK,
  IQA_DW,
  IQA_QS_MASK,
  IQEI,
  IQERCD_ICESID_SHIFT,
  IQERCD_ITESID_SHIFT,
  IQT_256_RSV_BIT,
  qsOf,
  REG,
  type Iqei,
} from './regs.js';

export { descriptorFault, GUEST_CAPS, type DescriptorCaps, type DescriptorFault } from './prepared.js';

/** Each decode cache's capacity and key count (decode-cache.ts): the queue's, then the two direct ones. */
const DECODE_KEYS = 4096;

export interface VtdUnitOptions {
  /** The context/PASID tables: SID → DID and ATS. */
  readonly devices?: Iterable<readonly [number, DeviceEntry]>;
  /** Follow QEMU 7.2 instead of the architecture (see the table above). */
  readonly compat?: 'qemu-7.2';
  /** When fetching resumes after FSTS.IQE/ITE is cleared. Default: 'on-clear' ('on-iqt-write' in compat). */
  readonly restart?: 'on-clear' | 'on-iqt-write';
  /** ECAP.SMTS: scalable-mode translation supported, so 256-bit descriptors are valid. Default true. */
  readonly smts?: boolean;
  /** RTADDR.TTM scalable mode (PASID tables; IQA.DW=0 is then IQEI 5). Default: the queue width (DW=1). */
  readonly scalableMode?: boolean;
  /** CAP.MAMV: largest AM of a page-selective IOTLB invalidation. Default 18 (QEMU's). */
  readonly mamv?: number;
  readonly capacity?: Partial<CacheCapacity>;
  readonly pageTable?: PageTableOptions;
  readonly events?: EventSink;
  /** Report 'exec' events, with their cache effects, to `events` (default true). */
  readonly exec?: boolean;
  /** For messages: which unit this is. */
  readonly name?: string;
  /**
   * Where to find the fetch path's tables (prepared-fetch.ts), shared with the other units of a
   * replay that have the same capabilities; default: this unit's own.
   */
  readonly fetchShare?: FetchShare;
}

/** A descriptor from a queue other than the unit's own (a hardware-direct guest queue). */
export interface DirectOutcome {
  readonly error?: QueueError;
  /** A wait that will never complete: a device-TLB invalidation before it timed out (ITE follows). */
  readonly aborted?: boolean;
  /** That wait has FN=1: nothing after it is fetched (spec/vtd.md §1.2). */
  readonly fence?: boolean;
}

export class VtdUnit implements QueueUnit, WalkTables {
  readonly arch = 'vtd' as const;
  readonly caches: VtdCaches;
  readonly pageTable: PageTableModel;
  /** The device table by SID (translate and hits look a device up per probe). */
  readonly devices = new SidTable<DeviceEntry>();
  readonly compat: boolean;
  readonly restart: 'on-clear' | 'on-iqt-write';
  private readonly smts: boolean;
  private readonly mamv: number;
  private readonly fetched128: bigint[] = [0n, 0n];
  private readonly fetched256: bigint[] = [0n, 0n, 0n, 0n];
  private readonly events: EventSink | undefined;
  /** `events` takes 'exec' events: each descriptor's cache effects are collected for it. */
  private readonly execEvents: boolean;
  private readonly timedOut = new Set<number>();
  private readonly scalableOpt: boolean | undefined;
  /** For messages: which unit this is. */
  readonly name: string;

  // Registers.
  private gsts = 0;
  private iqa = 0n;
  private iqt = 0;
  private fsts = 0;
  private ics = 0;
  private iqei: number = IQEI.NOT_AVAILABLE;
  private itesid = 0;
  private icesid = 0;
  // Queue geometry latched from IQA (or configureQueue), and IQH as an index.
  private ring = new VtdRing(256, 16);
  private dw: 0 | 1 = 0;
  private base = 0n;
  /** `base` as a number for the fetch loop, or -1 from 2^52 (then fetched by BigInt address). */
  private baseNum = 0;
  private iqh = 0;
  /** The queue's descriptors as this unit runs them, at the queue's width (prepared-fetch.ts); maybe shared. */
  private fetcher: PreparedFetch<Prepared>;
  /** Where `fetcher` comes from when several units share one (VtdUnitOptions.fetchShare). */
  private readonly fetchShare: FetchShare | undefined;
  /**
   * submitDirect's decoded descriptors, 128- and 256-bit. Their keys are disjoint (DECODE_KEYS
   * each): both feed `preparedOf`, and would otherwise take each other's entries.
   */
  private readonly directDecoders = [
    new DecodeCache(VTD, { descBytes: 16 }, DECODE_KEYS, DECODE_KEYS),
    new DecodeCache(VTD, { descBytes: 32 }, DECODE_KEYS, 2 * DECODE_KEYS),
  ];
  /** What this unit supports beyond the codec's table (prepared.ts), fixed at construction. */
  private readonly caps: DescriptorCaps;
  /** Each directly submitted descriptor prepared for this unit (prepared.ts), made once; by its key (decoded-table.ts). */
  private readonly preparedOf = new DecodedTable<Prepared>();
  private readonly prepareOne: (d: Decoded) => Prepared;
  // Errors as the guest sees them, and the time-out state of the current pass.
  private iqeError: QueueError | undefined;
  private iteError: QueueError | undefined;
  private outstanding: number | undefined; // SID of the first timed-out device-TLB invalidation in flight
  private readonly pendingWaits: number[] = [];
  private fenced = false;
  private directOutstanding: number | undefined; // the same, for submitDirect()

  constructor(
    readonly mem: GuestMemory,
    opts: VtdUnitOptions = {},
  ) {
    for (const [sid, d] of opts.devices ?? []) this.devices.set(sid, d);
    this.compat = opts.compat === 'qemu-7.2';
    this.restart = opts.restart ?? (this.compat ? 'on-iqt-write' : 'on-clear');
    this.smts = opts.smts ?? true;
    this.mamv = opts.mamv ?? 18;
    const caps: DescriptorCaps = { compat: this.compat, mamv: this.mamv };
    this.caps = caps;
    this.prepareOne = (d) => prepare(d, caps); // reads no unit state: a shared fetcher may keep it
    this.fetchShare = opts.fetchShare;
    this.fetcher = this.fetcherOf(16);
    this.events = opts.events;
    this.execEvents = opts.events !== undefined && opts.exec !== false;
    this.scalableOpt = opts.scalableMode;
    this.caches = new VtdCaches({ ...DEFAULT_CAPACITY, ...opts.capacity });
    this.pageTable = new PageTableModel(opts.pageTable);
    this.name = opts.name ?? 'vtd';
  }

  /** Scalable mode: from the option, else from the queue width (what Linux guests on QEMU do). */
  get scalable(): boolean {
    return this.scalableOpt ?? this.dw === 1;
  }

  // ---- QueueUnit ----------------------------------------------------------------------------

  /**
   * Programs IQA (base, DW, QS) and enables QI with IQH = IQT = 0 and no error pending. Any power
   * of two from 2 works (trace headers allow small synthetic queues); IQA then reads QS = 0 for
   * the sizes below 256 entries that IQA.QS cannot express.
   */
  configureQueue(base: bigint, entries: number, descBytes: 16 | 32, start = 0): void {
    const dw = descBytes === 32 ? 1 : 0;
    const max = dw === 1 ? 1 << 14 : 1 << 15; // IQH/IQT offsets live in bits 18:4 (§1.1)
    if (entries > max) throw new Error(`a VT-d queue holds at most ${max} ${descBytes}-byte descriptors, not ${entries}`);
    this.ring = new VtdRing(entries, descBytes);
    this.setGeometry(base & IQA_BASE_MASK, dw);
    this.iqa = this.base | (dw === 1 ? IQA_DW : 0n) | BigInt(qsOf(entries, dw) ?? 0);
    // Empty at `start`: a trace that begins mid-ring, as if the entries before had been consumed.
    if (!Number.isInteger(start) || start < 0 || start >= entries) throw new Error(`queue start ${start} outside ${entries} entries`);
    this.iqh = start;
    this.iqt = this.ring.reg(start);
    this.fsts &= ~FSTS_W1C;
    this.iqeError = this.iteError = undefined;
    this.outstanding = undefined;
    this.pendingWaits.length = 0;
    this.fenced = false;
    this.gsts |= GCMD_QIE;
  }

  writeProducer(index: number, _wrap: number): void {
    this.writeIQT(index * (1 << this.ring.shift));
  }

  acknowledge(): void {
    this.writeFSTS(FSTS_IQE | FSTS_ITE | FSTS_ICE);
  }

  consumer(): ConsumerState {
    return { ...this.consumerNow() };
  }

  /** consumerNow's answer, reused. */
  private readonly consNow: { index: number; wrap: number; error: QueueError | undefined } = { index: 0, wrap: 0, error: undefined };

  consumerNow(): ConsumerState {
    const c = this.consNow;
    c.index = this.iqh;
    c.error = this.iqeError ?? this.iteError;
    return c;
  }

  setAtcTimeout(sid: number, timedOut: boolean): void {
    if (timedOut) this.timedOut.add(sid);
    else this.timedOut.delete(sid);
  }

  translate(sid: number, pasid: number | undefined, iova: bigint, page?: number): Translation {
    return translate(this.caches, this, sid, pasid, iova, page);
  }

  cached(sid: number, pasid: number | undefined, iova: bigint): CacheHits {
    return cached(this.caches, this, sid, pasid, iova);
  }

  hits(sid: number, pasid: number | undefined, iova: bigint, want?: number, page?: number): number {
    return hits(this.caches, this, sid, pasid, iova, page, want);
  }

  /** An interrupt through remapping-table entry `index` (fills the interrupt entry cache). */
  remapInterrupt(index: number): void {
    remapInterrupt(this.caches, index);
  }

  iecCached(index: number): boolean {
    return this.caches.iec.has(index);
  }

  // ---- Registers ----------------------------------------------------------------------------

  /** MMIO write by offset (REG), whole registers (IQA and IQERCD as one 8-byte access). */
  write(offset: number, value: number | bigint): void {
    switch (offset) {
      case REG.GCMD:
        return this.writeGCMD(Number(value));
      case REG.FSTS:
        return this.writeFSTS(Number(value));
      case REG.IQT:
        return this.writeIQT(Number(value));
      case REG.IQA:
        return this.writeIQA(BigInt(value));
      case REG.ICS:
        return this.writeICS(Number(value));
      default:
        return; // read-only or not modelled: ignored, like a write to a reserved register
    }
  }

  /** MMIO read by offset; 0 for registers not modelled. */
  read(offset: number): bigint {
    switch (offset) {
      case REG.GSTS:
        return BigInt(this.gsts >>> 0);
      case REG.FSTS:
        return BigInt(this.fsts);
      case REG.IQH:
        return BigInt(this.readIQH());
      case REG.IQT:
        return BigInt(this.iqt);
      case REG.IQA:
        return this.iqa;
      case REG.ICS:
        return BigInt(this.ics);
      case REG.IQERCD:
        return this.readIQERCD();
      default:
        return 0n;
    }
  }

  /** GCMD: QIE enables queued invalidation (GSTS.QIES follows); other persistent bits are mirrored. */
  writeGCMD(value: number): void {
    const enable = (value & GCMD_QIE) !== 0;
    const enabled = this.qiEnabled();
    let qie = this.gsts & GCMD_QIE;
    if (enable && !enabled) qie = GCMD_QIE;
    // Disabling is honoured only on an idle queue; IQH then resets to 0 (QEMU, spec/vtd.md §6.1).
    if (!enable && enabled && this.iqh === this.tailIndex()) {
      qie = 0;
      this.iqh = 0;
    }
    this.gsts = ((value & GSTS_PERSISTENT & ~GCMD_QIE) | qie) >>> 0;
    // Enabling with IQT != IQH fetches at once (Windows guests do this, §6.1).
    if (qie !== 0 && !enabled) this.consume();
  }

  readGSTS(): number {
    return this.gsts >>> 0;
  }

  /** IQA: base 63:12, DW bit 11, QS 2:0. The geometry is latched at once (QEMU does the same for DW). */
  writeIQA(value: bigint): void {
    this.iqa = value;
    // QEMU 7.2 ignores DW unless it advertises scalable mode; the architecture flags it at fetch (IQEI 5).
    const dw: 0 | 1 = (value & IQA_DW) !== 0n && (this.smts || !this.compat) ? 1 : 0;
    this.ring = new VtdRing(VtdRing.entriesOf(Number(value & IQA_QS_MASK), dw), dw === 1 ? 32 : 16);
    this.setGeometry(value & IQA_BASE_MASK, dw);
  }

  readIQA(): bigint {
    return this.iqa;
  }

  /** IQH as the register reads: byte offset of the next descriptor to fetch. */
  readIQH(): number {
    return this.ring.reg(this.iqh);
  }

  /** IQT: the doorbell. Bits 18:4 are kept; fetching starts if QI is enabled and no error stops it. */
  writeIQT(value: number): void {
    this.iqt = value & IQ_OFFSET_MASK;
    this.consume();
  }

  readIQT(): number {
    return this.iqt;
  }

  readFSTS(): number {
    return this.fsts;
  }

  /** FSTS is write-1-to-clear. Clearing the last stop error resumes (per `restart`). */
  writeFSTS(value: number): void {
    const stopped = (this.fsts & FSTS_STOP) !== 0;
    this.fsts &= ~(value & FSTS_W1C);
    if ((this.fsts & FSTS_IQE) === 0) this.iqeError = undefined;
    if ((this.fsts & FSTS_ITE) === 0) this.iteError = undefined;
    if (stopped && (this.fsts & FSTS_STOP) === 0) {
      this.events?.({ kind: 'resume' });
      if (this.restart === 'on-clear') this.consume();
    }
  }

  /** IQERCD: IQEI 3:0, ITESID 47:32, ICESID 63:48 (§1.4); 0 in QEMU-7.2 mode (not modelled there). */
  readIQERCD(): bigint {
    if (this.compat) return 0n;
    return BigInt(this.iqei) | (BigInt(this.itesid) << IQERCD_ITESID_SHIFT) | (BigInt(this.icesid) << IQERCD_ICESID_SHIFT);
  }

  readICS(): number {
    return this.ics;
  }

  writeICS(value: number): void {
    this.ics &= ~(value & ICS_IWC);
  }

  /**
   * An invalid device-TLB invalidation completion arrives from `sid` (ICE, §1.3). FSTS.ICE and
   * IQERCD.ICESID are set (ICESID only if ICE was clear); fetching goes on. Never in QEMU-7.2 mode.
   */
  injectInvalidCompletion(sid: number): void {
    if (this.compat) return;
    if ((this.fsts & FSTS_ICE) === 0) this.icesid = sid & 0xffff;
    this.fsts |= FSTS_ICE;
  }

  // ---- The consume loop ---------------------------------------------------------------------

  private qiEnabled(): boolean {
    return (this.gsts & GCMD_QIE) !== 0;
  }

  private setGeometry(base: bigint, dw: 0 | 1): void {
    this.base = base;
    this.baseNum = base < 1n << 52n ? Number(base) : -1; // every slot address stays an exact double
    this.dw = dw;
    // The same bits are another descriptor at another width: found in place anew.
    this.fetcher = this.fetcherOf(dw === 1 ? 32 : 16);
  }

  /** A fetcher of `bytes`-wide descriptors for this unit's capabilities: the share's, else a new one. */
  private fetcherOf(bytes: 16 | 32): PreparedFetch<Prepared> {
    const make = () => new PreparedFetch(VTD, { descBytes: bytes }, this.prepareOne, DECODE_KEYS);
    const share = this.fetchShare;
    return share === undefined ? make() : share.of(`vtd/${bytes}/${this.caps.compat ? 'qemu-7.2' : 'arch'}/${this.caps.mamv}`, make);
  }

  /** IQT as an index, or undefined when it is invalid (beyond the queue, or bit 4 with DW=1). */
  private tailIndex(): number | undefined {
    if (this.dw === 1 && (this.iqt & IQT_256_RSV_BIT) !== 0) return undefined;
    const tail = this.ring.index(this.iqt);
    return tail < this.ring.entries ? tail : undefined;
  }

  /** IQEI 5 (§1.4): 256-bit descriptors without ECAP.SMTS, or 128-bit ones in scalable mode. */
  private widthValid(): boolean {
    return this.dw === 1 ? this.smts : !this.scalable;
  }

  /**
   * Fetches from IQH towards IQT, in order (§1.2). Stops while FSTS.IQE or ITE is set (§1.3);
   * IQH moves past a descriptor only after it was found valid and took effect.
   */
  private consume(): void {
    if (!this.qiEnabled() || (this.fsts & FSTS_STOP) !== 0) return;
    const tail = this.tailIndex();
    if (tail === undefined)
      return this.raiseIqe(IQEI.INVALID_TAIL, `invalid IQT ${hex(this.iqt)} for a queue of ${this.ring.entries} entries`);
    if (!this.widthValid())
      return this.raiseIqe(
        IQEI.INVALID_WIDTH,
        `IQA.DW=${this.dw} is not valid in ${this.scalable ? 'scalable' : 'legacy'} mode${this.smts ? '' : ' without ECAP.SMTS'}`,
      );
    // One array per width, reused for every fetch (the decode cache keeps its own copy).
    const raw = this.dw === 1 ? this.fetched256 : this.fetched128;
    const bytes = this.dw === 1 ? 32 : 16;
    while (this.iqh !== tail) {
      const slot = this.iqh;
      const p =
        this.baseNum >= 0
          ? this.fetcher.fetch(this.mem, this.baseNum + slot * bytes, raw)
          : this.mem.readWordsInto(this.base + BigInt(slot * bytes), raw)
            ? this.fetcher.decode(raw)
            : undefined;
      if (p === undefined) {
        this.raiseIqe(IQEI.FETCH_ERROR, `fetching the descriptor at slot ${slot} aborted`);
        break;
      }
      const fault = this.execute(slot, p);
      if (fault !== undefined) {
        this.raiseIqe(fault.iqei, fault.why); // IQH stays on the offending descriptor (§1.3)
        break;
      }
      this.iqh = this.ring.next(slot); // only now: the descriptor took effect
      if (this.fenced) break; // FN: nothing after the wait until it completes (§1.2)
    }
    this.expireTimeouts();
  }

  private prepared(d: Decoded): Prepared {
    return this.preparedOf.of(d, this.prepareOne);
  }

  private raiseIqe(iqei: Iqei, message: string): void {
    this.fsts |= FSTS_IQE;
    this.iqei = iqei;
    const error: QueueError = { code: 'IQE', value: this.compat ? 0 : iqei, slot: this.iqh, message: `${this.name}: ${message}` };
    this.iqeError = error;
    this.events?.({ kind: 'error', error });
  }

  /** Device-TLB invalidations still in flight at the end of a pass time out (§1.3). */
  private expireTimeouts(): void {
    const sid = this.outstanding;
    if (sid === undefined) return;
    this.outstanding = undefined;
    this.fenced = false;
    if ((this.fsts & FSTS_ITE) === 0) this.itesid = sid; // ITESID is latched only while ITE is clear
    this.fsts |= FSTS_ITE;
    for (const slot of this.pendingWaits) this.events?.({ kind: 'abort_wait', slot });
    const aborted = this.pendingWaits.length;
    this.pendingWaits.length = 0;
    const error: QueueError = {
      code: 'ITE',
      value: 0,
      slot: this.iqh,
      sid,
      message: `${this.name}: device-TLB invalidation to SID ${hex(sid)} timed out; ${aborted} pending wait(s) aborted`,
    };
    this.iteError = error;
    this.events?.({ kind: 'error', error });
  }

  /** Runs one descriptor: refused ones fault; waits complete (or wait), invalidations take effect. */
  private execute(slot: number, p: Prepared): DescriptorFault | undefined {
    if (p.refused !== undefined) return p.refused;
    if (p.kind === 'wait') return this.wait(slot, p);
    const d = p.d;
    const effects: CacheEffect[] | undefined = this.execEvents ? [] : undefined;
    if (p.kind === 'devtlb' && this.timesOut(p.sid)) {
      // Posted to a device that will not answer: nothing is invalidated, the time-out comes later.
      this.outstanding ??= p.sid;
      effects?.push({
        cache: 'devtlb',
        dropped: 0,
        scope: { cache: 'devtlb', sid: p.sid },
        detail: 'no completion (device timed out)',
      });
    } else if (effects === undefined) {
      invalidatePrepared(this.caches, d, p.drop);
    } else {
      invalidate(this.caches, d, effects, p.drop);
    }
    if (effects) this.events!({ kind: 'exec', slot, name: d.name, effects });
    return undefined;
  }

  private timesOut(sid: number): boolean {
    return !this.compat && this.timedOut.has(sid);
  }

  /** Whether device `sid` does not answer device-TLB invalidations now (setAtcTimeout). */
  atcSilent(sid: number): boolean {
    return this.timesOut(sid);
  }

  /** Invalidation wait (§2.2 type 0x5): completes unless an earlier device-TLB invalidation is in flight. */
  private wait(slot: number, p: Prepared): DescriptorFault | undefined {
    if (this.outstanding !== undefined) {
      this.pendingWaits.push(slot);
      if (p.fence) this.fenced = true;
      if (this.execEvents) this.events!({ kind: 'exec', slot, name: p.d.name, effects: [] });
      return undefined;
    }
    if (p.sw && !(p.statusAt >= 0 ? this.mem.write32At(p.statusAt, p.statusData) : this.mem.write32(p.statusAddr, p.statusData))) {
      // QEMU raises IQE when the status write fails; IQERCD has no code for it (§1.4): IQEI 0.
      return { iqei: IQEI.NOT_AVAILABLE, why: `wait status write to ${hex(p.statusAddr)} failed` };
    }
    if (p.irq) this.ics |= ICS_IWC;
    if (this.events) {
      if (this.execEvents) this.events({ kind: 'exec', slot, name: p.d.name, effects: [] });
      this.events({ kind: 'complete', slot });
    }
    return undefined;
  }

  /**
   * A descriptor consumed by another queue of this unit (a hardware-direct guest queue, host.ts):
   * the same checks and cache effects, no IQH, no status write. As on the unit's own queue (§1.3):
   * a wait after a device-TLB invalidation that timed out is pending and will be aborted (FN=1 also
   * stops the fetch); the time-out itself is reported when the pass ends (endDirectPass).
   */
  submitDirect(words: readonly bigint[]): DirectOutcome {
    return this.submitDirectDecoded(this.decodeDirect(words));
  }

  /**
   * `words` decoded as submitDirect takes them (128- or 256-bit by their count), for a caller that
   * submits the same words again and again (the host's direct plans): it keeps the answer and
   * passes it to submitDirectDecoded, with no decode (two BigInt-keyed Map levels) per submission.
   */
  decodeDirect(words: readonly bigint[]): Decoded {
    return this.directDecoders[words.length === 4 ? 1 : 0]!.decode(words);
  }

  /** submitDirect of a descriptor decodeDirect gave. */
  submitDirectDecoded(d: Decoded): DirectOutcome {
    const p = this.prepared(d);
    const bad = p.refused;
    if (bad !== undefined) return { error: { code: 'IQE', value: bad.iqei, slot: -1, message: `${this.name}: ${bad.why}` } };
    if (p.kind === 'wait') return this.directOutstanding === undefined ? {} : { aborted: true, fence: p.fence };
    if (p.kind === 'devtlb' && this.timesOut(p.sid)) this.directOutstanding ??= p.sid;
    else invalidatePrepared(this.caches, p.d, p.drop);
    return {};
  }

  /** The end of a pass over a direct queue: ITE (ITESID = the silent device) if one timed out. */
  endDirectPass(): QueueError | undefined {
    const sid = this.directOutstanding;
    if (sid === undefined) return undefined;
    this.directOutstanding = undefined;
    return { code: 'ITE', value: 0, slot: -1, sid, message: `${this.name}: device-TLB invalidation to SID ${hex(sid)} timed out` };
  }
}
