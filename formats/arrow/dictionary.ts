// A fixed string dictionary shared by every batch of a file (IPC files allow no replacement
// dictionaries): its id, its values, and a value's code. Plain data: the IPC writer
// (formats/arrow/ipc-file-sink.ts) writes its values as Utf8 (offsets and bytes), and
// formats/arrow/columns.ts FixedDictionary gives apache-arrow's type and vector of one.

export class StringDictionary {
  private readonly index = new Map<string, number>();

  constructor(
    readonly id: number,
    readonly values: readonly string[],
  ) {
    if (values.length > 0x7fff) throw new Error('dictionary too large');
    values.forEach((v, i) => this.index.set(v, i));
  }

  /** The code of `v` (the last index of a value listed twice). */
  indexOf(v: string): number {
    const i = this.index.get(v);
    if (i === undefined) throw new Error(`value ${v} is not in dictionary ${this.id}`);
    return i;
  }
}

/** A Utf8 column's two buffers (Arrow columnar format, "Variable-size Binary Layout"): offsets, then bytes. */
export interface Utf8Buffers {
  readonly offsets: Int32Array;
  readonly bytes: Uint8Array;
}

/** The values of `values` as a Utf8 column's buffers. */
export function utf8Buffers(values: readonly string[]): Utf8Buffers {
  const enc = new TextEncoder();
  const parts = values.map((v) => enc.encode(v));
  const offsets = new Int32Array(values.length + 1);
  for (let i = 0; i < parts.length; i++) offsets[i + 1] = offsets[i]! + parts[i]!.length;
  const bytes = new Uint8Array(offsets[values.length]!);
  for (let i = 0; i < parts.length; i++) bytes.set(parts[i]!, offsets[i]);
  return { offsets, bytes };
}
