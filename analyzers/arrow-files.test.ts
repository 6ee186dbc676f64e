// ipcSegments (arrow-files.ts): every batch reaches a segment. A batch whose schema is not its
// segment's (here another dictionary) starts a new segment instead of being dropped by Arrow JS's
// stream writer, and batches of one schema still share a segment.

import { Dictionary, Int16, RecordBatchReader, Table, Utf8, vectorFromArray, type RecordBatch } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ipcSegments } from './arrow-files.js';

/** One batch per list, each with its own dictionary (a new Dictionary type each: another schema). */
const ownDictionaries = (lists: readonly string[][]): RecordBatch[] =>
  lists.flatMap((v) => new Table({ s: vectorFromArray(v, new Dictionary(new Utf8(), new Int16())) }).batches);

/** Segments read back: the values of each. */
async function readBack(batches: readonly RecordBatch[], rowsPerSegment: number): Promise<string[][]> {
  const out: string[][] = [];
  for await (const seg of ipcSegments(
    (async function* () {
      yield* batches;
    })(),
    rowsPerSegment,
  )) {
    const vals: string[] = [];
    for (const b of RecordBatchReader.from(seg)) for (let i = 0; i < b.numRows; i++) vals.push(b.getChild('s')!.get(i) as string);
    out.push(vals);
  }
  return out;
}

describe('ipcSegments', () => {
  it('starts a new segment where the dictionary changes, so no batch is lost', async () => {
    // 5 rows in, 5 rows out: the second batch's dictionary ('z', 'x') is not the first's.
    expect(
      await readBack(
        ownDictionaries([
          ['x', 'y', 'x'],
          ['z', 'x'],
        ]),
        1024,
      ),
    ).toEqual([
      ['x', 'y', 'x'],
      ['z', 'x'],
    ]);
  });

  it('keeps batches of one schema in one segment', async () => {
    // The near twin: both batches from one table (one schema, one dictionary) share the segment.
    const one = new Table({ s: vectorFromArray(['x', 'y', 'x', 'y', 'x'], new Dictionary(new Utf8(), new Int16())) });
    const batches = [one.slice(0, 3), one.slice(3)].flatMap((t) => t.batches);
    expect(batches).toHaveLength(2);
    expect(await readBack(batches, 1024)).toEqual([['x', 'y', 'x', 'y', 'x']]);
  });

  it('writes a segment into the buffer it is given, byte for byte what it would return', async () => {
    // Two segments (another dictionary starts the second); each given buffer is 64 bytes too long:
    // the segment is exactly the stream's length, its bytes those of a new array.
    const batches = ownDictionaries([['x', 'y', 'x'], ['z']]);
    const source = () =>
      (async function* () {
        yield* batches;
      })();
    const plain: Uint8Array[] = [];
    for await (const seg of ipcSegments(source(), 1024)) plain.push(seg);
    const given: Uint8Array[] = [];
    const into = (n: number) => {
      given.push(new Uint8Array(new SharedArrayBuffer(n + 64)));
      return given.at(-1)!;
    };
    const written: Uint8Array[] = [];
    for await (const seg of ipcSegments(source(), 1024, into)) written.push(seg);
    expect(plain).toHaveLength(2);
    expect(written.map((w) => [w.buffer === given[written.indexOf(w)]!.buffer, w.byteLength])).toEqual(
      plain.map((p) => [true, p.byteLength]),
    );
    expect(written.map((w) => Buffer.from(w).equals(Buffer.from(plain[written.indexOf(w)]!)))).toEqual([true, true]);
  });
});
