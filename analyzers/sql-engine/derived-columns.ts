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

import { DataType, Field, makeData, RecordBatch, Schema, Struct, Uint8, Uint32, type Data } from 'apache-arrow';
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

/** Where a batch's dictionary column holds `value`: its index codes, and which rows are valid. */
interface Coded {
  readonly codes: ArrayLike<number>;
  /** The code of `value`, -1 when the dictionary lacks it. */
  readonly code: number;
  readonly valid: (i: number) => boolean;
}

const always = () => true;

/** A validity test of one column's rows (its bitmap read at its offset; none: every row valid). */
function validity(d: Data): (i: number) => boolean {
  const bits = d.nullBitmap;
  if (d.nullCount === 0 || bits === undefined || bits.length === 0) return always;
  const off = d.offset;
  return (i) => ((bits[(off + i) >> 3]! >> ((off + i) & 7)) & 1) === 1;
}

/** The column `name` of a batch as codes of a string dictionary, looking for `value`; undefined: no such column. */
function coded(b: RecordBatch, name: string, value: string): Coded | undefined {
  const d = b.getChild(name)?.data[0];
  if (d === undefined || !DataType.isDictionary(d.type) || d.dictionary === undefined) return undefined;
  let code = -1;
  const dict = d.dictionary;
  for (let k = 0; k < dict.length; k++) if (dict.get(k) === value) code = k;
  return { codes: d.values as ArrayLike<number>, code, valid: validity(d) };
}

/** An integer column of a batch as numbers (values and validity); undefined: no such column. */
function ints(b: RecordBatch, name: string): { values: ArrayLike<number>; valid: (i: number) => boolean } | undefined {
  const d = b.getChild(name)?.data[0];
  if (d === undefined || !DataType.isInt(d.type) || d.type.bitWidth > 32) return undefined;
  return { values: d.values as ArrayLike<number>, valid: validity(d) };
}

/** The last doorbell of a queue: its slot and wrap (NaN: NULL). */
interface Producer {
  slot: number;
  wrap: number;
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
  private readonly producers = new Map<number, Producer>();
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
    const kind = coded(b, 'kind', CMD);
    // Codes no row has when the column or the value is missing (a row's code is never negative).
    const cmdCode = kind === undefined || kind.code < 0 ? -2 : kind.code;
    const doorbellCode = coded(b, 'kind', DOORBELL)?.code ?? -3;
    const role = coded(b, 'role', SYNC);
    const syncCode = role === undefined || role.code < 0 ? -2 : role.code;
    const invalidateCode = coded(b, 'role', INVALIDATE)?.code ?? -3;
    const cache = coded(b, 'cache', IOTLB);
    const slot = ints(b, 'slot');
    const wrap = ints(b, 'wrap');
    const queue = ints(b, 'queue');
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
    const seqs = seq?.values as ArrayLike<number | bigint> | undefined;
    for (let i = 0; i < n; i++) {
      if (seqs !== undefined) {
        const s = Number(seqs[i]);
        if (!(s > this.lastSeq)) this.ordered = false;
        this.lastSeq = s;
      }
      epoch[i] = this.syncs;
      const k = kind === undefined ? -1 : kind.codes[i]!;
      if (k === cmdCode) {
        const r = role === undefined || !role.valid(i) ? -1 : role.codes[i]!;
        if (r === syncCode) {
          since[i] = this.since;
          invalidationsSince[i] = this.invalidationsSince;
          this.syncs++;
          this.since = 0;
          this.invalidationsSince = 0;
        } else {
          this.since++;
          if (r === invalidateCode && r >= 0) this.invalidationsSince++;
          since[i] = this.since;
          invalidationsSince[i] = this.invalidationsSince;
        }
        if (cache !== undefined && cache.codes[i] === cache.code && cache.valid(i)) this.iotlbs++;
      } else {
        since[i] = this.since;
        invalidationsSince[i] = this.invalidationsSince;
      }
      if (k === doorbellCode && doorbellCode >= 0) {
        const q = queue === undefined ? 0 : queue.values[i]!;
        const last = this.producers.get(q);
        if (last !== undefined && !Number.isNaN(last.slot)) {
          prevSlot[i] = last.slot;
          slotBits[i >> 3]! |= 1 << (i & 7);
          slotNulls--;
        }
        if (last !== undefined && !Number.isNaN(last.wrap)) {
          prevWrap[i] = last.wrap;
          wrapBits[i >> 3]! |= 1 << (i & 7);
          wrapNulls--;
        }
        const now = last ?? { slot: NaN, wrap: NaN };
        now.slot = slot !== undefined && slot.valid(i) ? slot.values[i]! : NaN;
        now.wrap = wrap !== undefined && wrap.valid(i) ? wrap.values[i]! : NaN;
        this.producers.set(q, now);
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
