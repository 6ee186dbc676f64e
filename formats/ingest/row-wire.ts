// The calls a VT-d QEMU queue makes on its `QueueRows` (formats/capture/queue-rows.ts) as typed
// arrays, so the queue can run in the worker thread that reads the log (qemu-worker.ts) while the
// thread that writes the trace replays the same calls, in the same order, on the trace assembler
// (formats/ingest/assemble.ts): the two-stage pipeline of qemu-side.ts `readVtdLogPipelined`.
//
// `RowBatcher` is the worker's QueueRows: each call is one record of STRIDE numbers in a
// Float64Array (a number survives a float64 exactly: the halves, slot, wrap, line and thread are
// stored as they were passed), geometry events (rare) as objects beside it, in their place. When
// the array is full it is handed to `send` and a new one started; the sender transfers its buffer
// (no copy) and the receiver hands it back once replayed, for a later batch. `replayRows` makes
// the calls again from a batch. What a call passes that the assembler
// does not read is not carried: a command's `detail` (QEMU's per-descriptor text; the assembler's
// rows and event objects do not hold it) and the file name, which both threads know.
//
// Each batch carries its sequence number; `BatchOrder` checks on the writing side that every batch
// arrives once and in order, and that the count the reader announces at the end is the count
// replayed (a batch lost or reordered would change the trace without an error otherwise).

import type { GeometryEvent } from '../capture/events.js';
import type { QueueRows } from '../capture/queue-rows.js';
import { Stamp } from '../capture/stamp.js';

/** One batch of calls: `n` records in `buffer`, the geometry events of GEOMETRY records in order. */
export interface RowBatch {
  readonly seq: number;
  readonly buffer: ArrayBuffer;
  readonly n: number;
  readonly geometry: readonly GeometryEvent[];
}

// Record layout: op, slot, wrap, w0hi, w0lo, w1hi, w1lo, line, tid (NaN: none), timed, ts hi, ts lo.
const STRIDE = 12;
const COMMAND = 0;
const UNKNOWN = 1;
const DOORBELL = 2;
const ACK = 3;
const GEOMETRY = 4;

/** Records per batch by default: 768 KiB per buffer, a few of the reader's 256 KiB blocks of lines. */
export const BATCH_ROWS = 8192;
/**
 * Records of the first batch (then twice as many each batch up to the batch size): the writing
 * thread waits for the first batch, and the reader's first lines are its slowest (not compiled yet).
 */
const FIRST_BATCH = 512;

/** A QueueRows that records each call, handing each full batch to `send`. */
export class RowBatcher implements QueueRows {
  /** A command's `detail` is not carried. */
  readonly readsDetail = false;
  private rec: Float64Array;
  private n = 0;
  private geometry: GeometryEvent[] = [];
  private seq = 0;
  /** Records of the batch being filled (FIRST_BATCH, doubling up to `rows`). */
  private limit: number;

  /**
   * `reuse`: a buffer the receiving side is done with, if one came back (sent buffers are
   * transferred, so without it every batch is a new allocation, zeroed, and external memory that
   * makes both threads collect more often).
   */
  constructor(
    private readonly send: (b: RowBatch) => void,
    private readonly rows = BATCH_ROWS,
    private readonly reuse: () => ArrayBuffer | undefined = () => undefined,
  ) {
    if (!(Number.isInteger(rows) && rows >= 1)) throw new RangeError(`batch rows ${rows}`);
    this.limit = Math.min(rows, FIRST_BATCH);
    this.rec = this.fresh();
  }

  /** An array for a batch: a buffer given back if it has the size, else a new one. */
  private fresh(): Float64Array {
    const size = this.rows * STRIDE;
    const back = this.reuse();
    return back !== undefined && back.byteLength === size * 8 ? new Float64Array(back) : new Float64Array(size);
  }

  /** Batches handed to `send` so far. */
  get sent(): number {
    return this.seq;
  }

  /** Sends the records made since the last batch (nothing when there are none). */
  flush(): void {
    if (this.n === 0) return;
    const b: RowBatch = { seq: this.seq++, buffer: this.rec.buffer as ArrayBuffer, n: this.n, geometry: this.geometry };
    this.rec = this.fresh();
    this.n = 0;
    this.limit = Math.min(this.rows, this.limit * 2);
    this.geometry = [];
    this.send(b);
  }

  /** A new record of `op` (the batch sent first when full); its offset. */
  private record(op: number, slot: number, wrap: number, line: number, t: Stamp | undefined): number {
    if (this.n === this.limit) this.flush();
    const r = this.rec;
    const o = this.n++ * STRIDE;
    r[o] = op;
    r[o + 1] = slot;
    r[o + 2] = wrap;
    r[o + 7] = line;
    if (t !== undefined) {
      r[o + 8] = t.tid ?? NaN;
      r[o + 9] = t.timed ? 1 : 0;
      r[o + 10] = t.hi;
      r[o + 11] = t.lo;
    }
    return o;
  }

  command(
    slot: number,
    wrap: number,
    w0hi: number,
    w0lo: number,
    w1hi: number,
    w1lo: number,
    _file: string,
    line: number,
    t: Stamp,
    _detail: unknown,
  ): void {
    const o = this.record(COMMAND, slot, wrap, line, t);
    const r = this.rec;
    r[o + 3] = w0hi;
    r[o + 4] = w0lo;
    r[o + 5] = w1hi;
    r[o + 6] = w1lo;
  }

  unknownCommand(slot: number, wrap: number, _file: string, line: number, t: Stamp, _detail: unknown): void {
    this.record(UNKNOWN, slot, wrap, line, t);
  }

  doorbell(slot: number, wrap: number, _file: string, line: number, t: Stamp): void {
    this.record(DOORBELL, slot, wrap, line, t);
  }

  ack(_file: string, line: number, t: Stamp): void {
    this.record(ACK, 0, 0, line, t);
  }

  queueGeometry(e: GeometryEvent): void {
    this.record(GEOMETRY, 0, 0, 0, undefined);
    this.geometry.push(e);
  }
}

/** Makes the calls of `b` again on `rows`, in order; `file` is the log's name. */
export function replayRows(b: RowBatch, file: string, rows: QueueRows, t: Stamp = new Stamp()): void {
  const r = new Float64Array(b.buffer, 0, b.n * STRIDE);
  let g = 0;
  for (let o = 0; o < r.length; o += STRIDE) {
    const op = r[o]!;
    if (op === GEOMETRY) {
      rows.queueGeometry(b.geometry[g++]!);
      continue;
    }
    const tid = r[o + 8]!;
    t.set(Number.isNaN(tid) ? undefined : tid, r[o + 9] === 1, r[o + 10]!, r[o + 11]!);
    const line = r[o + 7]!;
    if (op === COMMAND) rows.command(r[o + 1]!, r[o + 2]!, r[o + 3]!, r[o + 4]!, r[o + 5]!, r[o + 6]!, file, line, t, undefined);
    else if (op === DOORBELL) rows.doorbell(r[o + 1]!, r[o + 2]!, file, line, t);
    else if (op === ACK) rows.ack(file, line, t);
    else rows.unknownCommand(r[o + 1]!, r[o + 2]!, file, line, t, undefined);
  }
}

/** Checks that batches arrive once each and in order, and that none is missing at the end. */
export class BatchOrder {
  private next = 0;

  /** Throws if `seq` is not the batch expected next. */
  take(seq: number): void {
    if (seq !== this.next) {
      throw new Error(`row batch ${seq} arrived where batch ${this.next} was expected (a batch lost or reordered)`);
    }
    this.next++;
  }

  /** Throws if the reader sent `sent` batches but a different number arrived. */
  end(sent: number): void {
    if (sent !== this.next) throw new Error(`the log reader sent ${sent} row batches but ${this.next} arrived`);
  }
}
