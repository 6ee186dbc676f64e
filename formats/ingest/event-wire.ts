// Queue events (formats/capture/events.ts) as typed arrays, to hand a block's events from the
// worker thread that reads a QEMU log (qemu-worker.ts) to the thread that writes the trace, with
// the arrays' buffers transferred (no copy, no per-event clone). What the compact form holds is
// exactly what the trace assembler reads of a QEMU-side command, doorbell or ack: slot, wrap,
// words, known masks, host time, thread and line. Anything else (geometry events, an event with
// origin, inferred or more than 4 words, a value out of the arrays' range) travels as the object
// itself in `other`, in its place in the sequence, so the decoded batch is the same sequence of
// the same values. QEMU's per-command `detail` (what it printed besides the words) is not carried:
// the assembler does not read it.

import type { CaptureEvent, CmdEvent } from '../capture/events.js';

/** A batch of queue events as sent: one buffer holding the arrays of `n` events, and the OTHER events. */
export interface Wire {
  readonly buffer: ArrayBuffer;
  readonly n: number;
  readonly other: readonly CaptureEvent[];
}

/** The arrays of a Wire: event k is `kind[k]`, its words `words[4k, 4k + nWords[k])`. */
interface EventArrays {
  readonly n: number;
  readonly kind: Uint8Array;
  readonly slot: Int32Array;
  /** NO_WRAP: no wrap bit (a rewrite of a slot). */
  readonly wrap: Uint8Array;
  readonly line: Float64Array;
  /** NaN: no thread id. */
  readonly cpu: Float64Array;
  /** Host time, when `hasTs[k]`. */
  readonly ts: BigInt64Array;
  readonly hasTs: Uint8Array;
  readonly nWords: Uint8Array;
  readonly words: BigUint64Array;
  /** Known masks `known[2k, 2k + 2)`, when `hasKnown[k]`. */
  readonly hasKnown: Uint8Array;
  readonly known: BigUint64Array;
  /** The events of kind OTHER, in order. */
  readonly other: readonly CaptureEvent[];
}

const CMD = 0;
const DOORBELL = 1;
const ACK = 2;
const OTHER = 3;
const NO_WRAP = 2;
const U64 = 0xffffffffffffffffn;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

const inU64 = (w: bigint) => w >= 0n && w <= U64;

/** Whether the compact form holds this event exactly. */
function compact(e: CaptureEvent): boolean {
  if (e.kind === 'geometry' || e.origin !== undefined || e.inferred !== undefined) return false;
  if (e.ts_ns !== undefined && (e.ts_ns < I64_MIN || e.ts_ns > I64_MAX)) return false;
  if (e.kind === 'ack') return true;
  if (!(e.slot >= 0 && e.slot <= 0x7fffffff && Number.isInteger(e.slot))) return false;
  if (e.wrap !== undefined && e.wrap !== 0 && e.wrap !== 1) return false;
  if (e.kind !== 'cmd') return true;
  if (e.words.length > 4 || !e.words.every(inU64)) return false;
  return e.known === undefined || (inU64(e.known[0]) && inU64(e.known[1]));
}

/** Bytes per event in the one buffer of a wire (9 eight-byte, 1 four-byte and 5 one-byte slots). */
const BYTES_PER_EVENT = 9 * 8 + 4 + 5;

/** The arrays of a wire of `n` events, as views of one buffer (one transfer per message). */
function views(buffer: ArrayBuffer, n: number, other: readonly CaptureEvent[]): EventArrays {
  let at = 0;
  const take = <T>(make: (b: ArrayBuffer, o: number, len: number) => T, len: number, size: number): T => {
    const v = make(buffer, at, len);
    at += len * size;
    return v;
  };
  return {
    n,
    ts: take((b, o, l) => new BigInt64Array(b, o, l), n, 8),
    words: take((b, o, l) => new BigUint64Array(b, o, l), 4 * n, 8),
    known: take((b, o, l) => new BigUint64Array(b, o, l), 2 * n, 8),
    line: take((b, o, l) => new Float64Array(b, o, l), n, 8),
    cpu: take((b, o, l) => new Float64Array(b, o, l), n, 8),
    slot: take((b, o, l) => new Int32Array(b, o, l), n, 4),
    kind: take((b, o, l) => new Uint8Array(b, o, l), n, 1),
    wrap: take((b, o, l) => new Uint8Array(b, o, l), n, 1),
    hasTs: take((b, o, l) => new Uint8Array(b, o, l), n, 1),
    nWords: take((b, o, l) => new Uint8Array(b, o, l), n, 1),
    hasKnown: take((b, o, l) => new Uint8Array(b, o, l), n, 1),
    other,
  };
}

/** The wire of `events`; its `buffer` is the one to transfer. */
export function encodeEvents(events: readonly CaptureEvent[]): Wire {
  const n = events.length;
  const buffer = new ArrayBuffer(n * BYTES_PER_EVENT);
  const other: CaptureEvent[] = [];
  const w = views(buffer, n, other);
  for (let k = 0; k < n; k++) {
    const e = events[k]!;
    if (!compact(e)) {
      w.kind[k] = OTHER;
      // The object as the assembler reads it (a VT-d command's `detail` left behind).
      other.push(e.kind === 'cmd' ? withoutDetail(e) : e);
      continue;
    }
    w.line[k] = e.at.line;
    w.cpu[k] = e.cpu ?? NaN;
    if (e.ts_ns !== undefined) {
      w.ts[k] = e.ts_ns;
      w.hasTs[k] = 1;
    }
    switch (e.kind) {
      case 'cmd': {
        w.kind[k] = CMD;
        w.slot[k] = e.slot;
        w.wrap[k] = e.wrap ?? NO_WRAP;
        const ws = e.words;
        w.nWords[k] = ws.length;
        for (let i = 0; i < ws.length; i++) w.words[4 * k + i] = ws[i]!;
        if (e.known !== undefined) {
          w.hasKnown[k] = 1;
          w.known[2 * k] = e.known[0];
          w.known[2 * k + 1] = e.known[1];
        }
        break;
      }
      case 'doorbell':
        w.kind[k] = DOORBELL;
        w.slot[k] = e.slot;
        w.wrap[k] = e.wrap;
        break;
      case 'ack':
        w.kind[k] = ACK;
        break;
      case 'geometry': // never compact: sent as OTHER
    }
  }
  return { buffer, n, other };
}

function withoutDetail(e: CmdEvent): CmdEvent {
  if (!('detail' in e)) return e;
  const { detail: _, ...rest } = e;
  return rest;
}

/** The events of a wire, read from `file`. */
export function decodeEvents(wire: Wire, file: string): CaptureEvent[] {
  const w = views(wire.buffer, wire.n, wire.other);
  const out = new Array<CaptureEvent>(w.n);
  let o = 0;
  for (let k = 0; k < w.n; k++) {
    const kind = w.kind[k]!;
    if (kind === OTHER) {
      out[k] = w.other[o++]!;
      continue;
    }
    const at = { file, line: w.line[k]! };
    const c = w.cpu[k]!;
    const cpu = Number.isNaN(c) ? undefined : c;
    const ts_ns = w.hasTs[k] === 1 ? w.ts[k]! : undefined;
    if (kind === CMD) {
      const nw = w.nWords[k]!;
      const words = new Array<bigint>(nw);
      for (let i = 0; i < nw; i++) words[i] = w.words[4 * k + i]!;
      const wrap = w.wrap[k]!;
      out[k] =
        w.hasKnown[k] === 1
          ? {
              kind: 'cmd',
              slot: w.slot[k]!,
              wrap: wrap === NO_WRAP ? undefined : wrap,
              words,
              known: [w.known[2 * k]!, w.known[2 * k + 1]!],
              at,
              ts_ns,
              cpu,
            }
          : { kind: 'cmd', slot: w.slot[k]!, wrap: wrap === NO_WRAP ? undefined : wrap, words, at, ts_ns, cpu };
    } else if (kind === DOORBELL) out[k] = { kind: 'doorbell', slot: w.slot[k]!, wrap: w.wrap[k]!, at, ts_ns, cpu };
    else out[k] = { kind: 'ack', at, ts_ns, cpu };
  }
  return out;
}
