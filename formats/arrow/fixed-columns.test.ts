// Fixed columns hand a finished batch the same bytes whether they reuse their arrays or not
// (values, validity bitmap, a shorter last batch, null rows over an earlier batch's values), and
// reuse happens only when asked: a finished batch of a reusing column (its own arrays, cleared by
// `release`) is overwritten by the next batch, one of a column that does not reuse stays as it was
// (the trace builder asks only for a sink that has written a batch out when it takes it: a
// MemorySink keeps its batches intact, and a sink that takes buffers sees the same bytes).
import { describe, expect, it } from 'vitest';
import { MemorySink, TraceBuilder } from '../trace/builder.js';
import { BigCol, CodeCol, ColumnMemory, I32, I64, SmallCol, U8, U16, U32, U64 } from './fixed-columns.js';
import type { ColumnChunk, IpcBatch } from './ipc-model.js';
import { CauseWatch } from '../trace/cause.js';
import { Stamp } from '../capture/stamp.js';

type Col = SmallCol | BigCol | CodeCol;

/** The bytes a batch's Data holds (values and bitmap), copied at once. */
const bytesOf = (d: { values: ColumnChunk['values']; nullBitmap: Uint8Array | undefined; nullCount: number }) => ({
  values: Array.from(new Uint8Array(d.values.buffer, d.values.byteOffset, d.values.byteLength)),
  bitmap: d.nullBitmap === undefined || d.nullBitmap.length === 0 ? [] : Array.from(d.nullBitmap),
  nulls: d.nullCount,
});

/** The bytes of the batch of `col`'s first `n` rows, taken as a sink that takes buffers does (then `release`). */
function taken(col: Col, n: number): ReturnType<typeof bytesOf> {
  const b = bytesOf(col.finish(n));
  col.release(n);
  return b;
}

/** Batches of 5, 5 and 3 rows: every third row null, the values differing per batch. */
function batches(col: Col, set: (c: Col, r: number, v: number) => void): ColumnChunk[] {
  const out: ColumnChunk[] = [];
  let v = 1;
  for (const n of [5, 5, 3]) {
    for (let r = 0; r < n; r++, v++) if (v % 3 !== 0) set(col, r, v);
    out.push(col.finish(n));
    col.release(n);
  }
  return out;
}

const makers: [string, (reuse: boolean) => Col, (c: Col, r: number, v: number) => void][] = [
  ['Uint8', (reuse) => new SmallCol(U8, 5, true, reuse), (c, r, v) => (c as SmallCol).set(r, v * 300)],
  ['Uint16', (reuse) => new SmallCol(U16, 5, true, reuse), (c, r, v) => (c as SmallCol).set(r, v * 70000)],
  ['Uint32', (reuse) => new SmallCol(U32, 5, true, reuse), (c, r, v) => (c as SmallCol).set(r, v)],
  ['Int32', (reuse) => new SmallCol(I32, 5, true, reuse), (c, r, v) => (c as SmallCol).set(r, -v)],
  ['Int64', (reuse) => new BigCol(I64, 5, true, reuse), (c, r, v) => (c as BigCol).set(r, BigInt(-v) << 40n)],
  ['Uint64', (reuse) => new BigCol(U64, 5, true, reuse), (c, r, v) => (c as BigCol).setHalves(r, v, v + 1)],
  ['codes', (reuse) => new CodeCol(5, true, reuse), (c, r, v) => (c as CodeCol).set(r, v % 4)],
];

describe('fixed columns: reused output arrays', () => {
  it.each(makers)('%s: the same bytes per batch as fresh arrays', (_, make, set) => {
    const fresh = batches(make(false), set).map(bytesOf);
    const reused = make(true);
    const seen: ReturnType<typeof bytesOf>[] = [];
    let v = 1;
    for (const n of [5, 5, 3]) {
      for (let r = 0; r < n; r++, v++) if (v % 3 !== 0) set(reused, r, v);
      seen.push(taken(reused, n)); // copied before the next batch
    }
    expect(seen).toEqual(fresh);
  });

  it('a reusing column overwrites the last batch at the next finish; one that does not, does not', () => {
    const [, make, set] = makers[2]!;
    const [a0, a1] = batches(make(false), set);
    expect(bytesOf(a0!)).not.toEqual(bytesOf(a1!));
    const [b0, b1] = batches(make(true), set);
    expect(b0!.values.buffer).toBe(b1!.values.buffer);
  });

  it('a Uint8 or Uint16 column holds what a Uint32 array narrowed by a copy held', () => {
    const vs = [300, 70000, -5, 2 ** 32 + 7, 3.7, 255, 65535, 2 ** 31];
    for (const [type, Narrow] of [
      [U8, Uint8Array],
      [U16, Uint16Array],
    ] as const) {
      const col = new SmallCol(type, vs.length, true, true);
      vs.forEach((v, r) => col.set(r, v));
      expect(Array.from(col.finish(vs.length).values as Uint8Array | Uint16Array)).toEqual(Array.from(Narrow.from(Uint32Array.from(vs))));
    }
  });

  it.each(makers)('%s: with shared zeros, the bytes of fresh arrays before and after the first value', (_, make, set) => {
    // batches: never written, never written, rows 1 and 3 written, all null (the values of the
    // batch before stay under the null bits: not zeros), written again
    const plan = [[], [], [1, 3], [], [0]];
    const run = (col: Col, zeros?: ArrayBuffer) =>
      plan.map((rows, b) => {
        for (const r of rows) set(col, r, 10 * b + r + 1);
        const got = bytesOf(col.finish(4, zeros));
        col.release(4);
        return got;
      });
    const zeros = new ArrayBuffer(8 * 5);
    const shared = run(make(true), zeros);
    expect(shared).toEqual(run(make(false)));
    expect(new Uint8Array(zeros).every((x) => x === 0)).toBe(true);
  });

  it('a column no row has written hands a batch views of the shared zeros, not its own arrays', () => {
    const col = new BigCol(U64, 4, true, true);
    const zeros = new ArrayBuffer(32);
    const d = col.finish(4, zeros);
    expect(d.values.buffer).toBe(zeros);
    expect(d.nullBitmap!.buffer).toBe(zeros);
    col.release(4);
    col.setHalves(2, 1, 2);
    expect(col.finish(4, zeros).values.buffer).not.toBe(zeros);
  });

  it('a reusing column hands a batch its own arrays, cleared only by `release`', () => {
    const col = new SmallCol(U32, 5, true, true);
    col.set(0, 7);
    col.set(2, 9);
    const d = col.finish(3);
    expect(Array.from(d.nullBitmap!)).toEqual([0b101]);
    expect(d.nullCount).toBe(1);
    // the next batch's rows are written only after `release`: until then the batch is intact
    col.release(3);
    expect(Array.from(d.nullBitmap!)).toEqual([0]);
    col.set(1, 4);
    const e = col.finish(2);
    expect(Array.from(e.nullBitmap!)).toEqual([0b10]);
    expect(Array.from(e.values as Uint32Array)).toEqual([7, 4]);
  });

  it('the trace builder gives a sink that takes buffers the bytes it gives one that keeps its batches', () => {
    const header = { invtrace: 1, arch: 'vtd', queue_entries: 8, desc_bytes: 16 } as const;
    const kept = new MemorySink();
    const seen: ReturnType<typeof bytesOf>[][] = [];
    const taking = { takesBuffers: true, write: (b: IpcBatch) => void seen.push(b.columns.map(bytesOf)) };
    for (const sink of [kept, taking]) {
      const b = new TraceBuilder(header, sink, 3);
      b.inferCauses(new CauseWatch());
      for (let i = 0; i < 10; i++) {
        // page-selective IOTLB invalidations of two pages in turn (map, map, unmap, ...: the cause
        // column, cleared after each batch), a doorbell every third row (null words and op)
        if (i % 3 === 2) b.doorbell(i % 8, 0);
        else b.command(i % 8, [(3n << 16n) | 0x32n, BigInt(i % 2) << 12n]);
      }
      b.flush();
    }
    expect(seen.length).toBe(4);
    expect(kept.batches.map((x) => x.data.children.map(bytesOf))).toEqual(seen);
  });

  it('the trace builder reuses nothing for a sink that keeps its batches', () => {
    const sink = new MemorySink();
    const b = new TraceBuilder({ invtrace: 1, arch: 'vtd', queue_entries: 8, desc_bytes: 16 }, sink, 2);
    for (let i = 0; i < 4; i++) b.doorbell(i, 0);
    b.flush();
    const slots = sink.batches.map((x) => Array.from(x.getChild('slot')!.toArray() as Uint32Array));
    expect(slots).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });
});

// Rows filled with one value at once (`fill`, the trace builder's row templates at the end of a
// batch) against the same values written row by row with `set`, in batches of 5, 5 and 3 rows of a
// reusing column: rows listed in any order, rows not listed keeping what an earlier batch left
// under their null bit, values differing per batch.
const valued: [string, (reuse: boolean) => Col, (v: number) => number | bigint][] = [
  ['Uint8', (reuse) => new SmallCol(U8, 5, true, reuse), (v) => v * 300],
  ['Uint32', (reuse) => new SmallCol(U32, 5, true, reuse), (v) => v * 70001],
  ['Int32', (reuse) => new SmallCol(I32, 5, true, reuse), (v) => -v],
  ['Int64', (reuse) => new BigCol(I64, 5, true, reuse), (v) => BigInt(-v) << 40n],
  ['Uint64', (reuse) => new BigCol(U64, 5, true, reuse), (v) => (BigInt(v) << 32n) | BigInt(v + 1)],
  ['codes', (reuse) => new CodeCol(5, true, reuse), (v) => v % 4],
];

describe('fixed columns: rows filled with one value', () => {
  // Per batch, the groups of rows that take one value each (the rows missing from all stay null).
  const groups = [
    [[4, 0], [2]],
    [[1], [3, 0, 4]],
    [[], [2, 0]],
  ];

  it.each(valued)('%s: the bytes `set` row by row writes, rows not listed keeping what they hold', (_, make, val) => {
    const put = (c: Col, r: number, v: number) => (c instanceof BigCol ? c.set(r, val(v) as bigint) : c.set(r, val(v) as number));
    const byRow = make(true);
    const filled = make(true);
    const want: ReturnType<typeof bytesOf>[] = [];
    const got: ReturnType<typeof bytesOf>[] = [];
    [5, 5, 3].forEach((n, b) => {
      const rows = Int32Array.from(groups[b]!.flat());
      let from = 0;
      groups[b]!.forEach((g, j) => {
        const v = 10 * b + j + 1;
        for (const r of g) put(byRow, r, v);
        if (filled instanceof BigCol) filled.fill(rows, from, from + g.length, val(v) as bigint);
        else filled.fill(rows, from, from + g.length, val(v) as number);
        from += g.length;
      });
      want.push(taken(byRow, n));
      got.push(taken(filled, n));
    });
    // Each batch has null rows (over values an earlier batch wrote but the first) and valid ones.
    expect(want.map((x) => x.nulls)).toEqual([2, 1, 1]);
    expect(got).toEqual(want);
  });
});

// A trace's op, role and cache codes filled in one walk (`CodeCol.fillTriple`: cache only where
// its code is not -1; role's valid bits copied from op's, `nullsOf`) against the three columns
// written row by row with `set`, in the batches and row groups above.
describe('fixed columns: three code columns filled in one walk', () => {
  const groups = [
    [[4, 0], [2]],
    [[1], [3, 0, 4]],
    [[], [2, 0]],
  ];

  it('the bytes of `set` row by row for op, role and cache, cache left where its code is -1', () => {
    const cols = () => [new CodeCol(5, true, true), new CodeCol(5, true, true), new CodeCol(5, true, true)] as const;
    const byRow = cols();
    const filled = cols();
    const want: ReturnType<typeof bytesOf>[][] = [];
    const got: ReturnType<typeof bytesOf>[][] = [];
    [5, 5, 3].forEach((n, b) => {
      const rows = Int32Array.from(groups[b]!.flat());
      let from = 0;
      groups[b]!.forEach((g, j) => {
        const v = 10 * b + j + 1;
        // codes 0 among them: cache 0 (v = 12) is a value, -1 none
        const codes = [v % 4, (v + 1) % 5, j === 0 ? -1 : v % 3];
        for (const r of g) codes.forEach((x, k) => x >= 0 && byRow[k]!.set(r, x));
        CodeCol.fillTriple(filled[0], filled[1], filled[2], rows, from, from + g.length, codes[0]!, codes[1]!, codes[2]!);
        from += g.length;
      });
      filled[1].nullsOf(filled[0], n);
      want.push(byRow.map((c) => taken(c, n)));
      got.push(filled.map((c) => taken(c, n)));
    });
    // cache has null rows where op has values
    expect(want.map((x) => [x[0]!.nulls, x[2]!.nulls])).toEqual([
      [2, 4],
      [1, 2],
      [1, 1],
    ]);
    expect(got).toEqual(want);
  });
});

// Columns allocated for fewer rows than the batch and grown as rows come (`grow`, the trace
// builder's `room`) against full-size ones: the same bytes per batch, reusing or not (a grown
// array keeps its rows and holds zeros past them, as a full-size one does), and a trace builder
// whose batch outgrows its first room keeps every row's values and row template.
describe('fixed columns: grown as rows come', () => {
  const small: [string, (reuse: boolean, room: number) => Col, (c: Col, r: number, v: number) => void][] = [
    ['Uint8', (reuse, room) => new SmallCol(U8, 5, true, reuse, room), makers[0]![2]],
    ['Int32', (reuse, room) => new SmallCol(I32, 5, true, reuse, room), makers[3]![2]],
    ['Int64', (reuse, room) => new BigCol(I64, 5, true, reuse, room), makers[4]![2]],
    ['Uint64', (reuse, room) => new BigCol(U64, 5, true, reuse, room), makers[5]![2]],
    ['codes', (reuse, room) => new CodeCol(5, true, reuse, room), makers[6]![2]],
  ];
  it.each(small)('%s: the bytes of full-size arrays', (_, make, set) => {
    for (const reuse of [false, true]) {
      const col = make(reuse, 1);
      const got: ReturnType<typeof bytesOf>[] = [];
      let v = 1;
      for (const n of [3, 5, 2]) {
        for (let r = 0; r < n; r++, v++) {
          col.grow(r + 1);
          if (v % 3 !== 0) set(col, r, v);
        }
        got.push(taken(col, n));
      }
      // the same rows and batches written into full-size arrays
      const ref = make(reuse, 5);
      const exp: ReturnType<typeof bytesOf>[] = [];
      v = 1;
      for (const n of [3, 5, 2]) {
        for (let r = 0; r < n; r++, v++) if (v % 3 !== 0) set(ref, r, v);
        exp.push(taken(ref, n));
      }
      expect(got).toEqual(exp);
      expect(col.room).toBe(5);
    }
  });

  it.each(small)('%s: grown into one ColumnMemory beside other columns, the bytes of full-size arrays', (_, make, set) => {
    for (const reuse of [false, true]) {
      // three columns grown together (room 1, 2, 4, 5), each row written in all three
      const cols = [make(reuse, 1), make(reuse, 1), make(reuse, 1)];
      const refs = [make(reuse, 5), make(reuse, 5), make(reuse, 5)];
      const got: ReturnType<typeof bytesOf>[][] = [];
      const exp: ReturnType<typeof bytesOf>[][] = [];
      let v = 1;
      for (const n of [3, 5, 2]) {
        for (let r = 0; r < n; r++, v++) {
          const bytes = cols.reduce((b, c) => b + c.bytesToGrow(r + 1), 0);
          if (bytes > 0) {
            const mem = new ColumnMemory(bytes);
            for (const c of cols) c.grow(r + 1, mem);
            expect(() => mem.take(1)).toThrow(/ColumnMemory/); // every byte taken
            for (const c of cols) expect((c as unknown as { values: Uint8Array }).values.buffer).toBe(mem.buffer);
          }
          cols.forEach((c, i) => v % (i + 2) !== 0 && set(c, r, v + i));
          refs.forEach((c, i) => v % (i + 2) !== 0 && set(c, r, v + i));
        }
        got.push(cols.map((c) => taken(c, n)));
        exp.push(refs.map((c) => taken(c, n)));
      }
      expect(got).toEqual(exp);
    }
  });

  it.each(small)('%s: grown in a batch of null rows, it keeps what an earlier batch left under them', (_, make, set) => {
    const col = make(true, 1);
    const ref = make(true, 5);
    for (const c of [col, ref]) {
      c.grow(2);
      set(c, 0, 7);
      set(c, 1, 9);
    }
    expect(taken(col, 2)).toEqual(taken(ref, 2));
    col.grow(5, new ColumnMemory(col.bytesToGrow(5))); // no value in this batch yet
    expect(taken(col, 5)).toEqual(taken(ref, 5));
    // one never written grows into zeros
    const blank = make(true, 1);
    blank.grow(5, new ColumnMemory(blank.bytesToGrow(5)));
    expect(taken(blank, 5)).toEqual(taken(make(true, 5), 5));
  });

  it('a column without nulls preset per batch, written where it differs, gives the bytes of one set per row', () => {
    // batches of 5, 5 and 3 rows: most rows hold 2, every third one its own value
    const plan = [5, 5, 3];
    for (const [make, put, preset] of [
      [
        () => new SmallCol(U8, 5, false, true),
        (c: Col, r: number, v: number) => (c as SmallCol).put(r, v),
        (c: Col, v: number, n: number) => (c as SmallCol).preset(v, 0, n),
      ],
      [
        () => new CodeCol(5, false, true),
        (c: Col, r: number, v: number) => (c as CodeCol).put(r, v),
        (c: Col, v: number, n: number) => (c as CodeCol).preset(v, 0, n),
      ],
    ] as const) {
      const ref = make();
      const col = make();
      preset(col, 2, 5);
      let v = 0;
      for (const n of plan) {
        for (let r = 0; r < n; r++, v++) {
          const x = v % 3 === 0 ? 5 + (v % 4) : 2;
          (ref as SmallCol).set(r, x);
          if (x !== 2) put(col, r, x);
        }
        col.counted(n);
        expect(taken(col, n)).toEqual(taken(ref, n));
        preset(col, 2, n);
      }
    }
    expect(() => new SmallCol(U8, 5, true).counted(5)).toThrow(/nulls/);
  });

  it('a row number column written at the end, in pieces, gives the bytes of one set per row', () => {
    const ref = new SmallCol(U32, 6, false, true);
    const col = new SmallCol(U32, 6, false, true);
    let seq = 2 ** 32 - 3; // wraps as a Uint32 array stores it
    for (const n of [6, 4]) {
      for (let r = 0; r < n; r++) ref.set(r, seq + r);
      col.sequence(seq, 0, 1);
      col.sequence(seq, 1, n);
      col.counted(n);
      expect(taken(col, n)).toEqual(taken(ref, n));
      seq += n;
    }
  });

  it('builder rows of another kind, origin or inferred flag between preset rows keep their own values, batch after batch', () => {
    const header = { invtrace: 1, arch: 'vtd', queue_entries: 8, desc_bytes: 16 } as const;
    const sink = new MemorySink();
    const b = new TraceBuilder(header, sink, 4, 'qemu');
    const t = new Stamp();
    t.set(7, true, 0, 1000);
    const rows: [string, string, boolean][] = [];
    for (let i = 0; i < 11; i++) {
      if (i % 5 === 1) {
        b.doorbellAt(i % 8, 0, t);
        rows.push(['doorbell', 'qemu', false]);
      } else if (i % 5 === 3) {
        b.command(i % 8, [0x5n, 0n], { origin: 'guest', inferred: true });
        rows.push(['cmd', 'guest', true]);
      } else {
        b.commandHalves(i % 8, 0, 0, 0x2, 0, 0, t);
        rows.push(['cmd', 'qemu', false]);
      }
    }
    b.flush();
    const got: [string, string, boolean][] = [];
    const seqs: number[] = [];
    const stamps: [unknown, unknown][] = [];
    for (const batch of sink.batches) {
      for (let r = 0; r < batch.numRows; r++) {
        got.push([batch.getChild('kind')!.get(r), batch.getChild('origin')!.get(r), batch.getChild('inferred')!.get(r) === 1]);
        seqs.push(batch.getChild('seq')!.get(r));
        stamps.push([batch.getChild('ts_ns')!.get(r), batch.getChild('cpu')!.get(r)]);
      }
      for (const f of ['seq', 'kind', 'origin', 'inferred']) expect(batch.getChild(f)!.nullCount).toBe(0);
    }
    expect(got).toEqual(rows);
    // the rows written from a Stamp (doorbellAt, commandHalves) carry its time and thread; the others none
    expect(stamps).toEqual(rows.map(([, origin]) => (origin === 'qemu' ? [1000n, 7] : [null, null])));
    expect(seqs).toEqual(Array.from({ length: 11 }, (_, i) => i));
    expect(b.rows).toBe(11);
  });

  it('a builder batch that grows twice settles its rows as it grows: the rows of batches that never grow', () => {
    // 12,000 rows: in batches of 9,000 (the first grows 1,024 -> 8,192 -> 9,000, its rows settled
    // at each growth, the second does not grow) and of 1,000 (never grow: their room is the batch)
    const header = { invtrace: 1, arch: 'vtd', queue_entries: 256, desc_bytes: 16 } as const;
    const values = (batchRows: number) => {
      const sink = new MemorySink();
      const b = new TraceBuilder(header, sink, batchRows, 'qemu');
      b.inferCauses(new CauseWatch());
      const t = new Stamp();
      for (let i = 0; i < 12000; i++) {
        t.set(i % 3, true, 0, 1000 + i);
        if (i % 4 === 3) b.doorbellAt(i % 256, 1, t);
        // page-selective IOTLB invalidations of 37 pages in 5 domains (a cause each), waits between
        else if (i % 4 === 1) b.commandHalves(i % 256, 0, 0, 0x25, 0, 0x10, t);
        else b.commandHalves(i % 256, 0, 0, ((i % 5) << 16) | 0x32, 0, (i % 37) << 12, t);
      }
      b.flush();
      const cols = new Map<string, unknown[]>();
      const nulls = new Map<string, number>();
      for (const batch of sink.batches)
        for (const f of batch.schema.fields) {
          const v = batch.getChild(f.name)!;
          cols.set(f.name, [...(cols.get(f.name) ?? []), ...Array.from(v)]);
          nulls.set(f.name, (nulls.get(f.name) ?? 0) + v.nullCount);
        }
      return { cols, nulls, sizes: sink.batches.map((x) => x.numRows), halves: Object.fromEntries(b.halfRowsByOp) };
    };
    const grown = values(9000);
    const small = values(1000);
    expect(grown.sizes).toEqual([9000, 3000]);
    expect(small.sizes.length).toBe(12);
    expect(grown.halves).toEqual({ inv_wait: 3000, iotlb_inv: 6000 });
    expect(grown.halves).toEqual(small.halves);
    for (const [name, v] of small.cols) expect(grown.cols.get(name), name).toEqual(v);
    expect(grown.nulls).toEqual(small.nulls);
    expect(grown.cols.get('seq')).toEqual(Array.from({ length: 12000 }, (_, i) => i));
    expect(new Set(grown.cols.get('cause'))).toEqual(new Set([null, 'map', 'unmap']));
  });

  it('a builder batch past its first room keeps every row', () => {
    const sink = new MemorySink();
    const b = new TraceBuilder({ invtrace: 1, arch: 'vtd', queue_entries: 256, desc_bytes: 16 }, sink, 3000);
    const rows = 2500;
    for (let i = 0; i < rows; i++) {
      // IOTLB invalidations (type 2) of domain i % 7, each its own row template per domain
      const w0 = (BigInt(i % 7) << 16n) | 0x12n;
      b.command(i % 256, [w0, 0n]);
    }
    b.flush();
    expect(sink.batches.length).toBe(1);
    const batch = sink.batches[0]!;
    const did = Array.from(batch.getChild('did')!.toArray() as Uint16Array);
    expect(did).toEqual(Array.from({ length: rows }, (_, i) => i % 7));
    const op = batch.getChild('op')!;
    expect(op.nullCount).toBe(0);
    const slot = Array.from(batch.getChild('slot')!.toArray() as Uint32Array);
    expect(slot).toEqual(Array.from({ length: rows }, (_, i) => i % 256));
  });
});
