// Result tables: a table whose columns reuse their arrays (the file sink writes each batch out
// before it returns) writes the same file bytes as one with fresh arrays per batch — several
// batches, a shorter last one, nulls over an earlier batch's values, a validity bitmap in one batch
// only — and so does a row pushed cell by cell into the columns (`columns`, `pushU64`, `endRow`)
// against the same row through `push`. Reuse is only for such a sink: a sink that keeps its batches
// sees the earlier ones overwritten.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC, type RecordBatch } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { DictCol, NumCol } from '../formats/arrow/columns.js';
import { tempDir } from '../test/helpers.js';
import { hostOpsRowWriter, ResultFile, ResultTable, type ColSpec } from './results.js';
import { hostOpsSpec } from './tables.js';

const dir = tempDir();

const SPEC: ColSpec[] = [
  { name: 'policy', type: 'dict', values: ['a', 'b', 'c'], doc: '' },
  { name: 'seq', type: 'u32', doc: '' },
  { name: 'iommu', type: 'i32', doc: '' },
  { name: 'bytes', type: 'u64', doc: '' },
  { name: 'done', type: 'u8', doc: '' },
  { name: 'latency', type: 'f64', doc: '' },
  { name: 'note', type: 'str', doc: '' },
];

type Row = [string, number, number, number, boolean, number | null, string];

/** 23 rows (batches of 5: 5, 5, 5, 5, 3); latency null in rows 7 and 8 and 21 only. */
const ROWS: Row[] = Array.from({ length: 23 }, (_, i): Row => [
  'abc'[i % 3]!,
  i * 7 + 1,
  (i % 4) - 1,
  i === 5 ? 2 ** 53 - 1 : i === 6 ? 2 ** 40 + 3 : i * 1_000_003,
  i % 2 === 0,
  i === 7 || i === 8 || i === 21 ? null : i * 0.25,
  `n${i}`,
]);

function write(name: string, reuse: boolean, cellwise: boolean): Buffer {
  const path = join(dir, `${name}.arrow`);
  const f = new ResultFile(path);
  const t = new ResultTable('t', SPEC, f.write, 5, reuse);
  for (const r of ROWS) {
    if (!cellwise) {
      t.push([r[0], r[1], r[2], BigInt(r[3]), r[4], r[5], r[6]]);
      continue;
    }
    const c = t.columns;
    (c[0] as DictCol).pushCode((c[0] as DictCol).dict.indexOf(r[0]));
    (c[1] as NumCol<never, number>).push(r[1]);
    (c[2] as NumCol<never, number>).push(r[2]);
    (c[3] as NumCol<never, bigint>).pushU64(r[3]);
    (c[4] as NumCol<never, number>).push(r[4] ? 1 : 0);
    if (r[5] === null) (c[5] as NumCol<never, number>).pushNull();
    else (c[5] as NumCol<never, number>).push(r[5]);
    (c[6] as { push(v: string): void }).push(r[6]);
    t.endRow();
  }
  f.close(t);
  return readFileSync(path);
}

describe('result tables', () => {
  it('writes the same bytes with reused column arrays, and cell by cell', () => {
    const fresh = write('fresh', false, false);
    expect(write('reuse', true, false).equals(fresh)).toBe(true);
    expect(write('cells', true, true).equals(fresh)).toBe(true);
    expect(write('cells-fresh', false, true).equals(fresh)).toBe(true);
  });

  it('takes a u64 given as a number as BigInt(number) stores it, beyond 2^32 and 2^53 too', () => {
    const kept: RecordBatch[] = [];
    const t = new ResultTable('t', [{ name: 'bytes', type: 'u64', doc: '' }], (b) => kept.push(b), 8);
    const values = [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, 2 ** 53 - 1, 2 ** 53, 2 ** 60];
    for (const v of values) {
      (t.columns[0] as NumCol<never, bigint>).pushU64(v);
      t.endRow();
    }
    expect(Array.from(kept[0]!.getChildAt(0)!.toArray() as BigUint64Array)).toEqual(values.map((v) => BigInt(v)));
    expect(() => (t.columns[0] as NumCol<never, bigint>).pushU64(0.5)).toThrow(RangeError); // as BigInt(0.5)
  });

  it('writes host_ops rows through hostOpsRowWriter as through push', () => {
    const rows: [string, number, string, number, number, number, number, number][] = Array.from({ length: 11 }, (_, i) => [
      ['p', 'q', 'p'][i % 3]!,
      i,
      ['trap', 'ioctl', 'vmm_cmd', 'pin'][i % 4]!,
      i % 2 === 0 ? -1 : 3,
      i + 1,
      i * 4,
      i * 2 ** 35,
      i / 3,
    ]);
    // 'p' listed twice: a name takes its last code, as FixedDictionary.indexOf gives it.
    const spec = hostOpsSpec(['p', 'q', 'p']);
    const out = (cellwise: boolean) => {
      const path = join(dir, `ops-${cellwise}.arrow`);
      const f = new ResultFile(path);
      const t = new ResultTable('host_ops', spec, f.write, 4, true);
      const w = hostOpsRowWriter(t);
      for (const r of rows)
        if (cellwise) w(...r);
        else t.push([r[0], r[1], r[2], r[3], r[4], r[5], BigInt(r[6]), r[7]]);
      f.close(t);
      return readFileSync(path);
    };
    expect(out(true).equals(out(false))).toBe(true);
    const codes = tableFromIPC(out(true))
      .getChild('policy')!
      .data.flatMap((d) => Array.from((d.values as Int16Array).subarray(0, d.length)));
    expect(codes).toEqual(rows.map((r) => (r[0] === 'p' ? 2 : 1)));
  });

  it('reuses arrays only when asked: a sink that keeps its batches sees them overwritten', () => {
    const seqs = (reuse: boolean) => {
      const kept: RecordBatch[] = [];
      const t = new ResultTable('t', [{ name: 'seq', type: 'u32', doc: '' }], (b) => kept.push(b), 2, reuse);
      for (const v of [1, 2, 3, 4]) t.push([v]);
      return kept.map((b) => Array.from(b.getChildAt(0)!.toArray() as Uint32Array));
    };
    expect(seqs(false)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(seqs(true)).toEqual([
      [3, 4],
      [3, 4],
    ]);
  });
});
