// One policy run's completion points (CMD_SYNC / wait descriptors): registered when published,
// timed when the policy completes them. Open points wait in a typed-array window; a point leaves
// it, in queue order, once completed, into a spill file (replay/spill.ts), so memory does not grow
// with the trace. A window that fills (a policy that stops completing) spills its oldest open point
// and remembers only its start time. At the end, `rows` yields every point in queue order with its
// latency, and the latency percentiles come from the same pass.

import { Spill } from './spill.js';

/** Open points kept in memory before the oldest is spilled unresolved. */
const WINDOW = 1 << 14;

/** Spilled record: pos, seq, slot, doorbell_seq, commands, latency (NaN: not completed). */
const WIDTH = 6;

export interface CompletionRow {
  readonly pos: number;
  readonly seq: number;
  readonly slot: number;
  readonly doorbellSeq: number;
  readonly commands: number;
  /** Modelled time from its doorbell to its completion; undefined if never completed. */
  readonly latency: number | undefined;
}

/**
 * The measured latencies the percentiles are read from, gathered run after run in one buffer: a
 * thread's runs finish one after another, and fresh memory costs a page fault per 4 KiB (a new
 * array per run was 8 bytes a completion point of untouched memory). `clear` before each run.
 */
export class Latencies {
  private buf = new Float64Array(0);
  length = 0;

  clear(): void {
    this.length = 0;
  }

  /** Room for `n` more values (kept ones stay). */
  reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const b = new Float64Array(Math.max(this.length + n, 2 * this.buf.length));
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
  }

  /** Appends `v` (after `reserve`). */
  add(v: number): void {
    this.buf[this.length++] = v;
  }

  /** The values gathered, in the buffer itself (valid until the next `clear` or `reserve`). */
  view(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

/** The row `rows` hands to its visitor: one object per call of `rows`, its fields set for each point. */
class RowView implements CompletionRow {
  pos = 0;
  seq = 0;
  slot = 0;
  doorbellSeq = 0;
  commands = 0;
  latency: number | undefined = undefined;

  set(pos: number, seq: number, slot: number, doorbellSeq: number, commands: number, latency: number | undefined): this {
    this.pos = pos;
    this.seq = seq;
    this.slot = slot;
    this.doorbellSeq = doorbellSeq;
    this.commands = commands;
    this.latency = latency;
    return this;
  }
}

/**
 * An open point's record in the window: its fields side by side, one 64-byte line per point (the
 * window is one Float64Array of REC values per point). Seven arrays of one field each made every
 * add, complete and spill touch seven lines in seven 128 KiB arrays, per point per policy.
 */
const REC = 8;
const POS = 0;
const SEQ = 1;
const SLOT = 2;
const DOORBELL_SEQ = 3;
const T0 = 4;
const COMMANDS = 5;
const LATENCY = 6;

export class Completions {
  /** The window: point i's fields at [i * REC, i * REC + REC) (POS .. LATENCY; latency NaN while open). */
  private readonly rec = new Float64Array(WINDOW * REC);
  private head = 0;
  private size = 0;
  private readonly spill: Spill;
  /** Spilled while open: start time by position, and the latency if it completes later. */
  private readonly spilledOpen = new Map<number, number>();
  private readonly lateLatency = new Map<number, number>();
  /** Points completed. */
  completed = 0;
  /** Position of the last row spilled (-1: none). */
  private lastSpilled = -1;
  /** Rows spilled and then replaced or inserted (rare, see `replace`): seq, slot, doorbell_seq. */
  private readonly patches = new Map<number, [number, number, number]>();
  /** Latencies of completed rows later replaced: still among the latencies, as they were measured. */
  private readonly orphans: number[] = [];

  constructor(spillPath: string) {
    this.spill = new Spill(spillPath, WIDTH);
  }

  /** A completion point published at `pos` (positions only grow). */
  add(pos: number, seq: number, slot: number, doorbellSeq: number, t0: number, commands: number): void {
    const r = this.rec;
    if (this.size === WINDOW) {
      const h = this.head * REC;
      this.spilledOpen.set(r[h + POS]!, r[h + T0]!);
      this.spillHead();
    }
    const i = ((this.head + this.size) % WINDOW) * REC;
    r[i + POS] = pos;
    r[i + SEQ] = seq;
    r[i + SLOT] = slot;
    r[i + DOORBELL_SEQ] = doorbellSeq;
    r[i + T0] = t0;
    r[i + COMMANDS] = commands;
    r[i + LATENCY] = NaN;
    this.size++;
  }

  /**
   * The guest rewrote the entry at `pos` with a completion point before the policy consumed it: its
   * row starts again (no commands, not completed), in place of any row there was.
   */
  replace(pos: number, seq: number, slot: number, doorbellSeq: number, t0: number): void {
    const r = this.rec;
    let i = this.find(pos);
    if (i < 0 && (this.size === 0 || pos < r[this.head * REC + POS]!) && pos <= this.lastSpilled) {
      // Already spilled (an open point pushed out of a full window): patched at the end.
      this.patches.set(pos, [seq, slot, doorbellSeq]);
      const late = this.lateLatency.get(pos);
      if (late !== undefined) {
        this.orphans.push(late);
        this.completed--;
        this.lateLatency.delete(pos);
      }
      this.spilledOpen.set(pos, t0);
      return;
    }
    if (i < 0) {
      if (this.size === WINDOW) {
        const h = this.head * REC;
        this.spilledOpen.set(r[h + POS]!, r[h + T0]!);
        this.spillHead();
      }
      // Insert in position order (rare: a rewrite turning a command into a completion point).
      let k = this.size;
      while (k > 0 && r[((this.head + k - 1) % WINDOW) * REC + POS]! > pos) {
        const from = ((this.head + k - 1) % WINDOW) * REC;
        const to = ((this.head + k) % WINDOW) * REC;
        for (let f = 0; f < REC; f++) r[to + f] = r[from + f]!;
        k--;
      }
      i = (this.head + k) % WINDOW;
      this.size++;
    } else if (r[i * REC + LATENCY] === r[i * REC + LATENCY]) {
      this.orphans.push(r[i * REC + LATENCY]!);
      this.completed--;
    }
    const at = i * REC;
    r[at + POS] = pos;
    r[at + SEQ] = seq;
    r[at + SLOT] = slot;
    r[at + DOORBELL_SEQ] = doorbellSeq;
    r[at + T0] = t0;
    r[at + COMMANDS] = 0;
    r[at + LATENCY] = NaN;
  }

  /** The policy completed the point at `pos` at modelled time `clock` (a second call is ignored). */
  complete(pos: number, clock: number): void {
    const i = this.find(pos);
    if (i >= 0) {
      const r = this.rec;
      const at = i * REC;
      if (r[at + LATENCY] === r[at + LATENCY]) return;
      r[at + LATENCY] = clock - r[at + T0]!;
      this.completed++;
      while (this.size > 0 && r[this.head * REC + LATENCY] === r[this.head * REC + LATENCY]) this.spillHead();
      return;
    }
    const t0 = this.spilledOpen.get(pos);
    if (t0 === undefined) return;
    this.spilledOpen.delete(pos);
    this.lateLatency.set(pos, clock - t0);
    this.completed++;
  }

  /**
   * Window index of `pos`, or -1 (binary search: positions grow along the window). The oldest
   * open point is asked first: a policy completes its points in order, so it is the usual answer.
   */
  private find(pos: number): number {
    const r = this.rec;
    if (this.size > 0 && r[this.head * REC + POS] === pos) return this.head;
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = r[((this.head + mid) % WINDOW) * REC + POS]!;
      if (p === pos) return (this.head + mid) % WINDOW;
      if (p < pos) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private spillHead(): void {
    const h = this.head * REC;
    const r = this.rec;
    const at = this.spill.next();
    const b = this.spill.buffer;
    b[at] = r[h + POS]!;
    b[at + 1] = r[h + SEQ]!;
    b[at + 2] = r[h + SLOT]!;
    b[at + 3] = r[h + DOORBELL_SEQ]!;
    b[at + 4] = r[h + COMMANDS]!;
    b[at + 5] = r[h + LATENCY]!;
    this.spill.commit();
    this.lastSpilled = r[h + POS]!;
    this.head = (this.head + 1) % WINDOW;
    this.size--;
  }

  /**
   * Every point in queue order (call once, at the end); the measured latencies are appended to
   * `latencies`, in no order. The row handed to `visit` is valid during the call only (one object,
   * reused per point).
   */
  rows(visit: (r: CompletionRow) => void, latencies: Latencies): void {
    const row = new RowView();
    while (this.size > 0) this.spillHead();
    latencies.reserve(this.completed + this.orphans.length + this.patches.size);
    for (const l of this.orphans) latencies.add(l);
    const patched = [...this.patches.keys()].sort((a, b) => a - b);
    let p = 0;
    const emitPatch = (pos: number) => {
      const [seq, slot, doorbellSeq] = this.patches.get(pos)!;
      const latency = this.lateLatency.get(pos);
      if (latency !== undefined) latencies.add(latency);
      visit(row.set(pos, seq, slot, doorbellSeq, 0, latency));
    };
    this.spill.forEach((b, at) => {
      const pos = b[at]!;
      while (p < patched.length && patched[p]! < pos) emitPatch(patched[p++]!);
      const spilled = b[at + 5]!; // NaN: not measured when spilled
      if (p < patched.length && patched[p] === pos) {
        if (spilled === spilled) latencies.add(spilled); // measured before the rewrite
        emitPatch(patched[p++]!);
        return;
      }
      const latency = spilled === spilled ? spilled : this.lateLatency.get(pos);
      if (latency !== undefined) latencies.add(latency);
      visit(row.set(pos, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, latency));
    });
    while (p < patched.length) emitPatch(patched[p++]!);
  }

  dispose(): void {
    this.spill.dispose();
  }
}
