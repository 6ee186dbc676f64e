// The pair's guest side kept as numbers (align.ts `GuestCommands`): the guest queue readers' rows
// (guest-rows.ts GuestRows, what GuestVtdRows and GuestSmmuv3Rows write for a guest trace ingested
// on its own) arrive here instead of the trace assembler, and each command the aligner aligns is a
// record of numbers in a growable buffer: its words and known bits as 32-bit halves, its slot,
// line, CPU and time. The aligner reads positions; QEMU's side (qemu-items.ts) compares and merges
// from the halves. The commands are those the event path hands the aligner (GuestVtdQueue with
// `descriptorsOnly`, GuestSmmuv3Queue, filtered by the aligner's `alignable`), so no event object,
// BigInt or `at` per guest line (docs/ingest.md, "Twenty-fifth pass"). `pair-items.test.ts` checks
// that a pair read this way and as objects gives the same trace, summary and errors.

import type { Arch } from '../codec/table.js';
import { opcodeMaskOf } from '../codecs.js';
import type { CmdEvent } from '../capture/events.js';
import type { GuestRows } from '../capture/guest-rows.js';
import { isVtdWait, isVtdWaitType } from '../capture/guest-vtd.js';
import { wordsOfHalves } from '../capture/queue-rows.js';
import { Stamp, unsigned64 } from '../capture/stamp.js';
import { halvesOf, hi32, lo32 } from '../arrow/fixed-columns.js';
import type { GuestCommands } from './align.js';
import { KeptRecords } from './kept-records.js';

/**
 * Numbers per kept command: its word count, whether every bit is known (1) or `KNOWN` holds what is,
 * inferred (1), slot, wrap, line, CPU (`NO_CPU`: none), the time's halves (hi, lo), then up to 4
 * words' halves (word i: low half at HALVES + 2i, high half next) and the first two words' known
 * bits as halves.
 */
export const GUEST_STRIDE = 21;
export const G_WORDS = 0;
export const G_ALL_KNOWN = 1;
const INFERRED = 2;
const SLOT = 3;
const WRAP = 4;
const LINE = 5;
export const G_CPU = 6;
const TS_HI = 7;
const TS_LO = 8;
export const G_HALVES = 9;
export const G_KNOWN = G_HALVES + 8;
/** `G_CPU` of a command that has none. */
export const NO_CPU = -1;

/** A fixed command's words and known bits (the same arrays every call), as halves: the last one seen. */
interface FixedHalves {
  words: readonly bigint[];
  known: readonly [bigint, bigint];
  /** Does the aligner align it? */
  aligns: boolean;
  /** The words' halves (up to 8), then the known bits' (4): a record's from G_HALVES on. */
  halves: Uint32Array;
}

/** The kept commands: KeptRecords of GUEST_STRIDE numbers; `firstLive`, the first the aligner is not done with. */
export class GuestKeptCommands extends KeptRecords implements GuestRows, GuestCommands<number> {
  /** Positions kept since the last `take`. */
  private fresh: number[] = [];
  /** The file of the kept commands (one guest trace). */
  private file = '';
  private readonly vtd: boolean;
  private readonly opHi: number;
  private readonly opLo: number;
  private fixed: FixedHalves | undefined;

  constructor(arch: Arch) {
    super(GUEST_STRIDE);
    this.vtd = arch === 'vtd';
    const m = opcodeMaskOf(arch);
    this.opHi = hi32(m) | 0;
    this.opLo = lo32(m) | 0;
  }

  /** The positions kept since the last call, in order. */
  take(): number[] {
    const o = this.fresh;
    this.fresh = [];
    return o;
  }

  /** A fully known command. VT-d: a wait does not align (the aligner's `alignable`, `isVtdWait`). */
  guestCommand(slot: number, wrap: number, halves: ArrayLike<number>, from: number, n: number, file: string, line: number, t: Stamp): void {
    if (this.vtd && isVtdWaitType(halves[from]!)) return;
    if (n > 4) throw new Error(`internal: a guest command of ${n} words`);
    const i = this.keep(n, 1, 0, slot, wrap, file, line, t);
    const b = this.buf;
    const h = i + G_HALVES;
    for (let k = 0; k < 2 * n; k++) b[h + k] = halves[from + k]!;
    for (let k = 0; k < 4; k++) b[i + G_KNOWN + k] = 0xffffffff;
  }

  /** A command of constant words with the bits `known` (an inferred wait or CMD_SYNC, an unrecorded command). */
  fixedCommand(
    slot: number,
    wrap: number,
    words: readonly bigint[],
    known: readonly [bigint, bigint],
    inferred: boolean,
    file: string,
    line: number,
    t: Stamp,
  ): void {
    const f = this.fixedHalves(words, known);
    if (!f.aligns) return;
    const i = this.keep(words.length, 0, inferred ? 1 : 0, slot, wrap, file, line, t);
    this.buf.set(f.halves, i + G_HALVES);
  }

  /** The guest's doorbells are not compared (QEMU's are the trace's). */
  inferredDoorbell(_slot: number, _wrap: number, _file: string, _line: number, _t: Stamp): void {}

  /** The halves of a fixed command, made once per (words, known) arrays in a row. */
  private fixedHalves(words: readonly bigint[], known: readonly [bigint, bigint]): FixedHalves {
    const f = this.fixed;
    if (f !== undefined && f.words === words && f.known === known) return f;
    if (words.length > 4) throw new Error(`internal: a guest command of ${words.length} words`);
    const halves = new Uint32Array(12);
    halvesOf(words, halves);
    halvesOf(known, halves.subarray(G_KNOWN - G_HALVES));
    return (this.fixed = { words, known, aligns: !(this.vtd && isVtdWait({ words, known })), halves });
  }

  private keep(n: number, allKnown: number, inferred: number, slot: number, wrap: number, file: string, line: number, t: Stamp): number {
    if (this.end === this.base && this.file !== file) this.file = file;
    else if (this.file !== file) throw new Error(`internal: the pair's guest commands come from ${this.file} and ${file}`);
    this.fresh.push(this.end);
    const i = this.add();
    const b = this.buf;
    b[i + G_WORDS] = n;
    b[i + G_ALL_KNOWN] = allKnown;
    b[i + INFERRED] = inferred;
    b[i + SLOT] = slot;
    b[i + WRAP] = wrap;
    b[i + LINE] = line;
    b[i + G_CPU] = t.tid ?? NO_CPU;
    b[i + TS_HI] = t.hi;
    b[i + TS_LO] = t.lo;
    // Words past n read as zero (`mergeCommand`'s `?? 0n`).
    for (let k = 2 * n; k < 8; k++) b[i + G_HALVES + k] = 0;
    return i;
  }

  // The aligner's view (align.ts GuestCommands).

  done(p: number): void {
    this.firstLive = p + 1;
  }

  opUnknown(p: number): boolean {
    const b = this.buf;
    const k = this.index(p) + G_KNOWN;
    return (b[k + 1]! & this.opHi) !== this.opHi || (b[k]! & this.opLo) !== this.opLo;
  }

  /**
   * The command as the event object the guest queue would have made (a wait's or a batch's). Its
   * integers go back to integers first (`| 0`): read from the Float64Array by unoptimized code they
   * are heap numbers, and stored as such in a CmdEvent's `slot`, `wrap` or `cpu` or an `at`'s `line`
   * they changed those fields to doubles in the shapes the queues' event objects share (4 maps
   * deprecated in the VT-d pair's run, `node --log-maps`; docs/ingest.md, twenty-fifth pass).
   */
  event(p: number): CmdEvent {
    const b = this.buf;
    const i = this.index(p);
    const n = b[i + G_WORDS]! | 0;
    const words = wordsOfHalves(b, i + G_HALVES, n);
    const k = i + G_KNOWN;
    const known = b[i + G_ALL_KNOWN] === 1 ? undefined : ([unsigned64(b[k + 1]!, b[k]!), unsigned64(b[k + 3]!, b[k + 2]!)] as const);
    const cpu = b[i + G_CPU]! | 0;
    const t = new Stamp();
    t.set(undefined, true, b[i + TS_HI]! >>> 0, b[i + TS_LO]! >>> 0);
    return {
      kind: 'cmd',
      slot: b[i + SLOT]! | 0,
      wrap: b[i + WRAP]! | 0,
      words,
      ...(known !== undefined ? { known } : {}),
      at: { file: this.file, line: b[i + LINE]! | 0 },
      ts_ns: t.ts_ns,
      ...(cpu !== NO_CPU ? { cpu } : {}),
      ...(b[i + INFERRED] === 1 ? { inferred: true } : {}),
    };
  }
}
