// The pair's QEMU side grouped into the aligner's items (align.ts `QemuItems`: each alignable
// command with the events before it) as the queue's state machine emits them, kept as numbers:
// every command, wait, doorbell and ack is a record of numbers in a growable buffer, and an item is
// the position of its alignable command there (the events before it are those since the previous
// item). The aligner compares an item's command with the guest's from the numbers, marks it merged
// (the guest's words, known bits and CPU stored in its record) or leaves it QEMU's alone, and hands
// on positions; `replay` hands the events up to a position to the trace assembler's row calls,
// which write the same rows as the event objects did (what a QEMU log ingested alone does,
// readVtdLogInto / readSmmuv3LogInto). So no object, BigInt or `at` per QEMU event, and a merged row
// is written from the halves (docs/ingest.md, "Thirteenth pass", "Seventeenth pass" and
// "Twenty-fourth pass"). `QemuKeptItems` holds the buffer; `QemuVtdItems` (every bit of a
// descriptor known; waits do not align, `isVtdWait`, read from qw0's low half) and
// `QemuSmmuv3Items` (commands rebuilt from decoded fields with their known bits; every command
// aligns) are the two sides' commands. `formats/ingest/pair-items.test.ts` checks that a pair read
// this way and through `itemsOf` gives the same trace, summary and errors.

import type { CmdEvent, GeometryEvent } from '../capture/events.js';
import { isVtdWaitType } from '../capture/guest-vtd.js';
import { EventRows, type KnownPairRows, type KnownRows, type QueueRows } from '../capture/queue-rows.js';
import { Stamp } from '../capture/stamp.js';
import { opcodeMaskOf } from '../codecs.js';
import { hi32, lo32 } from '../arrow/fixed-columns.js';
import { mergeCommand, sameCommand, type PairOut, type QemuItems } from './align.js';
import { KeptRecords } from './kept-records.js';
import { G_ALL_KNOWN, G_CPU, G_HALVES, G_KNOWN, G_WORDS, NO_CPU, type GuestKeptCommands } from './guest-items.js';

/** What a buffered event is. */
const CMD = 0; // a command that does not align (a VT-d wait)
const DOORBELL = 1;
const ACK = 2;
const GEOMETRY = 3;
const ALIGN = 4; // an alignable command (VT-d: every bit known; SMMUv3: its known bits at KNOWN)
const UNKNOWN = 5; // a VT-d alignable command whose type no source told (unknownCommand)
const MERGED = 6; // an alignable command paired with the guest's: written from the merged halves
const SKIP = 7; // an alignable command handed on as an object instead (mergeCommand's rare cases)

/**
 * Numbers per buffered event: kind, slot, wrap, line, tid (a merged command's: the guest's CPU),
 * timed, hi, lo (the time's halves), the command's word count and its words' halves (low, high per
 * word: what PairRows.commandOfHalves reads), room for 4 words; an SMMUv3 command's two words and
 * then its known bits as halves in the same room (KNOWN).
 */
const STRIDE = 17;
const WORDS = 8;
const HALVES = 9;
/** An SMMUv3 command's known bits (k0 low, high, k1 low, high), after its two words' halves. */
const KNOWN = HALVES + 4;
/** `tid` of a line that printed none (Stamp's undefined). */
const NO_TID = -1;

/**
 * The buffer of one side's QEMU events: an item is the position of its command in the buffer; the
 * events after the last command are the item `~end` (negative). Queue row calls go in, positions
 * and the assembler's row calls come out. The commands (what is kept of one, how it compares with
 * the guest's and merges) are the subclass's.
 */
abstract class QemuKeptItems extends KeptRecords implements QueueRows, QemuItems<number, number> {
  /** A command's `detail` is not kept. */
  readonly readsDetail = false;
  private items: number[] = [];
  // The buffered events: KeptRecords of STRIDE numbers; `firstLive`, the position up to which
  // `replay` has handed them on.
  /** Position after the last item's command. */
  private mark = 0;
  /** The file of the buffered events (one QEMU log). */
  protected file = '';
  /** Geometry events (rare) by position. */
  private readonly geometry = new Map<number, GeometryEvent>();
  protected readonly stamp = new Stamp();
  /** Makes an item's command as an object (`event`: rare). */
  protected readonly objects = new EventRows();

  /** `guest`: the commands the items are compared with and merged with (positions in it). */
  constructor(protected readonly guest: GuestKeptCommands) {
    super(STRIDE);
  }

  abstract command(
    slot: number,
    wrap: number,
    w0hi: number,
    w0lo: number,
    w1hi: number,
    w1lo: number,
    file: string,
    line: number,
    t: Stamp,
    detail: unknown,
  ): void;
  abstract unknownCommand(slot: number, wrap: number, file: string, line: number, t: Stamp, detail: unknown): void;
  abstract same(p: number, g: number): boolean;
  abstract event(p: number): CmdEvent;
  abstract opUnknown(p: number): boolean;
  abstract emitMerged(p: number, g: number, out: PairOut[]): void;
  /** Writes the command kept at index `i` (of `kind`: CMD, ALIGN or MERGED) to `rows`, its stamp set. */
  protected abstract replayCommand(kind: number, i: number, slot: number, wrap: number, line: number, rows: KnownPairRows): void;

  doorbell(slot: number, wrap: number, file: string, line: number, t: Stamp): void {
    this.keep(DOORBELL, slot, wrap, 0, 0, 0, 0, file, line, t);
  }

  ack(file: string, line: number, t: Stamp): void {
    this.keep(ACK, 0, 0, 0, 0, 0, 0, file, line, t);
  }

  queueGeometry(e: GeometryEvent): void {
    this.geometry.set(this.end, e);
    this.keep(GEOMETRY, 0, 0, 0, 0, 0, 0, e.at.file, e.at.line, this.stamp);
  }

  /** The command about to be kept is an item. */
  protected item(): void {
    this.items.push(this.end);
    this.mark = this.end + 1;
  }

  /** Keeps an event (a command's first two words); returns its index in the buffer. */
  protected keep(
    kind: number,
    slot: number,
    wrap: number,
    w0hi: number,
    w0lo: number,
    w1hi: number,
    w1lo: number,
    file: string,
    line: number,
    t: Stamp,
  ): number {
    if (this.end === this.base && this.file !== file) this.file = file;
    else if (this.file !== file) throw new Error(`internal: the pair's QEMU events come from ${this.file} and ${file}`);
    const i = this.add();
    const b = this.buf;
    b[i] = kind;
    b[i + 1] = slot;
    b[i + 2] = wrap;
    b[i + 3] = line;
    b[i + 4] = t.tid ?? NO_TID;
    b[i + 5] = t.timed ? 1 : 0;
    b[i + 6] = t.hi;
    b[i + 7] = t.lo;
    b[i + WORDS] = 2;
    b[i + HALVES] = w0lo;
    b[i + HALVES + 1] = w0hi;
    b[i + HALVES + 2] = w1lo;
    b[i + HALVES + 3] = w1hi;
    return i;
  }

  /** The items completed since the last call. */
  takeItems(): number[] {
    const o = this.items;
    this.items = [];
    return o;
  }

  /** At the end: the events after the last alignable command, as an item without a command. */
  rest(): number[] {
    if (this.end === this.mark) return [];
    this.mark = this.end;
    return [~this.end];
  }

  // The aligner's view of an item (align.ts QemuItems).

  hasCommand(p: number): boolean {
    return p >= 0;
  }

  emitPre(p: number, out: PairOut[]): void {
    out.push(p >= 0 ? p : ~p);
  }

  emitOnly(p: number, out: PairOut[]): void {
    out.push(p >= 0 ? p + 1 : ~p);
  }

  /**
   * The stamp of the event at index `i`. A number read from the Float64Array is a heap number until
   * optimized code reads it; stored as such in a field that holds small integers (the Stamp's `hi`
   * and `tid`, an `at`'s `line`), it changes the field to a double and the map of every object of
   * that shape, and the optimized code that reads them deoptimizes ("wrong map": the QEMU queue's
   * flushDoorbell and `keep`, docs/ingest.md, seventeenth pass): they go back to integers first
   * (`| 0`: at most 32 bits signed; `>>> 0`: a time's 32-bit halves).
   */
  protected stampAt(i: number): void {
    const b = this.buf;
    const tid = b[i + 4]! | 0;
    this.stamp.set(tid === NO_TID ? undefined : tid, b[i + 5] === 1, b[i + 6]! >>> 0, b[i + 7]! >>> 0);
  }

  /** Hands the events kept up to position `to` (from the aligner's output) on to `rows`, in order. */
  replay(to: number, rows: KnownPairRows): void {
    const b = this.buf;
    const t = this.stamp;
    const file = this.file;
    for (let p = this.firstLive; p < to; p++) {
      const i = this.index(p);
      this.stampAt(i);
      // Integers again (stampAt).
      const slot = b[i + 1]! | 0;
      const wrap = b[i + 2]! | 0;
      const line = b[i + 3]! | 0;
      const kind = b[i]!;
      switch (kind) {
        case CMD:
        case ALIGN:
        case MERGED:
          this.replayCommand(kind, i, slot, wrap, line, rows);
          break;
        case DOORBELL:
          rows.doorbell(slot, wrap, file, line, t);
          break;
        case ACK:
          rows.ack(file, line, t);
          break;
        case UNKNOWN:
          rows.unknownCommand(slot, wrap, file, line, t, undefined);
          break;
        case SKIP:
          break;
        default:
          rows.queueGeometry(this.geometry.get(p)!);
          this.geometry.delete(p);
      }
    }
    if (to > this.firstLive) this.firstLive = to;
  }
}

/** A VT-d log's side: every bit of a descriptor known; waits do not align. */
export class QemuVtdItems extends QemuKeptItems {
  command(
    slot: number,
    wrap: number,
    w0hi: number,
    w0lo: number,
    w1hi: number,
    w1lo: number,
    file: string,
    line: number,
    t: Stamp,
    _detail: unknown,
  ): void {
    // Every bit known: `isVtdWait` of its words. A wait does not align.
    if (isVtdWaitType(w0lo)) {
      this.keep(CMD, slot, wrap, w0hi, w0lo, w1hi, w1lo, file, line, t);
      return;
    }
    this.item();
    this.keep(ALIGN, slot, wrap, w0hi, w0lo, w1hi, w1lo, file, line, t);
  }

  /** No type bit known, so `isVtdWait` is false: it aligns. */
  unknownCommand(slot: number, wrap: number, file: string, line: number, t: Stamp, _detail: unknown): void {
    this.item();
    this.keep(UNKNOWN, slot, wrap, 0, 0, 0, 0, file, line, t);
  }

  /** `sameCommand` of the item's command and the guest's, from the numbers. */
  same(p: number, g: number): boolean {
    const G = this.guest;
    const gb = G.buf;
    const gh = G.index(g);
    if (gb[gh + G_ALL_KNOWN] !== 1) return sameCommand(this.event(p), G.event(g));
    const b = this.buf;
    const i = this.index(p);
    // No type bit known: nothing to compare.
    if (b[i] === UNKNOWN) return true;
    const h = i + HALVES;
    for (let k = 0; k < 4; k++) if (b[h + k] !== gb[gh + G_HALVES + k]) return false;
    return true;
  }

  event(p: number): CmdEvent {
    const b = this.buf;
    const i = this.index(p);
    this.stampAt(i);
    const o = this.objects;
    const h = i + HALVES;
    const slot = b[i + 1]! | 0;
    const wrap = b[i + 2]! | 0;
    const line = b[i + 3]! | 0;
    if (b[i] === UNKNOWN) o.unknownCommand(slot, wrap, this.file, line, this.stamp, undefined);
    else o.command(slot, wrap, b[h + 1]!, b[h]!, b[h + 3]!, b[h + 2]!, this.file, line, this.stamp, undefined);
    return o.take()[0] as CmdEvent;
  }

  opUnknown(p: number): boolean {
    return this.buf[this.index(p)] === UNKNOWN;
  }

  /**
   * The item's command merged with the guest's `g` as `mergeCommand` merges them, written when
   * replayed: QEMU's qw0/qw1 (or the guest's, when QEMU could not tell the type), the guest's
   * further words, its CPU. A guest command that is not fully known (never, from qi_submit) goes on
   * as mergeCommand's object; one of more than four words is never kept (guest-items.ts).
   */
  emitMerged(p: number, g: number, out: PairOut[]): void {
    const b = this.buf;
    const i = this.index(p);
    const G = this.guest;
    const gb = G.buf;
    const gi = G.index(g);
    if (gb[gi + G_ALL_KNOWN] !== 1) {
      out.push(p, mergeCommand(this.event(p), G.event(g)));
      b[i] = SKIP;
      return;
    }
    // QEMU's qw0/qw1 when it knows them (ALIGN), else the guest's; the further words the guest's
    // (zero past the guest's last: guest-items.ts keeps them so).
    const h = i + HALVES;
    for (let k = b[i] === ALIGN ? 4 : 0; k < 8; k++) b[h + k] = gb[gi + G_HALVES + k]!;
    b[i] = MERGED;
    b[i + WORDS] = Math.max(2, gb[gi + G_WORDS]!);
    const cpu = gb[gi + G_CPU]!;
    if (cpu !== NO_CPU) b[i + 4] = cpu;
    out.push(p + 1);
  }

  // Every command through one call (one copy of the builder's row path in what V8 compiles).
  protected replayCommand(kind: number, i: number, slot: number, wrap: number, line: number, rows: KnownPairRows): void {
    const b = this.buf;
    rows.commandOfHalves(slot, wrap, b, i + HALVES, b[i + WORDS]! | 0, kind === MERGED, this.file, line, this.stamp);
  }
}

/**
 * An SMMUv3 log's side: each command rebuilt from QEMU's decoded fields with the bits they tell
 * (KnownRows `commandKnown`, qemu-smmuv3-halves.ts); every command aligns. Compared with the
 * guest's on the bits both know and merged as `mergeCommand` merges them: QEMU's bits, the guest's
 * where QEMU's are unknown, the union of the known bits, the guest's CPU.
 */
export class QemuSmmuv3Items extends QemuKeptItems implements KnownRows {
  /** The opcode bits of the first word (codec table), as halves. */
  private readonly opHi: number;
  private readonly opLo: number;

  constructor(guest: GuestKeptCommands) {
    super(guest);
    const m = opcodeMaskOf('smmuv3');
    this.opHi = hi32(m) | 0;
    this.opLo = lo32(m) | 0;
  }

  commandKnown(
    slot: number,
    wrap: number,
    w0hi: number,
    w0lo: number,
    w1hi: number,
    w1lo: number,
    k0hi: number,
    k0lo: number,
    k1hi: number,
    k1lo: number,
    file: string,
    line: number,
    t: Stamp,
    _detail: unknown,
  ): void {
    this.item();
    const i = this.keep(ALIGN, slot, wrap, w0hi, w0lo, w1hi, w1lo, file, line, t);
    const b = this.buf;
    b[i + KNOWN] = k0lo;
    b[i + KNOWN + 1] = k0hi;
    b[i + KNOWN + 2] = k1lo;
    b[i + KNOWN + 3] = k1hi;
  }

  /** Every bit known (the SMMUv3 queue tells its known bits: `commandKnown`). */
  command(
    slot: number,
    wrap: number,
    w0hi: number,
    w0lo: number,
    w1hi: number,
    w1lo: number,
    file: string,
    line: number,
    t: Stamp,
    detail: unknown,
  ): void {
    this.commandKnown(slot, wrap, w0hi, w0lo, w1hi, w1lo, -1, -1, -1, -1, file, line, t, detail);
  }

  /** No bit known. */
  unknownCommand(slot: number, wrap: number, file: string, line: number, t: Stamp, detail: unknown): void {
    this.commandKnown(slot, wrap, 0, 0, 0, 0, 0, 0, 0, 0, file, line, t, detail);
  }

  /** `sameCommand` of the item's command and the guest's (both with known bits): on the bits both know. */
  same(p: number, g: number): boolean {
    const b = this.buf;
    const i = this.index(p);
    const gb = this.guest.buf;
    const gi = this.guest.index(g);
    for (let j = 0; j < 4; j++)
      if (((b[i + HALVES + j]! ^ gb[gi + G_HALVES + j]!) & b[i + KNOWN + j]! & gb[gi + G_KNOWN + j]!) !== 0) return false;
    return true;
  }

  event(p: number): CmdEvent {
    const b = this.buf;
    const i = this.index(p);
    this.stampAt(i);
    const h = i + HALVES;
    const k = i + KNOWN;
    const o = this.objects;
    o.commandKnown(
      b[i + 1]! | 0,
      b[i + 2]! | 0,
      b[h + 1]!,
      b[h]!,
      b[h + 3]!,
      b[h + 2]!,
      b[k + 1]!,
      b[k]!,
      b[k + 3]!,
      b[k + 2]!,
      this.file,
      b[i + 3]! | 0,
      this.stamp,
      undefined,
    );
    return o.take()[0] as CmdEvent;
  }

  /** Are the opcode bits of its command not all known (aligner `opUnknown`)? */
  opUnknown(p: number): boolean {
    const k = this.index(p) + KNOWN;
    const b = this.buf;
    return (b[k + 1]! & this.opHi) !== this.opHi || (b[k]! & this.opLo) !== this.opLo;
  }

  /**
   * The item's command merged with the guest's `g` as `mergeCommand` merges a QEMU command that
   * has known bits with it: each word QEMU's bits, and the guest's where QEMU's are unknown; known,
   * the union; the guest's CPU (QEMU's thread when it has none). A guest command of more than two
   * words (never, from cmdlist) goes on as mergeCommand's object.
   */
  emitMerged(p: number, g: number, out: PairOut[]): void {
    const b = this.buf;
    const i = this.index(p);
    const G = this.guest;
    const gb = G.buf;
    const gi = G.index(g);
    if (gb[gi + G_WORDS]! > 2) {
      out.push(p, mergeCommand(this.event(p), G.event(g)));
      b[i] = SKIP;
      return;
    }
    for (let j = 0; j < 4; j++) {
      const qk = b[i + KNOWN + j]! | 0;
      const gk = gb[gi + G_KNOWN + j]! | 0;
      b[i + HALVES + j] = ((b[i + HALVES + j]! & qk) | (gb[gi + G_HALVES + j]! & gk & ~qk)) >>> 0;
      b[i + KNOWN + j] = qk | gk;
    }
    b[i] = MERGED;
    const cpu = gb[gi + G_CPU]!;
    if (cpu !== NO_CPU) b[i + 4] = cpu;
    out.push(p + 1);
  }

  protected replayCommand(kind: number, i: number, slot: number, wrap: number, line: number, rows: KnownPairRows): void {
    const b = this.buf;
    const h = i + HALVES;
    const k = i + KNOWN;
    const k0lo = b[k]! | 0;
    const k0hi = b[k + 1]! | 0;
    const k1lo = b[k + 2]! | 0;
    const k1hi = b[k + 3]! | 0;
    if (kind !== MERGED)
      rows.commandKnown(slot, wrap, b[h + 1]!, b[h]!, b[h + 3]!, b[h + 2]!, k0hi, k0lo, k1hi, k1lo, this.file, line, this.stamp, undefined);
    else rows.commandKnownMerged(slot, wrap, b[h + 1]!, b[h]!, b[h + 3]!, b[h + 2]!, k0hi, k0lo, k1hi, k1lo, this.file, line, this.stamp);
  }
}
