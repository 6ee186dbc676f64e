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
import type { CmdEvent, Diagnostics, DoorbellEvent } from './events.js';
import type { QemuLogLine } from './qemu-log.js';
import { FSTS_IQE, FSTS_ITE, parseVtdEvent, VTD_REG, type VtdQemuEvent } from './qemu-vtd.js';
import { lowBits } from './low-bits.js';
import { metaOf, QueueReader, type LineMeta } from './queue-reader.js';

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

/** What QEMU printed about one descriptor, for checks against the codecs. */
export interface VtdQemuDetail {
  /** `vtd_inv_desc` type name; undefined when QEMU printed no descriptor line. */
  readonly type?: string;
  /** Detail events QEMU printed while processing it (`vtd_inv_desc_iotlb_pages`, ...). */
  readonly events: readonly VtdQemuEvent[];
}

export type VtdQemuCmd = CmdEvent & { readonly detail: VtdQemuDetail };

interface OpenDesc {
  readonly slot: number;
  readonly wrap: number | undefined;
  readonly line: number;
  readonly ts_ns: bigint | undefined;
  readonly cpu: number | undefined;
  /** Its `vtd_inv_desc` event as parsed (kept as it is: no copy per descriptor). */
  desc: { readonly type: string; readonly hi: bigint; readonly lo: bigint } | undefined;
  /** Its descriptor line was there but did not parse (reported as malformed). */
  garbled: boolean;
  /** Detail events; NO_EVENTS until the first (most descriptors have none or one). */
  events: VtdQemuEvent[];
}

const NO_EVENTS: VtdQemuEvent[] = [];
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
}

/** Counts of what the queue reader saw. */
export interface VtdQueueStats {
  descriptors: number;
  unknownType: number;
  doorbells: number;
  acks: number;
}

/** Feeds QEMU log lines in order; `take()` returns the queue events ready so far. */
export class VtdQemuQueue extends QueueReader {
  private entries = 256;
  private descBytes: 16 | 32 = 16;
  private iqa = 0n;
  private tail = 0;
  private tailLap = 0;
  private lastHead: number | undefined;
  private headLap = 0;
  private pending: DoorbellEvent | undefined;
  private cur: OpenDesc | undefined;
  /** The last "read head" line was rejected: its descriptor line goes with it. */
  private lost = false;
  /** The root table is in scalable mode (`vtd_reg_dmar_root ... scalable 1`). */
  private scalable = false;
  readonly stats: VtdQueueStats = { descriptors: 0, unknownType: 0, doorbells: 0, acks: 0 };
  private readonly details: boolean;
  private readonly bareDetails = new Map<string, VtdQemuDetail>();

  constructor(diag: Diagnostics, opts: VtdQemuQueueOptions = {}) {
    super(diag);
    this.details = opts.details ?? true;
  }

  /** Whether `apply` reads the fields of `event` (else it needs only its name). */
  override valuesRead(event: string): boolean {
    return QUEUE_EVENTS.has(event) || (this.details && event.startsWith('vtd_inv_desc_'));
  }

  feed(l: QemuLogLine, no: number): void {
    const e = this.parsed(parseVtdEvent, l, no);
    if (e !== undefined) this.apply(e, l, no);
    else if (l.event === 'vtd_inv_desc' && this.cur !== undefined) this.cur.garbled = true; // reported already
  }

  /** An event already parsed (and counted) from line `no`, whose prefix `l` tells time and thread. */
  apply(e: VtdQemuEvent, l: LineMeta, no: number): void {
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- the other events are vtd_inv_desc_* details of the descriptor being processed, or unrelated
    switch (e.event) {
      case 'vtd_reg_write':
        this.close();
        this.flushDoorbell();
        return this.regWrite(e.addr, e.size, e.value, no, l);
      case 'vtd_inv_qi_setup':
        if (e.size < 2 || (e.size & (e.size - 1)) !== 0 || e.size > 1 << 15) {
          return this.diag.bad(no, `queue size ${e.size} is not a power of two from 2 to 32768`, e.event);
        }
        if (e.size !== this.entries) this.diag.warn(`QEMU reports ${e.size} entries, IQA gave ${this.entries}`, no);
        this.entries = e.size;
        this.iqa = e.addr;
        this.geometry(no, 'vtd_inv_qi_setup');
        return;
      case 'vtd_inv_qi_enable':
        this.close();
        if (!e.enabled) this.reset();
        return;
      case 'vtd_inv_qi_tail':
        this.close();
        if (e.tail >= this.entries) return this.diag.bad(no, `tail ${e.tail} is outside a queue of ${this.entries} entries`, e.event);
        if (this.pending === undefined)
          this.doorbell(e.tail, { file: this.diag.file, line: no }, l); // no vtd_reg_write traced: the tail line is the doorbell
        else if (this.pending.slot !== e.tail) this.diag.warn(`QEMU tail ${e.tail} differs from the IQT write (${this.pending.slot})`, no);
        return;
      case 'vtd_inv_qi_fetch':
        return this.close();
      case 'vtd_reg_dmar_root':
        this.scalable = e.scalable === true;
        return;
      case 'vtd_inv_qi_head':
        this.close();
        if (e.head >= this.entries) {
          this.lost = true;
          return this.diag.bad(no, `head ${e.head} is outside a queue of ${this.entries} entries (descriptor dropped)`, e.event);
        }
        this.cur = {
          slot: e.head,
          wrap: this.headWrap(e.head, no),
          line: no,
          ts_ns: l.ts_ns,
          cpu: l.tid,
          desc: undefined,
          garbled: false,
          events: NO_EVENTS,
        };
        return;
      case 'vtd_inv_desc': {
        if (this.cur === undefined && this.lost) return;
        if (this.cur === undefined) return this.diag.bad(no, 'descriptor line without a "read head" line before it', e.event);
        if (this.cur.desc !== undefined) return this.diag.bad(no, `second descriptor line for head ${this.cur.slot}`, e.event);
        const code = QEMU_VTD_TYPE_NAMES[e.type];
        const lo12 = lowBits(e.lo, 12); // qw0[11:0] holds both parts of the type
        const lowType = ((lo12 >> 5) & 0x70) | (lo12 & 0xf);
        if (code !== undefined && code !== lowType) {
          return this.diag.bad(no, `type ${e.type} does not match the low qword (type ${hex(lowType)})`, e.event);
        }
        this.cur.desc = e;
        return;
      }
      default:
        if (this.details && e.event.startsWith('vtd_inv_desc_') && this.cur !== undefined) {
          if (this.cur.events === NO_EVENTS) this.cur.events = [e];
          else this.cur.events.push(e);
        }
    }
  }

  /** End of the log: the last descriptor and doorbell. */
  end(): void {
    this.close();
    this.flushDoorbell();
  }

  private regWrite(addr: number, size: number, value: bigint, line: number, l: LineMeta): void {
    const at = { file: this.diag.file, line };
    switch (addr) {
      case VTD_REG.IQT: {
        // spec/vtd.md §1.1: IQT holds a byte offset; index = IQT >> 4 (>> 5 for 256-bit descriptors).
        // (as numbers: IQT is a 32-bit register write, so value < 2^32 but for a garbled line)
        const v = value <= 0xffffffffn ? Number(value) : -1;
        const wide = this.descBytes === 32;
        if (wide && (v < 0 ? (value & 0x10n) !== 0n : (v & 0x10) !== 0))
          this.diag.warn(`IQT ${hex(value)} has bit 4 set in a 256-bit queue (QEMU raises IQE)`, line);
        const idx = v < 0 ? Number((value & 0x7fff0n) >> (wide ? 5n : 4n)) : (v & 0x7fff0) >>> (wide ? 5 : 4);
        if (v < 0 || (v & ~0x7fff0) !== 0 || idx >= this.entries) {
          return this.diag.bad(line, `IQT ${hex(value)} is outside a queue of ${this.entries} entries`, 'vtd_reg_write');
        }
        return this.doorbell(idx, at, l);
      }
      case VTD_REG.IQA:
        this.iqa = (this.iqa & (size === 4 ? ~0xffffffffn : 0n)) | (value & ~0xfffn);
        this.descBytes = ((value >> 11n) & 1n) === 1n ? 32 : 16;
        this.entries = 1 << (Number(value & 7n) + 8 - (this.descBytes === 32 ? 1 : 0)); // spec/vtd.md §1.1
        this.reset();
        return this.geometry(line, 'vtd_reg_write IQA');
      case VTD_REG.IQA_HI:
        this.iqa = (this.iqa & 0xffffffffn) | (value << 32n);
        return;
      case VTD_REG.FSTS:
        // Write-1-to-clear: a write with IQE or ITE set acknowledges a queue error.
        if ((value & BigInt(FSTS_IQE | FSTS_ITE)) !== 0n) {
          this.stats.acks++;
          this.out.push({ kind: 'ack', at, ...metaOf(l) });
        }
        return;
      default:
    }
  }

  private doorbell(idx: number, at: { file: string; line: number }, l: LineMeta): void {
    // Lap parity of the tail (the "wrap" of a VT-d producer index): it flips when the new tail
    // passes the end of the ring. VT-d keeps one slot free, so equal tails publish nothing.
    this.tailLap = nextWrap(this.tail, idx, this.tailLap);
    this.tail = idx;
    this.stats.doorbells++;
    this.pending = { kind: 'doorbell', slot: idx, wrap: this.tailLap, at, ts_ns: l.ts_ns, cpu: l.tid };
  }

  private flushDoorbell(): void {
    if (this.pending !== undefined) this.out.push(this.pending);
    this.pending = undefined;
  }

  private headWrap(head: number, line: number): number | undefined {
    const last = this.lastHead;
    this.lastHead = head;
    if (last === undefined) return this.headLap;
    // Fetched again: the last attempt failed (IQE keeps IQH on the bad descriptor, §1.3) and the
    // guest rewrote the slot; a rewrite has no wrap bit.
    if (head === last) return undefined;
    this.headLap = nextWrap(last, head, this.headLap);
    if (head !== step(last, 1, this.entries)) this.diag.warn(`head jumped from ${last} to ${head}`, line);
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
    this.out.push({
      kind: 'geometry',
      entries: this.entries,
      descBytes: this.descBytes,
      base: this.iqa,
      from,
      at: { file: this.diag.file, line },
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

  private close(): void {
    this.lost = false;
    const c = this.cur;
    if (c === undefined) return;
    this.cur = undefined;
    this.stats.descriptors++;
    const at = { file: this.diag.file, line: c.line };
    const detail: VtdQemuDetail =
      c.events !== NO_EVENTS ? { ...(c.desc ? { type: c.desc.type } : {}), events: c.events } : this.bareDetail(c.desc?.type);
    if (c.desc === undefined) {
      // QEMU 7.2 prints a descriptor line for every descriptor of a 128-bit queue: only PASID-cache
      // and PASID-IOTLB descriptors (256-bit queues, scalable mode) go without one. Here the line was lost.
      if (!c.garbled && this.descBytes === 16 && !this.scalable) {
        this.diag.bad(
          c.line,
          `read head ${c.slot} has no vtd_inv_desc line, which QEMU prints for every descriptor of a 128-bit queue (a line lost?): its type is unknown`,
          'vtd_inv_qi_head',
        );
      }
      this.stats.unknownType++;
      const cmd: VtdQemuCmd = {
        kind: 'cmd',
        slot: c.slot,
        wrap: c.wrap,
        words: [0n, 0n],
        known: [0n, 0n],
        at,
        ts_ns: c.ts_ns,
        cpu: c.cpu,
        detail,
      };
      this.out.push(cmd);
      return;
    }
    // qw0 = low, qw1 = high (QEMU prints high first).
    const cmd: VtdQemuCmd = {
      kind: 'cmd',
      slot: c.slot,
      wrap: c.wrap,
      words: [c.desc.lo, c.desc.hi],
      at,
      ts_ns: c.ts_ns,
      cpu: c.cpu,
      detail,
    };
    this.out.push(cmd);
  }
}
