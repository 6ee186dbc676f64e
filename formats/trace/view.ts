// Typed-array access to one batch of a canonical trace, for the hot loops of info, replay and the
// analyzers: no per-row objects, no Arrow getters in the loop.

import type { RecordBatch } from 'apache-arrow';
import type { EventKind } from './schema.js';

/** One column's values and validity. */
export interface ColView<A> {
  readonly values: A;
  readonly valid: (i: number) => boolean;
}

function col<A>(batch: RecordBatch, name: string): ColView<A> | undefined {
  const v = batch.getChild(name);
  if (v === null) return undefined;
  if (v.data.length !== 1) throw new Error(`column ${name}: expected one chunk per batch`);
  const d = v.data[0]!;
  const bitmap = d.nullBitmap as Uint8Array | undefined; // typed as always there; a batch without nulls may have none
  const offset = d.offset;
  const valid =
    d.nullCount === 0 || bitmap === undefined || bitmap.length === 0
      ? () => true
      : (i: number) => ((bitmap[(i + offset) >> 3]! >> ((i + offset) & 7)) & 1) === 1;
  return { values: d.values as A, valid };
}

/** Dictionary column: codes and the value strings. */
export interface DictView {
  readonly codes: Int16Array;
  readonly names: readonly string[];
  readonly valid: (i: number) => boolean;
}

function dict(batch: RecordBatch, name: string): DictView {
  const v = batch.getChild(name);
  if (v === null) throw new Error(`trace has no column ${name}`);
  const d = v.data[0]!;
  const c = col<Int16Array>(batch, name)!;
  const names = d.dictionary ? (d.dictionary.toArray() as string[]) : [];
  return { codes: c.values, names, valid: c.valid };
}

export interface BatchView {
  readonly length: number;
  readonly seq: Uint32Array;
  readonly kind: DictView;
  readonly ts: ColView<BigInt64Array>;
  readonly slot: ColView<Uint32Array>;
  readonly wrap: ColView<Uint8Array>;
  readonly w: readonly ColView<BigUint64Array>[];
  readonly op: DictView;
  readonly error: DictView;
  readonly role: DictView;
  readonly origin: DictView;
  readonly inferred: Uint8Array;
  readonly cpu: ColView<Int32Array>;
  /** The guest queue of each row (0 in a trace without a `queue` column). */
  queueOf(i: number): number;
  /** Why each IOTLB invalidation was sent ('map' | 'unmap'), undefined when unknown or an old trace. */
  causeOf(i: number): 'map' | 'unmap' | undefined;
  kindOf(i: number): EventKind;
  /** Raw words of a command row (2 or 4; null words of a 256-bit slot read as 0). */
  words(i: number, n: 2 | 4): bigint[];
  /**
   * The same words as 32-bit halves into `out` (2n of them, low half first), with no BigInt made:
   * the replay's feed writes them into the guest ring as they are (replay/memory.ts writeHalvesAt).
   */
  halves(i: number, n: 2 | 4, out: Uint32Array): void;
}

/** Whether a 64-bit word's low half comes first in memory here (a BigUint64Array read as halves). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Each word column's values as 32-bit halves (little-endian hosts), else undefined. */
function halvesOf(w: readonly ColView<BigUint64Array>[]): (Uint32Array | undefined)[] {
  return w.map((c) => (LITTLE_ENDIAN ? new Uint32Array(c.values.buffer, c.values.byteOffset, c.values.length * 2) : undefined));
}

export function viewBatch(batch: RecordBatch): BatchView {
  const kind = dict(batch, 'kind');
  const w = ['w0', 'w1', 'w2', 'w3'].map((n) => col<BigUint64Array>(batch, n)!);
  const wh = halvesOf(w);
  // Traces written before the cause column existed still read: every cause is unknown.
  const cause = batch.getChild('cause') === null ? undefined : dict(batch, 'cause');
  // One-queue traces have no queue column: every row is queue 0.
  const queue = col<Uint8Array>(batch, 'queue')?.values;
  return {
    length: batch.numRows,
    seq: col<Uint32Array>(batch, 'seq')!.values,
    kind,
    ts: col<BigInt64Array>(batch, 'ts_ns')!,
    slot: col<Uint32Array>(batch, 'slot')!,
    wrap: col<Uint8Array>(batch, 'wrap')!,
    w,
    op: dict(batch, 'op'),
    error: dict(batch, 'error'),
    role: dict(batch, 'role'),
    origin: dict(batch, 'origin'),
    inferred: col<Uint8Array>(batch, 'inferred')!.values,
    cpu: col<Int32Array>(batch, 'cpu')!,
    queueOf: queue === undefined ? () => 0 : (i) => queue[i]!,
    causeOf: (i) => (cause !== undefined && cause.valid(i) ? (cause.names[cause.codes[i]!] as 'map' | 'unmap') : undefined),
    kindOf: (i) => kind.names[kind.codes[i]!] as EventKind,
    words: (i, n) => {
      const out: bigint[] = [];
      for (let k = 0; k < n; k++) out.push(w[k]!.valid(i) ? w[k]!.values[i]! : 0n);
      return out;
    },
    halves: (i, n, out) => {
      for (let k = 0; k < n; k++) {
        const c = w[k]!;
        const h = wh[k];
        if (!c.valid(i)) {
          out[2 * k] = 0;
          out[2 * k + 1] = 0;
        } else if (h !== undefined) {
          out[2 * k] = h[2 * i]!;
          out[2 * k + 1] = h[2 * i + 1]!;
        } else {
          const v = c.values[i]!;
          out[2 * k] = Number(v & 0xffffffffn);
          out[2 * k + 1] = Number(v >> 32n);
        }
      }
    },
  };
}
