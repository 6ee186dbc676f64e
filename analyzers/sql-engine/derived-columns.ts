// The running counts the analyzer views need, computed by the loader in its one in-order pass over
// a trace and handed to DuckDB with the rows, so the views group by them instead of asking DuckDB
// for a window over millions of rows (a running sum under a large group-by: over 5M commands, 1.4 s
// of `_epochs`' 2 s, 0.8 s of `_fanout`'s 1.4 s, EXPLAIN ANALYZE on native DuckDB).
//
// They are columns of the internal `_trace` only (analyzers/session.ts), never of `trace` or of a
// file's own relation. On a row in seq order (docs/trace-format.md: `seq` is the row index):
//   - `_epoch`: completion points written before the row: `cmd` rows whose `role` is `sync`
//     (epochs.sql: a command's epoch);
//   - `_epoch_commands`, `_epoch_invalidations`: `cmd` rows that are not completion points written
//     since the last completion point, up to the row, and of them those whose `role` is
//     `invalidate`: on a completion point, what its epoch holds (epochs.sql: one row per epoch
//     without grouping millions of commands);
//   - `_iotlb_number`: IOTLB invalidations written up to the row, itself included: `cmd` rows whose
//     `cache` is `iotlb` (fanout.sql: the IOTLB invalidation a device-TLB one belongs to);
//   - `_prev_slot`, `_prev_wrap`: on a doorbell, the `slot` and `wrap` of the previous doorbell on
//     the same guest queue (`queue`, 0 without that column); NULL on the first one and on rows that
//     are not doorbells (doorbells.sql: the producer value before a doorbell).
// Which rows count comes from the trace's own `role` and `cache` columns, written at ingest from the
// codec tables' role of each op (formats/codec/table.ts): no list of op names here.
//
// Who computes them: native DuckDB's Parquet copy holds them (parquet-cache.ts), duckdb-wasm gets
// them as columns of its copy (attach.ts). A file whose rows are not in seq order (the format says
// they are; a hand-made file may not be) cannot be counted in one pass: the pass says so
// (`DerivePass.ordered`) and that file's relation computes the same columns with DuckDB windows
// instead (`derivedWindowSql`, which is also how the bench's peer, plain DuckDB over a Parquet
// export, computes them).

import { DataType, Field, makeData, RecordBatch, Schema, Struct, Uint8, Uint32 } from 'apache-arrow';
import type { CacheKind, Role } from '../../formats/scope.js';
import type { EventKind } from '../../formats/trace/schema.js';

const CMD: EventKind = 'cmd';
const DOORBELL: EventKind = 'doorbell';
const SYNC: Role = 'sync';
const INVALIDATE: Role = 'invalidate';
const IOTLB: CacheKind = 'iotlb';

/** The derived columns, in the order they follow a file's own. */
export const DERIVED_COLUMNS = ['_epoch', '_epoch_commands', '_epoch_invalidations', '_iotlb_number', '_prev_slot', '_prev_wrap'] as const;

/** Their Arrow fields (DuckDB: UINTEGER, but UTINYINT for `_prev_wrap`). */
export const derivedFields = (): Field[] => [
  new Field('_epoch', new Uint32(), false),
  new Field('_epoch_commands', new Uint32(), false),
  new Field('_epoch_invalidations', new Uint32(), false),
  new Field('_iotlb_number', new Uint32(), false),
  new Field('_prev_slot', new Uint32(), true),
  new Field('_prev_wrap', new Uint8(), true),
];

/** A file's schema with the derived columns after its own. */
export function withDerivedFields(schema: Schema): Schema {
  return new Schema([...schema.fields, ...derivedFields()], schema.metadata);
}

/**
 * The same columns computed by DuckDB over one file's rows (`from`, a relation holding its own
 * columns): `SELECT *, <the derived columns> FROM from`, for a file not in seq order and for the
 * bench's peer. Windows in seq order, as the pass counts in file order.
 */
export function derivedWindowSql(from: string, schema: Schema): string {
  const sync = `(kind = '${CMD}' AND coalesce(role = '${SYNC}', false))::INTEGER`;
  const other = `(kind = '${CMD}' AND NOT coalesce(role = '${SYNC}', false))::INTEGER`;
  const invalidation = `(kind = '${CMD}' AND coalesce(role = '${INVALIDATE}', false))::INTEGER`;
  const iotlb = `(kind = '${CMD}' AND coalesce(cache = '${IOTLB}', false))::INTEGER`;
  const doorbell = `kind = '${DOORBELL}'`;
  const queue = schema.fields.some((f) => f.name === 'queue') ? ', queue' : '';
  const epochs = `(SELECT *, (sum(${sync}) OVER running - ${sync})::UINTEGER AS _epoch FROM ${from} WINDOW running AS (ORDER BY seq ROWS UNBOUNDED PRECEDING))`;
  return (
    `SELECT *, (sum(${other}) OVER epoch)::UINTEGER AS _epoch_commands, ` +
    `(sum(${invalidation}) OVER epoch)::UINTEGER AS _epoch_invalidations, ` +
    `(sum(${iotlb}) OVER running)::UINTEGER AS _iotlb_number, ` +
    `CASE WHEN ${doorbell} THEN lag(slot) OVER doorbells END::UINTEGER AS _prev_slot, ` +
    `CASE WHEN ${doorbell} THEN lag(wrap) OVER doorbells END::UTINYINT AS _prev_wrap ` +
    `FROM ${epochs} WINDOW running AS (ORDER BY seq ROWS UNBOUNDED PRECEDING), ` +
    `epoch AS (PARTITION BY _epoch ORDER BY seq ROWS UNBOUNDED PRECEDING), ` +
    `doorbells AS (PARTITION BY ${doorbell}${queue} ORDER BY seq)`
  );
}

/** A batch's column: its values (dictionary codes for a string column) and validity bits (none: all valid). */
interface Column {
  readonly values: ArrayLike<number>;
  readonly bits: Uint8Array | undefined;
  readonly offset: number;
  /** A string column: its dictionary's code for each value looked for (-1: absent). */
  readonly codes: readonly number[];
}

/**
 * The column `name` of a batch: a string dictionary (codes of `values` found) or an integer column
 * of at most 32 bits; undefined when the batch has no such column.
 */
function column(b: RecordBatch, name: string, values: readonly string[] = []): Column | undefined {
  const d = b.getChild(name)?.data[0];
  if (d === undefined) return undefined;
  const dict = DataType.isDictionary(d.type) ? d.dictionary : undefined;
  if (values.length > 0 ? dict === undefined : !DataType.isInt(d.type) || d.type.bitWidth > 32) return undefined;
  const codes = values.map((v) => {
    for (let k = 0; k < dict!.length; k++) if (dict!.get(k) === v) return k;
    return -1;
  });
  // Arrow types nullBitmap as always there, but a column read without a validity buffer has none
  // (apache-arrow's own Data checks it the same way), or an empty one.
  const bitmap = d.nullBitmap as Uint8Array | undefined;
  const bits = d.nullCount > 0 && bitmap !== undefined && bitmap.length > 0 ? bitmap : undefined;
  return { values: d.values as ArrayLike<number>, bits, offset: d.offset, codes };
}

/** Row i's value of a column, -1 where it is NULL (dictionary codes and the integers here are never negative). */
function at(c: Column, i: number): number {
  const j = c.offset + i;
  return c.bits === undefined || ((c.bits[j >> 3]! >> (j & 7)) & 1) === 1 ? c.values[i]! : -1;
}

/**
 * One in-order pass over a file's batches, adding the derived columns to each (explicit state: the
 * counts so far, each queue's last doorbell, the last seq). A pass is used once.
 */
export class DerivePass {
  private syncs = 0;
  /** Commands since the last completion point, and invalidations among them. */
  private since = 0;
  private invalidationsSince = 0;
  private iotlbs = 0;
  private lastSeq = -1;
  /** Each queue's last doorbell: slot and wrap (-1: NULL), and whether there was one. */
  private readonly lastSlot: number[] = [];
  private readonly lastWrap: number[] = [];
  private schemaIn: Schema | undefined;
  private schemaOut: Schema | undefined;
  /** False once a row's seq is not above the row before it: the counts are not in seq order. */
  ordered = true;

  async *batches(input: AsyncIterable<RecordBatch>): AsyncGenerator<RecordBatch> {
    for await (const b of input) yield this.derive(b);
  }

  derive(b: RecordBatch): RecordBatch {
    const n = b.numRows;
    const seq = b.getChild('seq')?.data[0];
    const seqs = seq !== undefined && DataType.isInt(seq.type) && seq.type.bitWidth <= 32 ? (seq.values as ArrayLike<number>) : undefined;
    const kind = column(b, 'kind', [CMD, DOORBELL]);
    const role = column(b, 'role', [SYNC, INVALIDATE]);
    const cache = column(b, 'cache', [IOTLB]);
    // Codes no row has when a column or value is missing (a row's code is -1 for NULL, else >= 0).
    const cmdCode = kind === undefined || kind.codes[0]! < 0 ? -2 : kind.codes[0]!;
    const doorbellCode = kind === undefined || kind.codes[1]! < 0 ? -2 : kind.codes[1]!;
    const syncCode = role === undefined || role.codes[0]! < 0 ? -2 : role.codes[0]!;
    const invalidateCode = role === undefined || role.codes[1]! < 0 ? -2 : role.codes[1]!;
    const iotlbCode = cache === undefined || cache.codes[0]! < 0 ? -2 : cache.codes[0]!;
    const slot = column(b, 'slot');
    const wrap = column(b, 'wrap');
    const queue = column(b, 'queue');
    const epoch = new Uint32Array(n);
    const since = new Uint32Array(n);
    const invalidationsSince = new Uint32Array(n);
    const iotlb = new Uint32Array(n);
    const prevSlot = new Uint32Array(n);
    const prevWrap = new Uint8Array(n);
    const slotBits = new Uint8Array((n + 7) >> 3);
    const wrapBits = new Uint8Array((n + 7) >> 3);
    let slotNulls = n;
    let wrapNulls = n;
    for (let i = 0; i < n; i++) {
      if (seqs !== undefined) {
        const s = seqs[i]!;
        if (!(s > this.lastSeq)) this.ordered = false;
        this.lastSeq = s;
      }
      epoch[i] = this.syncs;
      const k = kind === undefined ? -1 : kind.values[i]!;
      if (k === cmdCode) {
        const r = role === undefined ? -1 : at(role, i);
        if (r === syncCode) {
          since[i] = this.since;
          invalidationsSince[i] = this.invalidationsSince;
          this.syncs++;
          this.since = 0;
          this.invalidationsSince = 0;
        } else {
          this.since++;
          if (r === invalidateCode) this.invalidationsSince++;
          since[i] = this.since;
          invalidationsSince[i] = this.invalidationsSince;
        }
        if (cache !== undefined && at(cache, i) === iotlbCode) this.iotlbs++;
      } else {
        since[i] = this.since;
        invalidationsSince[i] = this.invalidationsSince;
        if (k === doorbellCode) {
          const q = queue === undefined ? 0 : queue.values[i]!;
          const ps = this.lastSlot[q];
          const pw = this.lastWrap[q];
          if (ps !== undefined && ps >= 0) {
            prevSlot[i] = ps;
            slotBits[i >> 3]! |= 1 << (i & 7);
            slotNulls--;
          }
          if (pw !== undefined && pw >= 0) {
            prevWrap[i] = pw;
            wrapBits[i >> 3]! |= 1 << (i & 7);
            wrapNulls--;
          }
          this.lastSlot[q] = slot === undefined ? -1 : at(slot, i);
          this.lastWrap[q] = wrap === undefined ? -1 : at(wrap, i);
        }
      }
      iotlb[i] = this.iotlbs;
    }
    if (b.schema !== this.schemaIn) {
      this.schemaIn = b.schema;
      this.schemaOut = withDerivedFields(b.schema);
    }
    const fields = derivedFields();
    const extra = [
      makeData({ type: fields[0]!.type as Uint32, length: n, nullCount: 0, data: epoch }),
      makeData({ type: fields[1]!.type as Uint32, length: n, nullCount: 0, data: since }),
      makeData({ type: fields[2]!.type as Uint32, length: n, nullCount: 0, data: invalidationsSince }),
      makeData({ type: fields[3]!.type as Uint32, length: n, nullCount: 0, data: iotlb }),
      makeData({ type: fields[4]!.type as Uint32, length: n, nullCount: slotNulls, nullBitmap: slotBits, data: prevSlot }),
      makeData({ type: fields[5]!.type as Uint8, length: n, nullCount: wrapNulls, nullBitmap: wrapBits, data: prevWrap }),
    ];
    const schema = this.schemaOut!;
    return new RecordBatch(
      schema,
      makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: [...b.data.children, ...extra] }),
    );
  }
}
