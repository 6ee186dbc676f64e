// The SMMUv3 command queue as the guest's `smmu:cmdlist` kprobe on arm_smmu_cmdq_issue_cmdlist()
// shows it (samples/captures/README.md, spec/smmuv3.md §4.1, §7). Each event is one batch the
// driver puts into the queue:
// - only the first `n` recorded commands are real (the rest of the cK_* words is whatever memory
//   follows the array); commands beyond the recorded ones are commands of unknown type;
// - `sync=1`: the driver appends a CMD_SYNC that is not in the array. It is restored and marked
//   inferred; only its opcode is certain (CS/MSH/MSIATTR/MSI address depend on the SMMU's MSI
//   support), so its fields are null;
// - the doorbell: one CMDQ_PROD write per batch, inferred (the lock-free insertion of §4.1 may
//   fold concurrent batches into one write; the guest side cannot see that).
//
// Slots run from 0 (Linux starts with an empty queue) over a queue of the size the console's
// "allocated N entries for cmdq" line gives, with the wrap bit toggling each lap.

import { RingCursor } from '../ring.js';
import type { Diagnostics } from './events.js';
import { parseCmdList, type CmdList } from './ftrace.js';
import type { GuestItem } from './guest-trace.js';
import { QueueReader } from './queue-reader.js';
import { halvesOf } from '../arrow/fixed-columns.js';
import { EventCounts, guestTime, stampAt, type GuestRows, type GuestTime } from './guest-rows.js';
import { Stamp } from './stamp.js';

const CMD_SYNC = 0x46n;
const OPCODE = 0xffn;
/** The words of an inferred CMD_SYNC and of an unrecorded command, and what is known of them (shared, never written). */
const SYNC_WORDS: readonly bigint[] = Object.freeze([CMD_SYNC, 0n]);
const SYNC_KNOWN: readonly [bigint, bigint] = Object.freeze([OPCODE, 0n] as const);
const UNRECORDED_WORDS: readonly bigint[] = Object.freeze([0n, 0n]);
const UNRECORDED_KNOWN: readonly [bigint, bigint] = Object.freeze([0n, 0n] as const);

export interface GuestSmmuv3Stats {
  batches: number;
  commands: number;
  /** Commands beyond what the kprobe recorded (n > recorded pairs): unknown type. */
  unrecorded: number;
  inferredSyncs: number;
  inferredDoorbells: number;
}

export class GuestSmmuv3Queue extends QueueReader {
  private readonly cursor: RingCursor;
  /** Word pairs per event, from the first cmdlist line. */
  private recorded: number | undefined;
  readonly stats: GuestSmmuv3Stats = { batches: 0, commands: 0, unrecorded: 0, inferredSyncs: 0, inferredDoorbells: 0 };

  constructor(diag: Diagnostics, opts: { entries: number; start?: number }) {
    super(diag);
    this.cursor = new RingCursor(opts.entries, opts.start ?? 0);
  }

  feed(g: GuestItem): void {
    const f = g.ftrace;
    if (f === undefined) {
      // Read from its bytes (guest-bytes.ts): a cmdlist carries its batch, already parsed.
      this.diag.seen(g.event);
      if (g.cmdlist !== undefined) this.batch(g.cmdlist, g.no, g.cpu, () => BigInt(g.ts));
      return;
    }
    this.diag.seen(f.event);
    if (f.event !== 'cmdlist') return;
    const b = parseCmdList(f.text);
    if (typeof b === 'string') return this.diag.bad(g.no, b, 'cmdlist');
    this.batch(b, g.no, f.cpu, () => f.ts_ns);
  }

  /** One batch: its commands, the unrecorded ones, the appended CMD_SYNC and the doorbell. */
  private batch(b: CmdList, no: number, cpu: number, ts: () => bigint): void {
    // One kprobe definition records the same pairs on every event: fewer is a line cut short.
    const want = (this.recorded ??= b.recorded);
    if (b.recorded < want)
      return this.diag.bad(no, `${b.recorded} of the ${want} recorded command pairs: the line is cut short`, 'cmdlist');
    if (b.n === 0 && !b.sync) return;
    const c = this.cursor;
    const meta = { at: { file: this.diag.file, line: no }, ts_ns: ts(), cpu };
    for (const words of b.cmds) {
      this.out.push({ kind: 'cmd', slot: c.slot, wrap: c.wrap, words, ...meta });
      c.advance();
      this.stats.commands++;
    }
    for (let k = 0; k < b.missing; k++) {
      this.out.push({ kind: 'cmd', slot: c.slot, wrap: c.wrap, words: [0n, 0n], known: [0n, 0n], ...meta });
      c.advance();
      this.stats.unrecorded++;
    }
    if (b.sync) {
      this.out.push({ kind: 'cmd', slot: c.slot, wrap: c.wrap, words: [CMD_SYNC, 0n], known: [OPCODE, 0n], ...meta, inferred: true });
      c.advance();
      this.stats.inferredSyncs++;
    }
    this.out.push({ kind: 'doorbell', slot: c.slot, wrap: c.wrap, ...meta, inferred: true });
    this.stats.batches++;
    this.stats.inferredDoorbells++;
  }

  end(): void {}
}

/**
 * GuestSmmuv3Queue's batches, written from numbers (guest-rows.ts): a guest trace ingested on its
 * own. Lines read by a numeric GuestByteScanner (`words`, `halves`, `n`, `sync`, `recorded`) make no
 * object, BigInt or string; lines read as text are parsed as GuestSmmuv3Queue parses them.
 */
export class GuestSmmuv3Rows {
  private readonly cursor: RingCursor;
  /** Word pairs per event, from the first cmdlist line. */
  private recorded: number | undefined;
  private readonly t = new Stamp();
  /** Events of the scanned lines (added to `diag` at the end). */
  private readonly events = new EventCounts();
  /** The halves of a line read as text (grown to its batch). */
  private textHalves = new Uint32Array(16);

  constructor(
    private readonly diag: Diagnostics,
    private readonly rows: GuestRows,
    opts: { entries: number; start?: number },
  ) {
    this.cursor = new RingCursor(opts.entries, opts.start ?? 0);
  }

  feed(g: GuestItem): void {
    const f = g.ftrace;
    if (f === undefined) {
      this.events.seen(g.event);
      if (g.words >= 0 && g.event === 'cmdlist') this.batch(g.n, g.sync, g.recorded, g.halves, g.words >> 1, g.no, g.cpu, g.ts);
      return;
    }
    this.diag.seen(f.event);
    if (f.event !== 'cmdlist') return;
    const b = parseCmdList(f.text);
    if (typeof b === 'string') return this.diag.bad(g.no, b, 'cmdlist');
    if (this.textHalves.length < 4 * b.cmds.length) this.textHalves = new Uint32Array(4 * b.cmds.length);
    halvesOf(b.cmds.flat(), this.textHalves);
    this.batch(b.n, b.sync, b.recorded, this.textHalves, b.cmds.length, g.no, f.cpu, guestTime(f.ts_ns));
  }

  /** One batch (GuestSmmuv3Queue `batch`): its `real` commands' halves in `halves`, 4 per command. */
  private batch(
    n: number,
    sync: boolean,
    recorded: number,
    halves: Uint32Array,
    real: number,
    no: number,
    cpu: number,
    ts: GuestTime,
  ): void {
    const want = (this.recorded ??= recorded);
    if (recorded < want) return this.diag.bad(no, `${recorded} of the ${want} recorded command pairs: the line is cut short`, 'cmdlist');
    if (n === 0 && !sync) return;
    const c = this.cursor;
    const t = this.t;
    stampAt(t, cpu, ts);
    const file = this.diag.file;
    const rows = this.rows;
    for (let k = 0; k < real; k++) {
      rows.guestCommand(c.slot, c.wrap, halves, 4 * k, 2, file, no, t);
      c.advance();
    }
    for (let k = real; k < n; k++) {
      rows.fixedCommand(c.slot, c.wrap, UNRECORDED_WORDS, UNRECORDED_KNOWN, false, file, no, t);
      c.advance();
    }
    if (sync) {
      rows.fixedCommand(c.slot, c.wrap, SYNC_WORDS, SYNC_KNOWN, true, file, no, t);
      c.advance();
    }
    rows.inferredDoorbell(c.slot, c.wrap, file, no, t);
  }

  end(): void {
    this.events.into(this.diag);
  }
}
