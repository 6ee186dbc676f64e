// One VM's trace as a source the shared-host replay pulls from, a segment at a time: everything
// the guest did up to and including its next doorbell (the commands it wrote, acknowledgements,
// device faults), and when that doorbell was rung. The events come from the engine's own walk
// over a trace (feed.ts dispatchTrace), run one batch at a time, so only one batch per VM is held.

import type { RecordBatch } from 'apache-arrow';
import { batchesReused, type OpenTrace } from '../../formats/trace/io.js';
import { dispatchTrace, type TraceHandlers } from '../feed.js';

/** `queue`: the VM's guest queue the event belongs to (0 unless its trace has several). */
export type VmEvent =
  | {
      readonly kind: 'command';
      readonly seq: number;
      readonly slot: number;
      /** The command's words as 32-bit halves, low half first (its own copy: feed.ts reuses its buffer). */
      readonly halves: Uint32Array;
      readonly cause: 'map' | 'unmap' | undefined;
      readonly queue: number;
    }
  | { readonly kind: 'doorbell'; readonly seq: number; readonly index: number; readonly wrap: number; readonly queue: number }
  | { readonly kind: 'ack'; readonly seq: number; readonly queue: number }
  | { readonly kind: 'fault'; readonly seq: number; readonly sid: number; readonly timedOut: boolean };

/** A VM's events up to and including one doorbell (the last segment may have none). */
export interface Segment {
  readonly events: readonly VmEvent[];
  /** When its doorbell was rung, µs after the trace's first event; undefined: no timestamp (or no doorbell). */
  readonly atUs: number | undefined;
}

/** Hands the same events to the engine's handlers. */
export function deliver(e: VmEvent, h: TraceHandlers): void {
  switch (e.kind) {
    case 'command':
      h.command(e.seq, e.slot, e.halves, e.cause, e.queue);
      return;
    case 'doorbell':
      h.doorbell(e.seq, e.index, e.wrap, e.queue);
      return;
    case 'ack':
      h.ack(e.seq, e.queue);
      return;
    case 'fault':
      h.fault(e.seq, e.sid, e.timedOut);
      return;
  }
}

/** The trace as if it held only `batch` (the walk reads only the header and the batches). */
function oneBatch(t: OpenTrace, batch: RecordBatch): OpenTrace {
  return {
    path: t.path,
    header: t.header,
    schema: t.schema,
    batches: async function* () {
      yield batch;
    },
  };
}

export class EventSource {
  private readonly batches: AsyncIterator<RecordBatch>;
  private buffer: VmEvent[] = [];
  /** Timestamps (ns) of the buffered events, null where the trace has none. */
  private times: (bigint | null)[] = [];
  private at = 0;
  private done = false;
  private firstNs: bigint | undefined;
  /** Whether every doorbell seen so far had a timestamp. */
  timed = true;

  constructor(private readonly trace: OpenTrace) {
    // fill() copies every event out of a batch before it asks for the next: reused memory will do.
    this.batches = batchesReused(trace)[Symbol.asyncIterator]();
  }

  /** Loads the next batch; false at the end of the trace. */
  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.batches.next();
    if (r.done === true) {
      this.done = true;
      return false;
    }
    const b = r.value;
    const ts = b.getChild('ts_ns');
    const events: VmEvent[] = [];
    await dispatchTrace(oneBatch(this.trace, b), {
      command: (seq, slot, halves, cause, queue) => void events.push({ kind: 'command', seq, slot, halves: halves.slice(), cause, queue }),
      doorbell: (seq, index, wrap, queue) => void events.push({ kind: 'doorbell', seq, index, wrap, queue }),
      ack: (seq, queue) => void events.push({ kind: 'ack', seq, queue }),
      fault: (seq, sid, timedOut) => void events.push({ kind: 'fault', seq, sid, timedOut }),
    });
    // dispatchTrace calls one handler per row, in row order: event k is row k.
    const times = events.map((_, k) => (ts === null ? null : ((ts.get(k) as bigint | null) ?? null)));
    this.buffer = [...this.buffer.slice(this.at), ...events];
    this.times = [...this.times.slice(this.at), ...times];
    this.at = 0;
    if (this.firstNs === undefined) this.firstNs = times.find((t) => t !== null) ?? undefined;
    return true;
  }

  /** The next segment, or undefined at the end of the trace. */
  async next(): Promise<Segment | undefined> {
    let i = this.at;
    for (;;) {
      for (; i < this.buffer.length; i++) {
        if (this.buffer[i]!.kind === 'doorbell') return this.take(i + 1, this.times[i]!);
      }
      const before = this.buffer.length - this.at;
      if (!(await this.fill())) break;
      i = before; // fill() moved the unread events to the front
    }
    if (this.at >= this.buffer.length) return undefined;
    return this.take(this.buffer.length, null);
  }

  private take(end: number, doorbellNs: bigint | null): Segment {
    const events = this.buffer.slice(this.at, end);
    const isDoorbell = events.length > 0 && events[events.length - 1]!.kind === 'doorbell';
    if (isDoorbell && doorbellNs === null) this.timed = false;
    this.at = end;
    const atUs = doorbellNs !== null && this.firstNs !== undefined ? Number(doorbellNs - this.firstNs) / 1000 : undefined;
    return { events, atUs };
  }
}
