// The VT-d invalidation queue as QEMU's log shows it (spec/vtd.md §6.1, §6.4): queue geometry from
// the IQA write and `vtd_inv_qi_setup`, a doorbell per guest IQT write, a command per
// `vtd_inv_qi_head` with the raw words of its `vtd_inv_desc` line, an ack per FSTS write that
// clears IQE/ITE.
//
// Order: QEMU runs the whole fetch inside the IQT write handler and traces the register write
// first, so the descriptors a doorbell published come after its `vtd_reg_write addr 0x88` line.
// The doorbell is held back until its fetch is over: in the trace, commands come before the
// doorbell that published them.
//
// QEMU 7.2 consumes PASID-cache and PASID-IOTLB descriptors without a `vtd_inv_desc` line (two
// `read head` lines in a row): such a slot becomes a command of unknown type (all-zero `known`
// masks, null op), never an invented one.

import { hex } from '../bits.js';
import { nextWrap, step } from '../ring.js';
import type { CaptureEvent, CmdEvent, Diagnostics } from './events.js';
import { ScannedLine, type QemuByteScanner } from './qemu-bytes.js';
import type { QemuLogLine } from './qemu-log.js';
import { FSTS_IQE, FSTS_ITE, parseVtdEvent, VTD_REG, type VtdEventName, type VtdQemuEvent } from './qemu-vtd.js';
import { EventRows, NO_WRAP, unsigned64, type QueueRows } from './queue-rows.js';
import { QueueReader, type LineMeta } from './queue-reader.js';
import { Stamp } from './stamp.js';

/** QEMU's `vtd_inv_desc` type names by descriptor type (hw/i386/intel_iommu.c). */
export const QEMU_VTD_TYPE_NAMES: Readonly<Record<string, number>> = {
  'context-cache': 0x1,
  iotlb: 0x2,
  device: 0x3,
  iec: 0x4,
  wait: 0x5,
  'p-iotlb': 0x6,
  'pasid-cache': 0x7,
  'device-piotlb': 0x8,
};

/**
 * QEMU's type name of each descriptor type (qw0[11:9, 3:0], 0-127), for `desc`'s check: a line's type
 * name (interned, so the same string object as the name QEMU printed before) compared with the name
 * of its low qword's type, with no lookup of the name; a name that differs is looked up in
 * `TYPE_CODES` (a keyed load of an object by a string that is not a constant goes through V8's
 * megamorphic stub cache, and finds Object.prototype's names).
 */
const TYPE_NAME_OF: readonly (string | undefined)[] = (() => {
  const names = new Array<string | undefined>(128).fill(undefined);
  for (const [name, code] of Object.entries(QEMU_VTD_TYPE_NAMES)) names[code] = name;
  return names;
})();
const TYPE_CODES: ReadonlyMap<string, number> = new Map(Object.entries(QEMU_VTD_TYPE_NAMES));

/** What QEMU printed about one descriptor, for checks against the codecs. */
export interface VtdQemuDetail {
  /** `vtd_inv_desc` type name; undefined when QEMU printed no descriptor line. */
  readonly type?: string;
  /** Detail events QEMU printed while processing it (`vtd_inv_desc_iotlb_pages`, ...). */
  readonly events: readonly VtdQemuEvent[];
}

export type VtdQemuCmd = CmdEvent & { readonly detail: VtdQemuDetail };

const NO_EVENTS: VtdQemuEvent[] = [];
/** `scanned`'s warm-up: calls with a code that is no event's (`NO_EVENT`). */
const WARM_CALLS = 512;
const NO_EVENT = -1;
const NO_DETAIL: VtdQemuDetail = Object.freeze({ events: NO_EVENTS });

/** The events whose fields the queue reads (all other events are details, or passed over). */
const QUEUE_EVENTS: ReadonlySet<string> = new Set([
  'vtd_reg_write',
  'vtd_inv_qi_setup',
  'vtd_inv_qi_enable',
  'vtd_inv_qi_tail',
  'vtd_inv_qi_fetch',
  'vtd_reg_dmar_root',
  'vtd_inv_qi_head',
  'vtd_inv_desc',
]);

export interface VtdQemuQueueOptions {
  /**
   * Keep the `vtd_inv_desc_*` events of each descriptor in its command's `detail` (default true).
   * Ingest does not read them: without, a byte scanner need not convert their fields (`valuesRead`).
   */
  readonly details?: boolean;
  /** Where the queue events go (default: event objects, handed out by `take()`). */
  readonly rows?: QueueRows;
}

/** Counts of what the queue reader saw. */
export interface VtdQueueStats {
  descriptors: number;
  unknownType: number;
  doorbells: number;
  acks: number;
}

/**
 * Feeds QEMU log lines in order; `take()` returns the queue events ready so far. Lines come as
 * text (`feed`), as parsed event objects (`apply`), or straight from a register-mode byte scanner
 * (`scanned`); all three drive the same state machine, whose events go to a QueueRows
 * (queue-rows.ts): event objects by default, or the trace assembler's columns.
 */
export class VtdQemuQueue extends QueueReader {
  private entries = 256;
  private descBytes: 16 | 32 = 16;
  private iqa = 0n;
  private tail = 0;
  private tailLap = 0;
  private lastHead: number | undefined;
  private headLap = 0;
  /** The doorbell held back until its fetch is over (`pendingSlot` < 0: none). */
  private pendingSlot = -1;
  private pendingWrap = 0;
  private pendingLine = 0;
  private readonly pendingAt = new Stamp();
  /** The descriptor being fetched (`curSlot` < 0: none): its `read head` line, then its `vtd_inv_desc`. */
  private curSlot = -1;
  private curWrap = NO_WRAP;
  private curLine = 0;
  private readonly curAt = new Stamp();
  /** Its `vtd_inv_desc` line was read: type name and the two qwords as halves. */
  private curHas = false;
  private curType = '';
  private lo0 = 0;
  private lo1 = 0;
  private hi0 = 0;
  private hi1 = 0;
  /** Its descriptor line was there but did not parse (reported as malformed). */
  private curGarbled = false;
  /** Detail events; NO_EVENTS until the first (most descriptors have none or one). */
  private curEvents: VtdQemuEvent[] = NO_EVENTS;
  /** The last "read head" line was rejected: its descriptor line goes with it. */
  private lost = false;
  /** The root table is in scalable mode (`vtd_reg_dmar_root ... scalable 1`). */
  private scalable = false;
  readonly stats: VtdQueueStats = { descriptors: 0, unknownType: 0, doorbells: 0, acks: 0 };
  private readonly details: boolean;
  /** Whether the rows read a command's `detail` (else it is not made: undefined). */
  private readonly detailRead: boolean;
  private readonly bareDetails = new Map<string, VtdQemuDetail>();
  private readonly rows: QueueRows;
  private readonly events: EventRows | undefined;
  private readonly file: string;
  private readonly stamp = new Stamp();

  constructor(diag: Diagnostics, opts: VtdQemuQueueOptions = {}) {
    super(diag);
    this.details = opts.details ?? true;
    this.events = opts.rows === undefined ? new EventRows() : undefined;
    this.rows = opts.rows ?? this.events!;
    this.detailRead = this.rows.readsDetail !== false;
    this.file = diag.file;
  }

  /** Whether `apply` reads the fields of `event` (else it needs only its name). */
  override valuesRead(event: string): boolean {
    return QUEUE_EVENTS.has(event) || (this.details && event.startsWith('vtd_inv_desc_'));
  }

  /** The queue events ready so far, as objects (none when they go to another QueueRows). */
  override take(): CaptureEvent[] {
    return this.events?.take() ?? [];
  }

  feed(l: QemuLogLine, no: number): void {
    const e = this.parsed(parseVtdEvent, l, no);
    if (e !== undefined) this.apply(e, l, no);
    else if (l.event === 'vtd_inv_desc' && this.curSlot >= 0) this.curGarbled = true; // reported already
  }

  /** An event already parsed (and counted) from line `no`, whose prefix `l` tells time and thread. */
  apply(e: VtdQemuEvent, l: LineMeta, no: number): void {
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- the other events are vtd_inv_desc_* details of the descriptor being processed, or unrelated
    switch (e.event) {
      case 'vtd_reg_write':
        return this.regWrite(e.addr, e.size, hiOf(e.value), loOf(e.value), no, l);
      case 'vtd_inv_qi_setup':
        return this.setup(e.addr, e.size, no);
      case 'vtd_inv_qi_enable':
        return this.enable(e.enabled);
      case 'vtd_inv_qi_tail':
        return this.tailWrite(e.tail, no, l);
      case 'vtd_inv_qi_fetch':
        return this.close();
      case 'vtd_reg_dmar_root':
        this.scalable = e.scalable === true;
        return;
      case 'vtd_inv_qi_head':
        return this.head(e.head, no, l);
      case 'vtd_inv_desc':
        return this.desc(e.type, hiOf(e.lo), loOf(e.lo), hiOf(e.hi), loOf(e.hi), no);
      default:
        if (this.details && e.event.startsWith('vtd_inv_desc_') && this.curSlot >= 0) {
          if (this.curEvents === NO_EVENTS) this.curEvents = [e];
          else this.curEvents.push(e);
        }
    }
  }

  /**
   * The reader of a register-mode byte scanner over VTD_EVENTS (qemu-bytes.ts): `(code, no)` applies
   * the event `scanCode` just read from line `no`, its fields in the scanner's registers, its
   * prefix in `scanner.line`. The same state machine as `apply`, with no event object. Only without
   * `details` (the detail events would need their objects).
   */
  scanned(scanner: QemuByteScanner): (code: number, no: number) => void {
    if (this.details) throw new Error('VtdQemuQueue: a register-mode scanner feeds a queue without details');
    const R = scanner.R;
    const S = scanner.S;
    const line = scanner.line;
    const c = (event: VtdEventName) => scanner.code(event);
    const r = (event: VtdEventName, field: string) => scanner.register(event, field);
    const [HEAD, DESC, REG, TAIL, FETCH, SETUP, ENABLE, ROOT] = [
      c('vtd_inv_qi_head'),
      c('vtd_inv_desc'),
      c('vtd_reg_write'),
      c('vtd_inv_qi_tail'),
      c('vtd_inv_qi_fetch'),
      c('vtd_inv_qi_setup'),
      c('vtd_inv_qi_enable'),
      c('vtd_reg_dmar_root'),
    ];
    const head = r('vtd_inv_qi_head', 'head');
    const [type, hi, lo] = [r('vtd_inv_desc', 'type'), r('vtd_inv_desc', 'hi'), r('vtd_inv_desc', 'lo')];
    const [addr, size, value] = [r('vtd_reg_write', 'addr'), r('vtd_reg_write', 'size'), r('vtd_reg_write', 'value')];
    const tail = r('vtd_inv_qi_tail', 'tail');
    const [qaddr, qsize] = [r('vtd_inv_qi_setup', 'addr'), r('vtd_inv_qi_setup', 'size')];
    const enabled = r('vtd_inv_qi_enable', 'enabled');
    const scalable = r('vtd_reg_dmar_root', 'scalable');
    const apply = (code: number, no: number): void => {
      if (code === HEAD) this.head(R[head]!, no, line);
      else if (code === DESC) this.desc(S[type]!, R[lo]!, R[lo + 1]!, R[hi]!, R[hi + 1]!, no);
      else if (code === REG) this.regWrite(R[addr]!, R[size]!, R[value]!, R[value + 1]!, no, line);
      else if (code === TAIL) this.tailWrite(R[tail]!, no, line);
      else if (code === FETCH) this.close();
      else if (code === SETUP) this.setup(unsigned64(R[qaddr]!, R[qaddr + 1]!), R[qsize]!, no);
      else if (code === ENABLE) this.enable(R[enabled] === 1);
      else if (code === ROOT) this.scalable = R[scalable] === 1;
      // the other events are details (not kept without `details`) or unrelated
    };
    // Calls for no event first, so that V8 gives `apply` its feedback vector before the log's first
    // line (allocated after a budget of bytecode run): without, the queue's setup lines at the
    // log's start (setup, enable, root) left no feedback, TurboFan compiled their branches as never
    // taken, and the next queue setup (each copy of a capture in a log) deoptimized it, and the row
    // path inlined there was compiled again.
    for (let i = 0; i < WARM_CALLS; i++) apply(NO_EVENT, 0);
    return apply;
  }

  /** End of the log: the last descriptor and doorbell. */
  end(): void {
    this.close();
    this.flushDoorbell();
  }

  private setup(addr: bigint, size: number, no: number): void {
    if (size < 2 || (size & (size - 1)) !== 0 || size > 1 << 15) {
      return this.diag.bad(no, `queue size ${size} is not a power of two from 2 to 32768`, 'vtd_inv_qi_setup');
    }
    if (size !== this.entries) this.diag.warn(`QEMU reports ${size} entries, IQA gave ${this.entries}`, no);
    this.entries = size;
    this.iqa = addr;
    this.geometry(no, 'vtd_inv_qi_setup');
  }

  private enable(enabled: boolean): void {
    this.close();
    if (!enabled) this.reset();
  }

  private tailWrite(tail: number, no: number, l: LineMeta): void {
    // QEMU traces the IQT write before its tail line, and `regWrite` closed the descriptor then:
    // `close` is called here only when one is open (a damaged log), so that TurboFan, which never
    // sees this call run, does not inline the command path into tailWrite again (2.9 KB of code).
    if (this.curSlot >= 0) this.close();
    else this.lost = false;
    if (tail >= this.entries) return this.diag.bad(no, `tail ${tail} is outside a queue of ${this.entries} entries`, 'vtd_inv_qi_tail');
    if (this.pendingSlot < 0)
      this.doorbell(tail, no, l); // no vtd_reg_write traced: the tail line is the doorbell
    else if (this.pendingSlot !== tail) this.diag.warn(`QEMU tail ${tail} differs from the IQT write (${this.pendingSlot})`, no);
  }

  private head(head: number, no: number, l: LineMeta): void {
    this.close();
    if (head >= this.entries) {
      this.lost = true;
      return this.diag.bad(no, `head ${head} is outside a queue of ${this.entries} entries (descriptor dropped)`, 'vtd_inv_qi_head');
    }
    const wrap = this.headWrap(head, no);
    this.curSlot = head;
    this.curWrap = wrap ?? NO_WRAP;
    this.curLine = no;
    stampOf(l, this.curAt);
    this.curHas = false;
    this.curGarbled = false;
    this.curEvents = NO_EVENTS;
  }

  /** The `vtd_inv_desc` line: qw0 = lo = (lo1, lo0), qw1 = hi = (hi1, hi0) as 32-bit halves. */
  private desc(type: string, lo1: number, lo0: number, hi1: number, hi0: number, no: number): void {
    if (this.curSlot < 0 && this.lost) return;
    if (this.curSlot < 0) return this.diag.bad(no, 'descriptor line without a "read head" line before it', 'vtd_inv_desc');
    if (this.curHas) return this.diag.bad(no, `second descriptor line for head ${this.curSlot}`, 'vtd_inv_desc');
    const lo12 = lo0 & 0xfff; // qw0[11:0] holds both parts of the type
    const lowType = ((lo12 >> 5) & 0x70) | (lo12 & 0xf);
    // A name QEMU prints for another type than the low qword's (names and types are one to one)
    if (type !== TYPE_NAME_OF[lowType] && TYPE_CODES.has(type)) {
      return this.diag.bad(no, `type ${type} does not match the low qword (type ${hex(lowType)})`, 'vtd_inv_desc');
    }
    this.curHas = true;
    this.curType = type;
    this.lo1 = lo1;
    this.lo0 = lo0;
    this.hi1 = hi1;
    this.hi0 = hi0;
  }

  /** A register write (value as 32-bit halves). */
  private regWrite(addr: number, size: number, vHi: number, vLo: number, line: number, l: LineMeta): void {
    this.close();
    this.flushDoorbell();
    if (addr !== VTD_REG.IQT) return this.otherRegWrite(addr, size, vHi, vLo, line, l);
    // spec/vtd.md §1.1: IQT holds a byte offset; index = IQT >> 4 (>> 5 for 256-bit descriptors).
    // IQT is a 32-bit register write, so the high half is zero but for a garbled line.
    const wide = this.descBytes === 32;
    if (wide && (vLo & 0x10) !== 0)
      this.diag.warn(`IQT ${hex(unsigned64(vHi, vLo))} has bit 4 set in a 256-bit queue (QEMU raises IQE)`, line);
    const idx = (vLo & 0x7fff0) >>> (wide ? 5 : 4);
    if (vHi !== 0 || (vLo & ~0x7fff0) !== 0 || idx >= this.entries) {
      return this.diag.bad(line, `IQT ${hex(unsigned64(vHi, vLo))} is outside a queue of ${this.entries} entries`, 'vtd_reg_write');
    }
    return this.doorbell(idx, line, l);
  }

  /**
   * A write to a register other than IQT (rare: the queue's setup, error acknowledgements). A
   * method of its own, called for every such register: the call has run at the log's first
   * register writes by the time `regWrite` is compiled, where the IQA branch, inline, first ran
   * at the next queue setup, after the compile, and the compiled code deoptimized there.
   */
  private otherRegWrite(addr: number, size: number, vHi: number, vLo: number, line: number, l: LineMeta): void {
    switch (addr) {
      case VTD_REG.IQA: {
        const value = unsigned64(vHi, vLo);
        this.iqa = (this.iqa & (size === 4 ? ~0xffffffffn : 0n)) | (value & ~0xfffn);
        this.descBytes = ((value >> 11n) & 1n) === 1n ? 32 : 16;
        this.entries = 1 << (Number(value & 7n) + 8 - (this.descBytes === 32 ? 1 : 0)); // spec/vtd.md §1.1
        this.reset();
        return this.geometry(line, 'vtd_reg_write IQA');
      }
      case VTD_REG.IQA_HI:
        this.iqa = (this.iqa & 0xffffffffn) | (unsigned64(vHi, vLo) << 32n);
        return;
      case VTD_REG.FSTS:
        // Write-1-to-clear: a write with IQE or ITE set acknowledges a queue error.
        if ((vLo & (FSTS_IQE | FSTS_ITE)) !== 0) {
          this.stats.acks++;
          stampOf(l, this.stamp);
          this.rows.ack(this.file, line, this.stamp);
        }
        return;
      default:
    }
  }

  private doorbell(idx: number, line: number, l: LineMeta): void {
    // Lap parity of the tail (the "wrap" of a VT-d producer index): it flips when the new tail
    // passes the end of the ring. VT-d keeps one slot free, so equal tails publish nothing.
    this.tailLap = nextWrap(this.tail, idx, this.tailLap);
    this.tail = idx;
    this.stats.doorbells++;
    this.pendingSlot = idx;
    this.pendingWrap = this.tailLap;
    this.pendingLine = line;
    stampOf(l, this.pendingAt);
  }

  private flushDoorbell(): void {
    if (this.pendingSlot >= 0) this.rows.doorbell(this.pendingSlot, this.pendingWrap, this.file, this.pendingLine, this.pendingAt);
    this.pendingSlot = -1;
  }

  private headWrap(head: number, line: number): number | undefined {
    const last = this.lastHead;
    this.lastHead = head;
    // The first head (of the log, or after a reset) shares the last line's load: a return of its
    // own ran once per reset only, before TurboFan had feedback for it, and the compiled code
    // deoptimized at the next reset.
    if (last !== undefined) {
      // Fetched again: the last attempt failed (IQE keeps IQH on the bad descriptor, §1.3) and the
      // guest rewrote the slot; a rewrite has no wrap bit.
      if (head === last) return undefined;
      this.headLap = nextWrap(last, head, this.headLap);
      if (head !== step(last, 1, this.entries)) this.diag.warn(`head jumped from ${last} to ${head}`, line);
    }
    return this.headLap;
  }

  private reset(): void {
    if (this.lastHead !== undefined) this.diag.warn('queue re-initialised: ring positions restart at 0');
    this.lastHead = undefined;
    this.headLap = 0;
    this.tail = 0;
    this.tailLap = 0;
  }

  private geometry(line: number, from: string): void {
    this.rows.queueGeometry({
      kind: 'geometry',
      entries: this.entries,
      descBytes: this.descBytes,
      base: this.iqa,
      from,
      at: { file: this.file, line },
    });
  }

  /** The detail of a descriptor without detail events (most; all without `details`): one per type name. */
  private bareDetail(type: string | undefined): VtdQemuDetail {
    if (type === undefined) return NO_DETAIL;
    let d = this.bareDetails.get(type);
    if (d === undefined) {
      d = Object.freeze({ type, events: NO_EVENTS });
      if (this.bareDetails.size < 64) this.bareDetails.set(type, d);
    }
    return d;
  }

  /** The detail of the descriptor being closed. */
  private detail(): VtdQemuDetail {
    const type = this.curHas ? this.curType : undefined;
    return this.curEvents !== NO_EVENTS ? { ...(type !== undefined ? { type } : {}), events: this.curEvents } : this.bareDetail(type);
  }

  private close(): void {
    this.lost = false;
    const slot = this.curSlot;
    if (slot < 0) return;
    this.curSlot = -1;
    this.stats.descriptors++;
    const detail = this.detailRead ? this.detail() : undefined;
    if (!this.curHas) {
      // QEMU 7.2 prints a descriptor line for every descriptor of a 128-bit queue: only PASID-cache
      // and PASID-IOTLB descriptors (256-bit queues, scalable mode) go without one. Here the line was lost.
      if (!this.curGarbled && this.descBytes === 16 && !this.scalable) {
        this.diag.bad(
          this.curLine,
          `read head ${slot} has no vtd_inv_desc line, which QEMU prints for every descriptor of a 128-bit queue (a line lost?): its type is unknown`,
          'vtd_inv_qi_head',
        );
      }
      this.stats.unknownType++;
      this.rows.unknownCommand(slot, this.curWrap, this.file, this.curLine, this.curAt, detail);
      return;
    }
    // qw0 = low, qw1 = high (QEMU prints high first).
    this.rows.command(slot, this.curWrap, this.lo1, this.lo0, this.hi1, this.hi0, this.file, this.curLine, this.curAt, detail);
  }
}

/** The high and low 32-bit halves of a 64-bit field value. */
const hiOf = (v: bigint): number => Number(BigInt.asUintN(64, v) >> 32n);
const loOf = (v: bigint): number => Number(v & 0xffffffffn);

/** The time and thread of a line's prefix into `s` (the byte scanner's without a BigInt). */
function stampOf(l: LineMeta, s: Stamp): void {
  if (l instanceof ScannedLine) l.stamp(s);
  else s.setMeta(l);
}
