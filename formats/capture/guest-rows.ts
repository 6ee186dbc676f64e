// Where a guest queue reader's rows go when a guest trace is ingested on its own
// (formats/ingest/assemble.ts TraceAssembler) or as a pair's side (formats/ingest/guest-items.ts,
// what the aligner compares): each command and doorbell as plain numbers, the
// words as 32-bit halves and the time and CPU as a Stamp, so the common line makes no event object,
// BigInt or string (guest-vtd.ts GuestVtdRows, guest-smmuv3.ts GuestSmmuv3Rows). The rows are those
// the queues' event objects (GuestVtdQueue, GuestSmmuv3Queue) make, field for field.

import { hi32, lo32 } from '../arrow/fixed-columns.js';
import type { Diagnostics } from './events.js';
import type { Stamp } from './stamp.js';

export interface GuestRows {
  /** A fully known command of `n` words, halves in `halves` from `from` (word i: low half at from + 2i, high half next). */
  guestCommand(slot: number, wrap: number, halves: ArrayLike<number>, from: number, n: number, file: string, line: number, t: Stamp): void;
  /** A command of constant `words` (the same array every call) with the bits `known`; `inferred`: restored, not seen. */
  fixedCommand(
    slot: number,
    wrap: number,
    words: readonly bigint[],
    known: readonly [bigint, bigint],
    inferred: boolean,
    file: string,
    line: number,
    t: Stamp,
  ): void;
  /** A doorbell restored, not seen (one per submission or batch). */
  inferredDoorbell(slot: number, wrap: number, file: string, line: number, t: Stamp): void;
}

/**
 * A guest trace clock time in ns: a number when exact as one (the byte scanner's, and most text
 * lines'), else the text parser's BigInt.
 */
export type GuestTime = number | bigint;

/** A text line's time as a GuestTime. */
export const guestTime = (ts: bigint): GuestTime => (ts <= MAX_SAFE ? Number(ts) : ts);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** `t` takes CPU `cpu` and time `ts` (mod 2^64, as the trace's Int64 column stores a BigInt's bits). */
export function stampAt(t: Stamp, cpu: number, ts: GuestTime): void {
  if (typeof ts === 'number') t.set(cpu, true, Math.floor(ts / 2 ** 32), ts >>> 0);
  else t.set(cpu, true, hi32(ts), lo32(ts));
}

/** `b - a > gap || b < a` (GuestVtdQueue's rule for a new submission) on GuestTimes; `gapN` is Number(gap). */
export function outOfGap(a: GuestTime, b: GuestTime, gap: bigint, gapN: number): boolean {
  if (typeof a === 'number' && typeof b === 'number') return b - a > gapN || b < a;
  const x = BigInt(a);
  const y = BigInt(b);
  return y - x > gap || y < x;
}

/**
 * Events seen, by name, counted apart and added to a Diagnostics at the end (`into`): a scanned
 * line's event name is interned (guest-bytes.ts), so a few names compared by identity first stand
 * in for a Map update per line. The counts are the same; only the summary reads them, sorted.
 */
export class EventCounts {
  private readonly names: string[] = [];
  private readonly counts: number[] = [];

  seen(event: string): void {
    const names = this.names;
    for (let i = 0; i < names.length; i++) {
      if (names[i] === event) {
        this.counts[i]!++;
        return;
      }
    }
    names.push(event);
    this.counts.push(1);
  }

  /** Adds the counts to `diag` and starts again. */
  into(diag: Diagnostics): void {
    for (let i = 0; i < this.names.length; i++) diag.seen(this.names[i]!, this.counts[i]);
    this.names.length = 0;
    this.counts.length = 0;
  }
}
