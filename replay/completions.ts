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

export class Completions {
  private readonly pos = new Float64Array(WINDOW);
  private readonly seq = new Float64Array(WINDOW);
  private readonly slot = new Float64Array(WINDOW);
  private readonly doorbellSeq = new Float64Array(WINDOW);
  private readonly t0 = new Float64Array(WINDOW);
  private readonly commands = new Float64Array(WINDOW);
  private readonly latency = new Float64Array(WINDOW);
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
    if (this.size === WINDOW) {
      const h = this.head;
      this.spilledOpen.set(this.pos[h]!, this.t0[h]!);
      this.spillHead();
    }
    const i = (this.head + this.size) % WINDOW;
    this.pos[i] = pos;
    this.seq[i] = seq;
    this.slot[i] = slot;
    this.doorbellSeq[i] = doorbellSeq;
    this.t0[i] = t0;
    this.commands[i] = commands;
    this.latency[i] = NaN;
    this.size++;
  }

  /**
   * The guest rewrote the entry at `pos` with a completion point before the policy consumed it: its
   * row starts again (no commands, not completed), in place of any row there was.
   */
  replace(pos: number, seq: number, slot: number, doorbellSeq: number, t0: number): void {
    let i = this.find(pos);
    if (i < 0 && (this.size === 0 || pos < this.pos[this.head]!) && pos <= this.lastSpilled) {
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
        const h = this.head;
        this.spilledOpen.set(this.pos[h]!, this.t0[h]!);
        this.spillHead();
      }
      // Insert in position order (rare: a rewrite turning a command into a completion point).
      let k = this.size;
      while (k > 0 && this.pos[(this.head + k - 1) % WINDOW]! > pos) {
        const from = (this.head + k - 1) % WINDOW;
        const to = (this.head + k) % WINDOW;
        this.pos[to] = this.pos[from]!;
        this.seq[to] = this.seq[from]!;
        this.slot[to] = this.slot[from]!;
        this.doorbellSeq[to] = this.doorbellSeq[from]!;
        this.t0[to] = this.t0[from]!;
        this.commands[to] = this.commands[from]!;
        this.latency[to] = this.latency[from]!;
        k--;
      }
      i = (this.head + k) % WINDOW;
      this.size++;
    } else if (this.latency[i] === this.latency[i]) {
      this.orphans.push(this.latency[i]!);
      this.completed--;
    }
    this.pos[i] = pos;
    this.seq[i] = seq;
    this.slot[i] = slot;
    this.doorbellSeq[i] = doorbellSeq;
    this.t0[i] = t0;
    this.commands[i] = 0;
    this.latency[i] = NaN;
  }

  /** The policy completed the point at `pos` at modelled time `clock` (a second call is ignored). */
  complete(pos: number, clock: number): void {
    const i = this.find(pos);
    if (i >= 0) {
      if (this.latency[i] === this.latency[i]) return;
      this.latency[i] = clock - this.t0[i]!;
      this.completed++;
      while (this.size > 0 && this.latency[this.head] === this.latency[this.head]) this.spillHead();
      return;
    }
    const t0 = this.spilledOpen.get(pos);
    if (t0 === undefined) return;
    this.spilledOpen.delete(pos);
    this.lateLatency.set(pos, clock - t0);
    this.completed++;
  }

  /** Window index of `pos`, or -1 (binary search: positions grow along the window). */
  private find(pos: number): number {
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = this.pos[(this.head + mid) % WINDOW]!;
      if (p === pos) return (this.head + mid) % WINDOW;
      if (p < pos) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private spillHead(): void {
    const h = this.head;
    const at = this.spill.next();
    const b = this.spill.buffer;
    b[at] = this.pos[h]!;
    b[at + 1] = this.seq[h]!;
    b[at + 2] = this.slot[h]!;
    b[at + 3] = this.doorbellSeq[h]!;
    b[at + 4] = this.commands[h]!;
    b[at + 5] = this.latency[h]!;
    this.spill.commit();
    this.lastSpilled = this.pos[h]!;
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
