// The pair's VT-d QEMU side grouped into the aligner's items (align.ts `Item`: each alignable
// command with the events before it) as the queue's state machine emits them, instead of as event
// batches that `itemsOf` walks again. Only the alignable commands become event objects (EventRows'
// objects, field for field: the aligner compares and merges them). The events between them (the
// waits, doorbells and acks, about two thirds of a strict run's QEMU events) are kept as numbers in
// a growable buffer, and an item's `pre` is the position where its events end: the aligner passes
// that position on in its output, and `replay` hands the events up to it to the trace assembler's
// QueueRows calls, which write the same rows as the objects did (what a QEMU log ingested alone
// does, readVtdLogInto). So no object, BigInt or `at` per wait, doorbell or ack (docs/ingest.md,
// "Thirteenth pass"). Which commands align is the aligner's rule (VT-d: all but waits,
// `isVtdWait`, read here from qw0's low half). `formats/ingest/pair-items.test.ts` checks that a
// pair read this way and through `itemsOf` gives the same trace, summary and errors.

import type { CaptureEvent, GeometryEvent } from '../capture/events.js';
import { isVtdWaitType } from '../capture/guest-vtd.js';
import { EventRows, type QueueRows } from '../capture/queue-rows.js';
import { Stamp } from '../capture/stamp.js';
import type { Item } from './align.js';

/** What a buffered event is. */
const CMD = 0;
const DOORBELL = 1;
const ACK = 2;
const GEOMETRY = 3;

/** Numbers per buffered event: kind, slot, wrap, w0hi, w0lo, w1hi, w1lo, line, tid, timed, hi, lo. */
const STRIDE = 12;
/** `tid` of a line that printed none (Stamp's undefined). */
const NO_TID = -1;

export class QemuVtdItems extends EventRows {
  private items: Item[] = [];
  /** Buffered events, STRIDE numbers each; `base` is the position of the first. */
  private buf = new Float64Array(STRIDE * 1024);
  private base = 0;
  /** Position after the last event buffered (absolute: it only grows). */
  private end = 0;
  /** Position up to which `replay` has handed the events on. */
  private done = 0;
  /** Position where the last item's events ended. */
  private mark = 0;
  /** The file of the buffered events (one QEMU log). */
  private file = '';
  /** Geometry events (rare) by position. */
  private readonly geometry = new Map<number, GeometryEvent>();
  private readonly stamp = new Stamp();

  override command(
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
    // Every bit known: `isVtdWait` of its words. A wait does not align: kept as numbers.
    if (isVtdWaitType(w0lo)) return this.keep(CMD, slot, wrap, w0hi, w0lo, w1hi, w1lo, file, line, t);
    super.command(slot, wrap, w0hi, w0lo, w1hi, w1lo, file, line, t, detail);
  }

  // unknownCommand: no type bit known, so `isVtdWait` is false: it aligns (EventRows' object).

  override doorbell(slot: number, wrap: number, file: string, line: number, t: Stamp): void {
    this.keep(DOORBELL, slot, wrap, 0, 0, 0, 0, file, line, t);
  }

  override ack(file: string, line: number, t: Stamp): void {
    this.keep(ACK, 0, 0, 0, 0, 0, 0, file, line, t);
  }

  override queueGeometry(e: GeometryEvent): void {
    this.geometry.set(this.end, e);
    this.keep(GEOMETRY, 0, 0, 0, 0, 0, 0, e.at.file, e.at.line, this.stamp);
  }

  /** Every event object made here is an alignable command: an item with the events kept before it. */
  protected override add(e: CaptureEvent): void {
    if (e.kind !== 'cmd') throw new Error(`internal: a QEMU ${e.kind} event reached the pair's items as an object`);
    this.items.push({ pre: this.end, cmd: e });
    this.mark = this.end;
  }

  private keep(
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
  ): void {
    if (this.end === this.base && this.file !== file) this.file = file;
    else if (this.file !== file) throw new Error(`internal: the pair's QEMU events come from ${this.file} and ${file}`);
    let i = (this.end - this.base) * STRIDE;
    if (i === this.buf.length) i = this.room();
    const b = this.buf;
    b[i] = kind;
    b[i + 1] = slot;
    b[i + 2] = wrap;
    b[i + 3] = w0hi;
    b[i + 4] = w0lo;
    b[i + 5] = w1hi;
    b[i + 6] = w1lo;
    b[i + 7] = line;
    b[i + 8] = t.tid ?? NO_TID;
    b[i + 9] = t.timed ? 1 : 0;
    b[i + 10] = t.hi;
    b[i + 11] = t.lo;
    this.end++;
  }

  /** Drops the events replayed and, if that frees too little, doubles the buffer; the next index. */
  private room(): number {
    const live = this.end - this.done;
    const from = (this.done - this.base) * STRIDE;
    if (live * 2 > this.end - this.base) {
      const b = new Float64Array(this.buf.length * 2);
      b.set(this.buf.subarray(from));
      this.buf = b;
    } else this.buf.copyWithin(0, from);
    this.base = this.done;
    return live * STRIDE;
  }

  /** The items completed since the last call. */
  takeItems(): Item[] {
    const o = this.items;
    this.items = [];
    return o;
  }

  /** At the end: the events after the last alignable command, as an item without a command. */
  rest(): Item[] {
    return this.end === this.mark ? [] : [{ pre: (this.mark = this.end), cmd: undefined }];
  }

  /** Hands the events kept up to position `to` (an item's `pre`) on to `rows`, in order. */
  replay(to: number, rows: QueueRows): void {
    const b = this.buf;
    const t = this.stamp;
    const file = this.file;
    for (let p = this.done; p < to; p++) {
      const i = (p - this.base) * STRIDE;
      const tid = b[i + 8]!;
      t.set(tid === NO_TID ? undefined : tid, b[i + 9] === 1, b[i + 10]!, b[i + 11]!);
      const kind = b[i]!;
      switch (kind) {
        case CMD:
          rows.command(b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!, file, b[i + 7]!, t, undefined);
          break;
        case DOORBELL:
          rows.doorbell(b[i + 1]!, b[i + 2]!, file, b[i + 7]!, t);
          break;
        case ACK:
          rows.ack(file, b[i + 7]!, t);
          break;
        default:
          rows.queueGeometry(this.geometry.get(p)!);
          this.geometry.delete(p);
      }
    }
    if (to > this.done) this.done = to;
  }
}
