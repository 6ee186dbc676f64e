// The running counts the analyzer views need, computed by the loader in its one in-order pass over
// a trace and handed to DuckDB with the rows, so the views read or group by them instead of asking
// DuckDB for a window over millions of rows (a running sum under a large group-by: over 5M commands,
// 1.4 s of `_epochs`' 2 s, 0.8 s of `_fanout`'s 1.4 s, EXPLAIN ANALYZE on native DuckDB) or for a
// 1.7M-group `count(DISTINCT sid)` (`_fanout`: 0.6 s native, 1.6 s duckdb-wasm, against 0.3 s
// reading one row per IOTLB invalidation).
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
//     `cache` is `iotlb` (fanout.sql: device-TLB invalidations written before any IOTLB one, 0);
//   - `_fanout_devtlbs`, `_fanout_devices`: on an IOTLB invalidation, the device-TLB invalidations
//     (`cmd` rows whose `cache` is `atc` or `devtlb`) written after it and before the next IOTLB
//     invalidation or the trace's end, and the distinct non-NULL `sid` among them; 0 on every
//     other row (fanout.sql: one row per IOTLB invalidation without grouping millions of rows);
//   - `_prev_slot`, `_prev_wrap`: on a doorbell, the `slot` and `wrap` of the previous doorbell on
//     the same guest queue (`queue`, 0 without that column); NULL on the first one and on rows that
//     are not doorbells (doorbells.sql: the producer value before a doorbell).
// Which rows count comes from the trace's own `role` and `cache` columns, written at ingest from the
// codec tables' role of each op (formats/codec/table.ts): no list of op names here.
//
// The fan-out columns look ahead: an IOTLB invalidation's counts are known at the next one. The
// pass writes them then, and holds back the batches from the one holding the open IOTLB
// invalidation on (usually none or one: Linux writes one every few commands). It holds at most
// HOLD_ROWS rows: past that (an IOTLB invalidation followed by a million rows without another) it
// lets them go and says its counts are not to be used (`DerivePass.counted`), like a trace out of
// seq order, so memory stays bounded and that file's columns come from DuckDB windows.
//
// Who computes them: native DuckDB's Parquet copy holds them (parquet-cache.ts), duckdb-wasm gets
// them as columns of its copy (attach.ts). A file whose rows are not in seq order (the format says
// they are; a hand-made file may not be) cannot be counted in one pass: the pass says so
// (`DerivePass.counted`) and that file's relation computes the same columns with DuckDB windows
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
/** The device-side caches an IOTLB invalidation's fan-out counts (fanout.sql: SMMUv3 ATC, VT-d device-TLB). */
const DEVICE_TLBS: readonly CacheKind[] = ['atc', 'devtlb'];

/** The derived columns, in the order they follow a file's own. */
export const DERIVED_COLUMNS = [
  '_epoch',
  '_epoch_commands',
  '_epoch_invalidations',
  '_iotlb_number',
  '_fanout_devtlbs',
  '_fanout_devices',
  '_prev_slot',
  '_prev_wrap',
] as const;

/** Their Arrow fields (DuckDB: UINTEGER, but UTINYINT for `_prev_wrap`). */
export const derivedFields = (): Field[] => [
  new Field('_epoch', new Uint32(), false),
  new Field('_epoch_commands', new Uint32(), false),
  new Field('_epoch_invalidations', new Uint32(), false),
  new Field('_iotlb_number', new Uint32(), false),
  new Field('_fanout_devtlbs', new Uint32(), false),
  new Field('_fanout_devices', new Uint32(), false),
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
  const iotlb = `(kind = '${CMD}' AND coalesce(cache = '${IOTLB}', false))`;
  const devtlb = `kind = '${CMD}' AND cache IN (${DEVICE_TLBS.map((c) => `'${c}'`).join(', ')})`;
  const doorbell = `kind = '${DOORBELL}'`;
  const queue = schema.fields.some((f) => f.name === 'queue') ? ', queue' : '';
  // The running counts first; the epoch and fan-out ones then count within those partitions.
  const running =
    `(SELECT *, (sum(${sync}) OVER running - ${sync})::UINTEGER AS _epoch, ` +
    `(sum(${iotlb}::INTEGER) OVER running)::UINTEGER AS _iotlb_number ` +
    `FROM ${from} WINDOW running AS (ORDER BY seq ROWS UNBOUNDED PRECEDING))`;
  return (
    `SELECT *, (sum(${other}) OVER epoch)::UINTEGER AS _epoch_commands, ` +
    `(sum(${invalidation}) OVER epoch)::UINTEGER AS _epoch_invalidations, ` +
    `CASE WHEN ${iotlb} THEN count(*) FILTER (WHERE ${devtlb}) OVER fanout ELSE 0 END::UINTEGER AS _fanout_devtlbs, ` +
    `CASE WHEN ${iotlb} THEN count(DISTINCT sid) FILTER (WHERE ${devtlb}) OVER fanout ELSE 0 END::UINTEGER AS _fanout_devices, ` +
    `CASE WHEN ${doorbell} THEN lag(slot) OVER doorbells END::UINTEGER AS _prev_slot, ` +
    `CASE WHEN ${doorbell} THEN lag(wrap) OVER doorbells END::UTINYINT AS _prev_wrap ` +
    `FROM ${running} WINDOW epoch AS (PARTITION BY _epoch ORDER BY seq ROWS UNBOUNDED PRECEDING), ` +
    `fanout AS (PARTITION BY _iotlb_number), ` +
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

/** Rows a pass holds back at most, waiting for an IOTLB invalidation's fan-out (see the header). */
export const HOLD_ROWS = 1 << 20;

/** Where the open IOTLB invalidation's fan-out counts go: its batch's arrays and its row. */
interface OpenIotlb {
  readonly batch: number;
  readonly devtlbs: Uint32Array;
  readonly devices: Uint32Array;
  readonly row: number;
}

/**
 * One in-order pass over a file's batches, adding the derived columns to each (explicit state: the
 * counts so far, each queue's last doorbell, the open IOTLB invalidation, the last seq). A pass is
 * used once.
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
  /** The last IOTLB invalidation (its counts not written yet), and the device-TLB ones after it. */
  private open: OpenIotlb | undefined;
  private devtlbs = 0;
  private readonly sids = new Set<number>();
  /** Batches derived so far; those from the open IOTLB invalidation's on are held back. */
  private derived = 0;
  private readonly held: { readonly batch: number; readonly out: RecordBatch }[] = [];
  private heldRows = 0;
  /** True once more than `holdRows` rows waited for one fan-out: they were let go before it was known. */
  private overflowed = false;
  private schemaIn: Schema | undefined;
  private schemaOut: Schema | undefined;
  /** False once a row's seq is not above the row before it: the counts are not in seq order. */
  ordered = true;

  constructor(private readonly holdRows = HOLD_ROWS) {}

  /** Whether every batch the pass gave out holds the right counts (read after the last one). */
  get counted(): boolean {
    return this.ordered && !this.overflowed;
  }

  async *batches(input: AsyncIterable<RecordBatch>): AsyncGenerator<RecordBatch> {
    for await (const b of input) {
      const out = this.derive(b);
      this.derived++;
      if (this.overflowed) {
        yield out;
        continue;
      }
      this.held.push({ batch: this.derived - 1, out });
      this.heldRows += out.numRows;
      while (this.held.length > 0 && (this.open === undefined || this.held[0]!.batch < this.open.batch)) yield this.release();
      if (this.heldRows > this.holdRows) {
        this.overflowed = true;
        while (this.held.length > 0) yield this.release();
      }
    }
    this.closeFanout();
    while (this.held.length > 0) yield this.release();
  }

  private release(): RecordBatch {
    const { out } = this.held.shift()!;
    this.heldRows -= out.numRows;
    return out;
  }

  /** Writes the open IOTLB invalidation's fan-out counts: its group ends here. */
  private closeFanout(): void {
    if (this.open !== undefined) {
      this.open.devtlbs[this.open.row] = this.devtlbs;
      this.open.devices[this.open.row] = this.sids.size;
    }
    this.open = undefined;
    this.devtlbs = 0;
    this.sids.clear();
  }

  private derive(b: RecordBatch): RecordBatch {
    const n = b.numRows;
    const seq = b.getChild('seq')?.data[0];
    const seqs = seq !== undefined && DataType.isInt(seq.type) && seq.type.bitWidth <= 32 ? (seq.values as ArrayLike<number>) : undefined;
    const kind = column(b, 'kind', [CMD, DOORBELL]);
    const role = column(b, 'role', [SYNC, INVALIDATE]);
    const cache = column(b, 'cache', [IOTLB, ...DEVICE_TLBS]);
    // Codes no row has when a column or value is missing (a row's code is -1 for NULL, else >= 0).
    const code = (c: Column | undefined, k: number) => (c === undefined || c.codes[k]! < 0 ? -2 : c.codes[k]!);
    const cmdCode = code(kind, 0);
    const doorbellCode = code(kind, 1);
    const syncCode = code(role, 0);
    const invalidateCode = code(role, 1);
    const iotlbCode = code(cache, 0);
    const devtlbCodes = DEVICE_TLBS.map((_, k) => code(cache, 1 + k));
    const slot = column(b, 'slot');
    const wrap = column(b, 'wrap');
    const queue = column(b, 'queue');
    const sid = column(b, 'sid');
    const epoch = new Uint32Array(n);
    const since = new Uint32Array(n);
    const invalidationsSince = new Uint32Array(n);
    const iotlb = new Uint32Array(n);
    const fanoutDevtlbs = new Uint32Array(n);
    const fanoutDevices = new Uint32Array(n);
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
        const c = cache === undefined ? -1 : at(cache, i);
        if (c === iotlbCode) {
          this.iotlbs++;
          this.closeFanout();
          this.open = { batch: this.derived, devtlbs: fanoutDevtlbs, devices: fanoutDevices, row: i };
        } else if (c >= 0 && devtlbCodes.includes(c)) {
          this.devtlbs++;
          const d = sid === undefined ? -1 : at(sid, i);
          if (d >= 0) this.sids.add(d);
        }
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
    const uint32 = (f: number, data: Uint32Array) => makeData({ type: fields[f]!.type as Uint32, length: n, nullCount: 0, data });
    const extra = [
      uint32(0, epoch),
      uint32(1, since),
      uint32(2, invalidationsSince),
      uint32(3, iotlb),
      uint32(4, fanoutDevtlbs),
      uint32(5, fanoutDevices),
      makeData({ type: fields[6]!.type as Uint32, length: n, nullCount: slotNulls, nullBitmap: slotBits, data: prevSlot }),
      makeData({ type: fields[7]!.type as Uint8, length: n, nullCount: wrapNulls, nullBitmap: wrapBits, data: prevWrap }),
    ];
    const schema = this.schemaOut!;
    return new RecordBatch(
      schema,
      makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: [...b.data.children, ...extra] }),
    );
  }
}
