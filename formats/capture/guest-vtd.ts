// The VT-d queue as the guest's `intel_iommu:qi_submit` tracepoint shows it (spec/vtd.md §1.5, §7).
//
// The tracepoint fires once per descriptor a caller hands to qi_submit_sync(), inside the queue
// lock, before IQT is written. What it does not show is restored and marked inferred:
// - the wait descriptor qi_submit_sync() appends after each submission (the status write Linux
//   polls). Only its type is certain: its status address is a kernel physical address and a PRQ
//   drain would add PD, so everything but the type bits is unknown (null fields);
// - the doorbell: Linux writes IQT = free_head after each submission, one doorbell per submission.
//
// Submissions: consecutive qi_submit events of one CPU and task with the same flags, each within
// `gapNs` of the previous (§7). The loop that fires them holds the lock with interrupts off, so no
// other event of that CPU comes between; a separate submission needs an IQT write (a trap to the
// VMM) and a poll first. In the bundled captures (TCG, Linux 6.1, one descriptor per submission)
// separate submissions of the same task are at least 5 µs apart, hence the 2 µs default.
//
// Slots: Linux's queue has 256 entries (QI_LENGTH) and starts at 0 when QI is enabled; the trace
// is assumed to start there too (a guest-only trace cannot see descriptors issued before tracing).

import { RingCursor } from '../ring.js';
import type { CmdEvent, Diagnostics } from './events.js';
import { parseQiSubmit } from './ftrace.js';
import type { ScannedFtrace } from './guest-bytes.js';
import type { GuestItem } from './guest-trace.js';
import { halvesOf } from '../arrow/fixed-columns.js';
import { EventCounts, guestTime, outOfGap, stampAt, type GuestRows, type GuestTime } from './guest-rows.js';
import { DOUBLE_FIELD, Stamp } from './stamp.js';
import { lowBits } from './low-bits.js';
import { QueueReader } from './queue-reader.js';

/** Linux's invalidation queue length (QI_LENGTH, drivers/iommu/intel/dmar.c). */
export const LINUX_QI_LENGTH = 256;
export const DEFAULT_BATCH_GAP_NS = 2_000n;

/** Type bits of a VT-d descriptor: qw0[3:0] and qw0[11:9] (spec/vtd.md §2). */
export const VTD_TYPE_BITS = 0xe0fn;
const QI_IWD_TYPE = 0x5n;
/** The words of an inferred wait, and what is known of them: its type only (shared, never written). */
export const INFERRED_WAIT_WORDS: readonly bigint[] = Object.freeze([QI_IWD_TYPE, 0n, 0n, 0n]);
export const INFERRED_WAIT_KNOWN: readonly [bigint, bigint] = Object.freeze([VTD_TYPE_BITS, 0n] as const);

export interface GuestVtdStats {
  descriptors: number;
  submissions: number;
  inferredWaits: number;
  inferredDoorbells: number;
}

export class GuestVtdQueue extends QueueReader {
  private readonly cursor: RingCursor;
  /**
   * The open submission (§7): its CPU, task and flags, the time and line of its last descriptor.
   * Its descriptors are handed out as they come (nothing else is until it closes, so the order is
   * the same); closing it appends the wait and the doorbell. Plain fields: no object per submission.
   */
  private open = false;
  private cpu = 0;
  private pid = 0;
  private flags = '';
  private lastTs = 0n;
  private lastLine = 0;
  readonly stats: GuestVtdStats = { descriptors: 0, submissions: 0, inferredWaits: 0, inferredDoorbells: 0 };

  constructor(
    diag: Diagnostics,
    private readonly opts: {
      entries: number;
      gapNs?: bigint;
      start?: number;
      /**
       * Make the descriptors only, not the inferred wait and doorbell of each submission (their
       * slots are still taken): what a pair's aligner reads of the guest side (it compares the
       * descriptors Linux traced; the waits and doorbells come from QEMU).
       */
      descriptorsOnly?: boolean;
    },
  ) {
    super(diag);
    this.cursor = new RingCursor(opts.entries, opts.start ?? 0);
  }

  feed(g: GuestItem): void {
    const f = g.ftrace;
    if (f === undefined) return this.feedScanned(g);
    this.diag.seen(f.event);
    if (f.event !== 'qi_submit') {
      if (this.open && this.cpu === f.cpu) this.flush();
      return;
    }
    const q = parseQiSubmit(f.text);
    if (typeof q === 'string') return this.diag.bad(g.no, q, 'qi_submit');
    this.submit(f, q.words, g.no, f.ts_ns);
  }

  /** A line read from its bytes (guest-bytes.ts): a qi_submit carries its words, already checked. */
  private feedScanned(g: ScannedFtrace): void {
    this.diag.seen(g.event);
    if (g.qi === undefined) {
      if (this.open && this.cpu === g.cpu) this.flush();
      return;
    }
    this.submit(g, g.qi, g.no, BigInt(g.ts));
  }

  /** One descriptor: it joins the open submission or starts the next one (§7). */
  private submit(f: { cpu: number; pid: number; flags: string }, words: readonly bigint[], line: number, ts: bigint): void {
    const gap = this.opts.gapNs ?? DEFAULT_BATCH_GAP_NS;
    if (!this.open || this.cpu !== f.cpu || this.pid !== f.pid || this.flags !== f.flags || ts - this.lastTs > gap || ts < this.lastTs) {
      this.flush();
      this.open = true;
      this.cpu = f.cpu;
      this.pid = f.pid;
      this.flags = f.flags;
    }
    this.lastTs = ts;
    this.lastLine = line;
    const c = this.cursor;
    const cmd: CmdEvent = {
      kind: 'cmd',
      slot: c.slot,
      wrap: c.wrap,
      words,
      at: { file: this.diag.file, line },
      ts_ns: ts,
      cpu: f.cpu,
    };
    this.out.push(cmd);
    c.advance();
    this.stats.descriptors++;
  }

  end(): void {
    this.flush();
  }

  /** Closes the open submission: the wait Linux appends and its doorbell (IQT). */
  private flush(): void {
    if (!this.open) return;
    this.open = false;
    const c = this.cursor;
    if (this.opts.descriptorsOnly === true) {
      c.advance(); // the wait's slot
    } else {
      const at = { file: this.diag.file, line: this.lastLine };
      const ts = this.lastTs;
      const cpu = this.cpu;
      this.out.push({
        kind: 'cmd',
        slot: c.slot,
        wrap: c.wrap,
        words: INFERRED_WAIT_WORDS,
        known: INFERRED_WAIT_KNOWN,
        at,
        ts_ns: ts,
        cpu,
        inferred: true,
      });
      c.advance();
      this.out.push({ kind: 'doorbell', slot: c.slot, wrap: c.wrap, at, ts_ns: ts, cpu, inferred: true });
    }
    this.stats.submissions++;
    this.stats.inferredWaits++;
    this.stats.inferredDoorbells++;
  }
}

/**
 * GuestVtdQueue's submissions and rows, written from numbers (guest-rows.ts): a guest trace
 * ingested on its own. Lines read by a numeric GuestByteScanner (`words`, `halves`) make no object,
 * BigInt or string; lines read as text are parsed as GuestVtdQueue parses them. Every submission
 * gets its inferred wait and doorbell; a pair's guest side (formats/ingest/guest-items.ts) keeps
 * what the aligner compares of them (GuestVtdQueue's `descriptorsOnly` is the event path's).
 */
export class GuestVtdRows {
  private readonly cursor: RingCursor;
  /** The open submission (GuestVtdQueue's fields), the time and CPU of its last descriptor in `t`. */
  private open = false;
  private cpu = 0;
  private pid = 0;
  private flags = '';
  /** Read once a submission is open (`submit` sets it first); a double from the start (DOUBLE_FIELD). */
  private lastTs: GuestTime = DOUBLE_FIELD;
  private lastLine = 0;
  private readonly t = new Stamp();
  /** Events of the scanned lines (added to `diag` at the end). */
  private readonly events = new EventCounts();
  private readonly gap: bigint;
  private readonly gapN: number;
  /** The halves of a line read as text. */
  private readonly textHalves = new Uint32Array(8);

  constructor(
    private readonly diag: Diagnostics,
    private readonly rows: GuestRows,
    opts: { entries: number; gapNs?: bigint; start?: number },
  ) {
    this.cursor = new RingCursor(opts.entries, opts.start ?? 0);
    this.gap = opts.gapNs ?? DEFAULT_BATCH_GAP_NS;
    this.gapN = Number(this.gap);
  }

  feed(g: GuestItem): void {
    const f = g.ftrace;
    if (f === undefined) {
      this.events.seen(g.event);
      if (g.words === 4) this.submit(g.cpu, g.pid, g.flags, g.ts, g.halves, g.no);
      else if (this.open && this.cpu === g.cpu) this.flush();
      return;
    }
    this.diag.seen(f.event);
    if (f.event !== 'qi_submit') {
      if (this.open && this.cpu === f.cpu) this.flush();
      return;
    }
    const q = parseQiSubmit(f.text);
    if (typeof q === 'string') return this.diag.bad(g.no, q, 'qi_submit');
    halvesOf(q.words, this.textHalves);
    this.submit(f.cpu, f.pid, f.flags, guestTime(f.ts_ns), this.textHalves, g.no);
  }

  /** One descriptor: it joins the open submission or starts the next one (GuestVtdQueue `submit`). */
  private submit(cpu: number, pid: number, flags: string, ts: GuestTime, halves: Uint32Array, line: number): void {
    if (!this.open || this.cpu !== cpu || this.pid !== pid || this.flags !== flags || outOfGap(this.lastTs, ts, this.gap, this.gapN)) {
      this.flush();
      this.open = true;
      this.cpu = cpu;
      this.pid = pid;
      this.flags = flags;
    }
    this.lastTs = ts;
    this.lastLine = line;
    const t = this.t;
    stampAt(t, cpu, ts);
    const c = this.cursor;
    this.rows.guestCommand(c.slot, c.wrap, halves, 0, 4, this.diag.file, line, t);
    c.advance();
  }

  end(): void {
    this.flush();
    this.events.into(this.diag);
  }

  /** Closes the open submission: the wait Linux appends and its doorbell (IQT). */
  private flush(): void {
    if (!this.open) return;
    this.open = false;
    const c = this.cursor;
    const file = this.diag.file;
    this.rows.fixedCommand(c.slot, c.wrap, INFERRED_WAIT_WORDS, INFERRED_WAIT_KNOWN, true, file, this.lastLine, this.t);
    c.advance();
    this.rows.inferredDoorbell(c.slot, c.wrap, file, this.lastLine, this.t);
  }
}

/** Is this command a wait descriptor (type 5, with its type bits known)? */
export function isVtdWait(c: Pick<CmdEvent, 'words' | 'known'>): boolean {
  const k = c.known?.[0];
  if (k !== undefined && (k & VTD_TYPE_BITS) !== VTD_TYPE_BITS) return false;
  return isVtdWaitType(lowBits(c.words[0]!, 12));
}

/** Is a fully known descriptor whose qw0 ends in the 32 bits `qw0lo` a wait (spec/vtd.md §2)? */
export function isVtdWaitType(qw0lo: number): boolean {
  return (qw0lo & VTD_TYPE_BITS_N) === QI_IWD_TYPE_N;
}

/** VTD_TYPE_BITS and the wait type as numbers (isVtdWait reads qw0's low 12 bits without a BigInt). */
const VTD_TYPE_BITS_N = Number(VTD_TYPE_BITS);
const QI_IWD_TYPE_N = Number(QI_IWD_TYPE);
