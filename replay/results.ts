// The replay's result tables (Arrow files in the output folder, one fact per table, stable
// column names; documented in docs/results.md):
//   host_ops     host and VMM work per policy, doorbell and kind of op
//   completions  one row per guest completion point and policy, with its modelled latency
//   violations   one row per oracle finding
//   summary      one row per policy: counts, modelled time, latency percentiles, verdict
// Rows stream into batches; files are written atomically. A table whose sink writes each batch
// out before it returns (ResultFile: ArrowFileSink drains Arrow's writer and writes every chunk
// synchronously) builds every batch in the same column arrays (columns.ts `reuse`).

import { Field, Float64, Int32, RecordBatch, Schema, Struct, Uint8, Uint32, Uint64, Utf8, makeData, type DataType } from 'apache-arrow';
import { join } from 'node:path';
import { DictCol, FixedDictionary, StrCol, f64, i32, u8, u32, u64, type NumCol } from '../formats/arrow/columns.js';
import { ArrowFileSink } from '../formats/arrow/file-sink.js';

export type ColType = 'u8' | 'u32' | 'i32' | 'u64' | 'f64' | 'str' | 'dict';

export interface ColSpec {
  readonly name: string;
  readonly type: ColType;
  /** Values of a 'dict' column. */
  readonly values?: readonly string[];
  readonly doc: string;
}

/** A cell; null is allowed in numeric columns. */
type Cell = number | bigint | string | boolean | null;

type AnyCol = { length: number; finish(): unknown; push(v: never): void };

/** Builds one result table; batches go to `sink`. */
export class ResultTable {
  readonly schema: Schema;
  private readonly cols: AnyCol[];
  private rows = 0;

  constructor(
    readonly name: string,
    readonly spec: readonly ColSpec[],
    private readonly sink: (b: RecordBatch) => void,
    private readonly batchRows = 1 << 15,
    /** The sink is done with a batch's buffers when it returns: the columns reuse their arrays. */
    reuse = false,
  ) {
    let dictId = 100;
    this.cols = spec.map((c) => {
      switch (c.type) {
        case 'u8':
          return u8(undefined, reuse);
        case 'u32':
          return u32(undefined, reuse);
        case 'i32':
          return i32(undefined, reuse);
        case 'u64':
          return u64(undefined, reuse);
        case 'f64':
          return f64(undefined, reuse);
        case 'str':
          return new StrCol();
        case 'dict':
          return new DictCol(new FixedDictionary(dictId++, c.values ?? []), undefined, reuse);
      }
    });
    const fields = spec.map((c, i) => new Field(c.name, typeOf(c, this.cols[i]!), c.type !== 'str' && c.type !== 'dict'));
    this.schema = new Schema(fields, new Map([['invtrace.table', name]]));
  }

  push(row: readonly Cell[]): void {
    for (let i = 0; i < this.cols.length; i++) {
      const v = row[i];
      const col = this.cols[i] as unknown as { push(x: unknown): void; pushNull?(): void };
      if (v === null || v === undefined) {
        if (col.pushNull === undefined) throw new Error(`${this.name}.${this.spec[i]!.name}: null in a string column`);
        col.pushNull();
      } else col.push(typeof v === 'boolean' ? (v ? 1 : 0) : v);
    }
    if (++this.rows % this.batchRows === 0) this.flush();
  }

  /**
   * The columns, for a writer that pushes a row's cells itself (`pushCode` into a dict column,
   * `push`/`pushNull`/`pushU64` into a numeric one (NumCol), in the spec's order), then calls
   * `endRow`; the caller casts them to the spec's column classes.
   */
  get columns(): readonly unknown[] {
    return this.cols;
  }

  /** Ends a row pushed cell by cell into `columns`. */
  endRow(): void {
    if (++this.rows % this.batchRows === 0) this.flush();
  }

  /** Rows the current batch takes before it is written (a run appended to `columns` fits in it). */
  get room(): number {
    return this.batchRows - (this.rows % this.batchRows);
  }

  /** Ends `n` rows (at most `room`) appended column by column into `columns`. */
  endRows(n: number): void {
    if (n > this.room) throw new RangeError(`${this.name}: ${n} rows past the batch's end`);
    this.rows += n;
    if (this.rows % this.batchRows === 0) this.flush();
  }

  flush(): void {
    const length = this.cols[0]!.length;
    if (length === 0) return;
    const children = this.cols.map((c) => c.finish());
    this.sink(
      new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children: children as never })),
    );
  }

  get count(): number {
    return this.rows;
  }
}

/** A host_ops row's cells (tables.ts hostOpsSpec): policy, seq, kind, iommu, count, entries, bytes, cost_us. */
export type HostOpsRowWriter = (
  policy: string,
  seq: number,
  kind: string,
  iommu: number,
  count: number,
  entries: number,
  bytes: number,
  cost: number,
) => void;

/**
 * Pushes host_ops rows cell by cell into `t`'s columns (the bytes of `t.push` with the row, bytes
 * as a BigInt): no row array, no BigInt per row, no per-cell dispatch on the value's type.
 */
export function hostOpsRowWriter(t: ResultTable): HostOpsRowWriter {
  const [p, s, k, i, c, e, b, u] = t.columns as [DictCol, U32, DictCol, NumCol<Int32>, U32, U32, NumCol<Uint64>, NumCol<Float64>];
  return (policy, seq, kind, iommu, count, entries, bytes, cost) => {
    p.push(policy);
    s.push(seq);
    k.push(kind);
    i.push(iommu);
    c.push(count);
    e.push(entries);
    b.pushU64(bytes);
    u.push(cost);
    t.endRow();
  };
}
type U32 = NumCol<Uint32>;

function typeOf(c: ColSpec, col: AnyCol): DataType {
  switch (c.type) {
    case 'u8':
      return new Uint8();
    case 'u32':
      return new Uint32();
    case 'i32':
      return new Int32();
    case 'u64':
      return new Uint64();
    case 'f64':
      return new Float64();
    case 'str':
      return new Utf8();
    case 'dict':
      return (col as unknown as DictCol).dict.type;
  }
}

/** Writes a result table's batches to `path` atomically (an empty table still has its schema). */
export class ResultFile {
  private readonly out: ArrowFileSink;

  constructor(path: string) {
    this.out = new ArrowFileSink(path);
  }

  write = (b: RecordBatch): void => this.out.write(b);

  close(table: ResultTable): void {
    table.flush();
    this.out.commit(table.schema);
  }

  abort(): void {
    this.out.abort();
  }
}

/** The four result tables of a replay folder, each streamed to its file batch by batch. */
export class ReplayTables {
  readonly hostOps: ResultTable;
  readonly completions: ResultTable;
  readonly violations: ResultTable;
  readonly summary: ResultTable;
  private readonly files: [ResultFile, ResultTable][] = [];

  constructor(dir: string, specs: Readonly<Record<'host_ops' | 'completions' | 'violations' | 'summary', readonly ColSpec[]>>) {
    const mk = (name: keyof typeof specs) => {
      const f = new ResultFile(join(dir, `${name}.arrow`));
      const t = new ResultTable(name, specs[name], f.write, undefined, true);
      this.files.push([f, t]);
      return t;
    };
    this.hostOps = mk('host_ops');
    this.completions = mk('completions');
    this.violations = mk('violations');
    this.summary = mk('summary');
  }

  /** Writes the last batches and publishes every file. */
  close(): void {
    for (const [f, t] of this.files.splice(0)) f.close(t);
  }

  /** Drops the files not yet published. */
  abort(): void {
    for (const [f] of this.files.splice(0)) f.abort();
  }
}
