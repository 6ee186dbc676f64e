// Where a QEMU queue reader's events go (formats/capture/qemu-vtd-queue.ts): `QueueRows` takes each
// event as plain numbers (slot, wrap, the words as 32-bit halves, time and thread as a Stamp), so a
// reader that feeds the trace assembler directly (formats/ingest/assemble.ts, a QEMU log ingested
// on its own) makes no object, BigInt or string per event. `EventRows` makes the CaptureEvent
// objects of formats/capture/events.ts from the same calls, for readers whose events go on as
// objects (both sides of a run, aligned; the worker thread's wire; tests); they are the objects
// the readers made before, field for field.

import type { CaptureEvent, CmdEvent, GeometryEvent } from './events.js';
import { unsigned64, type Stamp } from './stamp.js';

/** `wrap` of a command that rewrites its slot (no wrap bit; CmdEvent's undefined). */
export const NO_WRAP = -1;

export interface QueueRows {
  /**
   * Whether `detail` is read (default true). False: a reader may pass undefined and need not make
   * one per command (the trace's rows hold no detail).
   */
  readonly readsDetail?: boolean;
  /**
   * A command of two known 64-bit words, w0 = (w0hi, w0lo), w1 = (w1hi, w1lo), read at `file:line`.
   * `detail`: what the reader keeps beside it (QEMU's VT-d detail), carried by event objects only.
   */
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
  ): void;
  /** A command whose type no source tells (all-zero `known` masks). */
  unknownCommand(slot: number, wrap: number, file: string, line: number, t: Stamp, detail: unknown): void;
  doorbell(slot: number, wrap: number, file: string, line: number, t: Stamp): void;
  ack(file: string, line: number, t: Stamp): void;
  /** Queue geometry (rare: an object). */
  queueGeometry(e: GeometryEvent): void;
}

/**
 * Also takes a pair's commands kept as numbers (formats/ingest/qemu-items.ts): a command of `n`
 * known words (2 to 4) whose halves are in `halves` from `from` (word i: low half at from + 2i,
 * high half next), QEMU's slot, wrap, line and time; `merged`: paired with the guest's (origin
 * `merged`, the guest's CPU as `t.tid`: formats/ingest/align.ts `mergeCommand` makes the same
 * event as an object), else QEMU's alone (`command` of its two words).
 */
export interface PairRows extends QueueRows {
  commandOfHalves(
    slot: number,
    wrap: number,
    halves: ArrayLike<number>,
    from: number,
    n: number,
    merged: boolean,
    file: string,
    line: number,
    t: Stamp,
  ): void;
}

export { unsigned64 };

/** Queue events as objects, handed out by `take()` (or, in a subclass, to `add`). */
export class EventRows implements KnownPairRows {
  private out: CaptureEvent[] = [];

  /** The events made since the last call. */
  take(): CaptureEvent[] {
    const o = this.out;
    this.out = [];
    return o;
  }

  /** Where each event made goes (kept for `take()` here). */
  protected add(e: CaptureEvent): void {
    this.out.push(e);
  }

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
    const cmd: CmdEvent & { detail: unknown } = {
      kind: 'cmd',
      slot,
      wrap: wrap === NO_WRAP ? undefined : wrap,
      words: [word(w0hi, w0lo), word(w1hi, w1lo)],
      at: { file, line },
      ts_ns: t.ts_ns,
      cpu: t.tid,
      detail,
    };
    this.add(cmd);
  }

  unknownCommand(slot: number, wrap: number, file: string, line: number, t: Stamp, detail: unknown): void {
    const cmd: CmdEvent & { detail: unknown } = {
      kind: 'cmd',
      slot,
      wrap: wrap === NO_WRAP ? undefined : wrap,
      words: [0n, 0n],
      known: [0n, 0n],
      at: { file, line },
      ts_ns: t.ts_ns,
      cpu: t.tid,
      detail,
    };
    this.add(cmd);
  }

  commandOfHalves(
    slot: number,
    wrap: number,
    halves: ArrayLike<number>,
    from: number,
    n: number,
    merged: boolean,
    file: string,
    line: number,
    t: Stamp,
  ): void {
    const h = halves;
    if (!merged) return this.command(slot, wrap, h[from + 1]!, h[from]!, h[from + 3]!, h[from + 2]!, file, line, t, undefined);
    const words = wordsOfHalves(h, from, n);
    this.add({
      kind: 'cmd',
      slot,
      wrap: wrap === NO_WRAP ? undefined : wrap,
      words,
      known: undefined,
      at: { file, line },
      ts_ns: t.ts_ns,
      cpu: t.tid,
      origin: 'merged',
    });
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
    detail: unknown,
  ): void {
    const cmd: CmdEvent & { detail: unknown } = {
      kind: 'cmd',
      slot,
      wrap: wrap === NO_WRAP ? undefined : wrap,
      words: [unsigned64(w0hi, w0lo), unsigned64(w1hi, w1lo)],
      known: [unsigned64(k0hi, k0lo), unsigned64(k1hi, k1lo)],
      at: { file, line },
      ts_ns: t.ts_ns,
      cpu: t.tid,
      detail,
    };
    this.add(cmd);
  }

  commandKnownMerged(
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
  ): void {
    this.add({
      kind: 'cmd',
      slot,
      wrap: wrap === NO_WRAP ? undefined : wrap,
      words: [unsigned64(w0hi, w0lo), unsigned64(w1hi, w1lo)],
      known: (k0hi & k0lo & k1hi & k1lo) === -1 ? undefined : [unsigned64(k0hi, k0lo), unsigned64(k1hi, k1lo)],
      at: { file, line },
      ts_ns: t.ts_ns,
      cpu: t.tid,
      origin: 'merged',
    });
  }

  doorbell(slot: number, wrap: number, file: string, line: number, t: Stamp): void {
    this.add({ kind: 'doorbell', slot, wrap, at: { file, line }, ts_ns: t.ts_ns, cpu: t.tid });
  }

  ack(file: string, line: number, t: Stamp): void {
    this.add({ kind: 'ack', at: { file, line }, ts_ns: t.ts_ns, cpu: t.tid });
  }

  queueGeometry(e: GeometryEvent): void {
    this.add(e);
  }
}

/** `n` words from their halves in `h` from `from` (word i: low half at from + 2i, high half next). */
export function wordsOfHalves(h: ArrayLike<number>, from: number, n: number): bigint[] {
  const words: bigint[] = [];
  for (let i = 0; i < n; i++) words.push(word(h[from + 2 * i + 1]!, h[from + 2 * i]!));
  return words;
}

/** A word as the scanner made it: a BigInt of the halves (small ones through BigInt(number)). */
function word(hi: number, lo: number): bigint {
  return hi === 0 ? BigInt(lo) : unsigned64(hi, lo);
}

/**
 * Also takes commands rebuilt from decoded fields (QEMU's SMMUv3 log): two words and the bits of
 * each the source could tell, `known` = (k0hi, k0lo), (k1hi, k1lo) as 32-bit halves (the CmdEvent
 * `known` masks); fields not fully known are null in the trace.
 */
export interface KnownRows extends QueueRows {
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
    detail: unknown,
  ): void;
}

/**
 * Also takes a pair's SMMUv3 commands kept as numbers (formats/ingest/qemu-items.ts): a command
 * paired with the guest's, with the bits the two sides told (align.ts `mergeCommand`: QEMU's bits,
 * the guest's where QEMU's are unknown; all known or not), QEMU's slot, wrap, line and time and the
 * guest's CPU as `t.tid`: the event `mergeCommand` makes, origin `merged`.
 */
export interface KnownPairRows extends PairRows, KnownRows {
  commandKnownMerged(
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
  ): void;
}
