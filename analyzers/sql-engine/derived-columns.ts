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
//   - `_prev_prod`, `_entries`: on a doorbell on one of the header's guest queues (`queue`, 0
//     without that column; docs/trace-format.md "Several guest queues"), the producer index before
//     it (the previous doorbell's `slot` on that queue, or the queue's `start` when there is none
//     or it was NULL) and the entries it published (the ring distance from the previous producer
//     value to its own, counted on 2 x `queue_entries` positions: index and wrap bit, the previous
//     wrap bit 0 when unknown; NULL when its `slot` or `wrap` is NULL); NULL on every other row
//     (doorbells.sql: one row per doorbell without a window or a join on the queues);
//   - `_lap_doorbells`, `_lap_entries`: on a doorbell that wrapped (its entries pass the end of
//     the ring: `_prev_prod + _entries >= queue_entries`), the doorbells whose entries are known
//     since the trace's previous wrap (this one included: so at least 1, which is how a view tells
//     a wrap) and the entries they published; 0 on every other row (wraps.sql: one row per wrap
//     without joining every doorbell to the wrap after it).
// The queue geometry (`queue_entries`, `start`) is the trace header's own (formats/trace/queues.ts),
// the same the `queues` relation holds.
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

import { DataType, Field, Int32, makeData, RecordBatch, Schema, Struct, Uint32 } from 'apache-arrow';
import type { CacheKind, Role } from '../../formats/scope.js';
import type { TraceHeader } from '../../formats/trace/header.js';
import { queueHeaders } from '../../formats/trace/queues.js';
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
  '_prev_prod',
  '_entries',
  '_lap_doorbells',
  '_lap_entries',
] as const;

/** A guest queue's geometry as the doorbell columns need it: its size in slots and start slot. */
export interface QueueGeometry {
  readonly entries: number;
  readonly start: number;
}

/** Each guest queue's geometry from a trace header, in queue id order (the `queues` relation's). */
export const queueGeometry = (h: TraceHeader | undefined): QueueGeometry[] =>
  h === undefined ? [] : queueHeaders(h).map((q) => ({ entries: q.queue_entries, start: q.start ?? 0 }));

/** Their Arrow fields (DuckDB: UINTEGER, but INTEGER for `_entries`). */
export const derivedFields = (): Field[] => [
  new Field('_epoch', new Uint32(), false),
  new Field('_epoch_commands', new Uint32(), false),
  new Field('_epoch_invalidations', new Uint32(), false),
  new Field('_iotlb_number', new Uint32(), false),
  new Field('_fanout_devtlbs', new Uint32(), false),
  new Field('_fanout_devices', new Uint32(), false),
  new Field('_prev_prod', new Uint32(), true),
  new Field('_entries', new Int32(), true),
  new Field('_lap_doorbells', new Uint32(), false),
  new Field('_lap_entries', new Uint32(), false),
];

/** A file's schema with the derived columns after its own. */
export function withDerivedFields(schema: Schema): Schema {
  return new Schema([...schema.fields, ...derivedFields()], schema.metadata);
}

/**
 * The same columns computed by DuckDB over one file's rows (`from`, a relation holding its own
 * columns; `queues`, its header's geometry): `SELECT *, <the derived columns> FROM from`, for a file
 * not in seq order and for the bench's peer. Windows in seq order, as the pass counts in file order.
 */
export function derivedWindowSql(from: string, schema: Schema, queues: readonly QueueGeometry[]): string {
  const sync = `(kind = '${CMD}' AND coalesce(role = '${SYNC}', false))::INTEGER`;
  const other = `(kind = '${CMD}' AND NOT coalesce(role = '${SYNC}', false))::INTEGER`;
  const invalidation = `(kind = '${CMD}' AND coalesce(role = '${INVALIDATE}', false))::INTEGER`;
  const iotlb = `(kind = '${CMD}' AND coalesce(cache = '${IOTLB}', false))`;
  const devtlb = `kind = '${CMD}' AND cache IN (${DEVICE_TLBS.map((c) => `'${c}'`).join(', ')})`;
  const doorbell = `kind = '${DOORBELL}'`;
  const hasQueue = schema.fields.some((f) => f.name === 'queue');
  const queue = hasQueue ? ', queue' : '';
  // A doorbell's queue geometry (NULL on a queue the header lacks, as the join on `queues` drops it).
  const geometry = (pick: (q: QueueGeometry) => number) =>
    queues.length === 0
      ? 'NULL::BIGINT'
      : `CASE ${hasQueue ? 'queue' : '0'} ${queues.map((q, k) => `WHEN ${k} THEN ${pick(q)}`).join(' ')} END::BIGINT`;
  const running = 'ROWS UNBOUNDED PRECEDING';
  // The running counts and each doorbell's previous one on its queue first; then the producer
  // value before it, its entries and whether it wrapped; then the wraps so far; the epoch, fan-out
  // and lap counts then count within those partitions.
  const counts =
    `SELECT *, (sum(${sync}) OVER running - ${sync})::UINTEGER AS _epoch, ` +
    `(sum(${iotlb}::INTEGER) OVER running)::UINTEGER AS _iotlb_number, ` +
    `CASE WHEN ${doorbell} THEN lag(slot) OVER doorbells END AS _d_slot, ` +
    `CASE WHEN ${doorbell} THEN lag(wrap) OVER doorbells END AS _d_wrap, ` +
    `${geometry((q) => q.entries)} AS _d_entries, ${geometry((q) => q.start)} AS _d_start ` +
    `FROM ${from} WINDOW running AS (ORDER BY seq ${running}), doorbells AS (PARTITION BY ${doorbell}${queue} ORDER BY seq)`;
  const prev = `SELECT *, CASE WHEN ${doorbell} AND _d_entries IS NOT NULL THEN coalesce(_d_slot::BIGINT, _d_start) END AS _d_prev FROM (${counts})`;
  const entries =
    `SELECT *, (wrap::BIGINT * _d_entries + slot::BIGINT - (coalesce(_d_wrap, 0)::BIGINT * _d_entries + _d_prev) + 2 * _d_entries) ` +
    `% (2 * _d_entries) AS _d_published FROM (${prev})`;
  const wrapped = `SELECT *, _d_prev + _d_published >= _d_entries AS _d_wrapped FROM (${entries})`;
  const wraps =
    `SELECT *, (sum(coalesce(_d_wrapped, false)::INTEGER) OVER (ORDER BY seq ${running})) AS _d_wraps, ` +
    `coalesce(_d_wrapped, false) AS _d_wrap_here FROM (${wrapped})`;
  const helpers = [
    '_d_slot',
    '_d_wrap',
    '_d_entries',
    '_d_start',
    '_d_prev',
    '_d_published',
    '_d_wrapped',
    '_d_wraps',
    '_d_wrap_here',
    '_d_lap',
  ];
  return (
    `SELECT * EXCLUDE (${helpers.join(', ')}), ` +
    `(sum(${other}) OVER epoch)::UINTEGER AS _epoch_commands, ` +
    `(sum(${invalidation}) OVER epoch)::UINTEGER AS _epoch_invalidations, ` +
    `CASE WHEN ${iotlb} THEN count(*) FILTER (WHERE ${devtlb}) OVER fanout ELSE 0 END::UINTEGER AS _fanout_devtlbs, ` +
    `CASE WHEN ${iotlb} THEN count(DISTINCT sid) FILTER (WHERE ${devtlb}) OVER fanout ELSE 0 END::UINTEGER AS _fanout_devices, ` +
    `_d_prev::UINTEGER AS _prev_prod, _d_published::INTEGER AS _entries, ` +
    `CASE WHEN _d_wrap_here THEN count(*) FILTER (WHERE _d_wrapped IS NOT NULL) OVER lap ELSE 0 END::UINTEGER AS _lap_doorbells, ` +
    `CASE WHEN _d_wrap_here THEN sum(_d_published) FILTER (WHERE _d_wrapped IS NOT NULL) OVER lap ELSE 0 END::UINTEGER AS _lap_entries ` +
    // A lap: the rows after one wrap up to the next, that wrap included (the wraps before a row, less its own).
    `FROM (SELECT *, _d_wraps - _d_wrap_here::INTEGER AS _d_lap FROM (${wraps})) ` +
    `WINDOW epoch AS (PARTITION BY _epoch ORDER BY seq ${running}), fanout AS (PARTITION BY _iotlb_number), lap AS (PARTITION BY _d_lap)`
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
  /** Each queue's last doorbell: slot and wrap (-1: NULL; undefined: none yet). */
  private readonly lastSlot: number[] = [];
  private readonly lastWrap: number[] = [];
  /** The doorbells with known entries since the last wrap, and their entries. */
  private lapDoorbells = 0;
  private lapEntries = 0;
  /** True once a value does not fit its column (an entries count past 32 bits): the columns are not to be used. */
  private unfit = false;
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

  /** `queues`: the trace's guest queues (queueGeometry of its header). */
  constructor(
    private readonly queues: readonly QueueGeometry[],
    private readonly holdRows = HOLD_ROWS,
  ) {}

  /** Whether every batch the pass gave out holds the right counts (read after the last one). */
  get counted(): boolean {
    return this.ordered && !this.overflowed && !this.unfit;
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
    const prevProd = new Uint32Array(n);
    const published = new Int32Array(n);
    const lapDoorbells = new Uint32Array(n);
    const lapEntries = new Uint32Array(n);
    const prevBits = new Uint8Array((n + 7) >> 3);
    const publishedBits = new Uint8Array((n + 7) >> 3);
    let prevNulls = n;
    let publishedNulls = n;
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
          const q = queue === undefined ? 0 : at(queue, i);
          const g = q >= 0 ? this.queues[q] : undefined;
          const ps = this.lastSlot[q];
          const pw = this.lastWrap[q];
          const s = slot === undefined ? -1 : at(slot, i);
          const w = wrap === undefined ? -1 : at(wrap, i);
          if (q >= 0) {
            this.lastSlot[q] = s;
            this.lastWrap[q] = w;
          }
          if (g !== undefined) {
            // The producer value before it, then the ring distance to its own on 2 x entries
            // positions (index and wrap bit): doorbells.sql's rule, as DuckDB computes it (the
            // remainder keeps the dividend's sign).
            const prev = ps === undefined || ps < 0 ? g.start : ps;
            prevProd[i] = prev;
            prevBits[i >> 3]! |= 1 << (i & 7);
            prevNulls--;
            if (s >= 0 && w >= 0) {
              const e = (w * g.entries + s - ((pw === undefined || pw < 0 ? 0 : pw) * g.entries + prev) + 2 * g.entries) % (2 * g.entries);
              if (e !== (e | 0)) this.unfit = true;
              published[i] = e;
              publishedBits[i >> 3]! |= 1 << (i & 7);
              publishedNulls--;
              this.lapDoorbells++;
              this.lapEntries += e;
              if (prev + e >= g.entries) {
                if (this.lapEntries < 0 || this.lapEntries > 0xffffffff) this.unfit = true;
                lapDoorbells[i] = this.lapDoorbells;
                lapEntries[i] = this.lapEntries;
                this.lapDoorbells = 0;
                this.lapEntries = 0;
              }
            }
          }
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
      makeData({ type: fields[6]!.type as Uint32, length: n, nullCount: prevNulls, nullBitmap: prevBits, data: prevProd }),
      makeData({ type: fields[7]!.type as Int32, length: n, nullCount: publishedNulls, nullBitmap: publishedBits, data: published }),
      uint32(8, lapDoorbells),
      uint32(9, lapEntries),
    ];
    const schema = this.schemaOut!;
    return new RecordBatch(
      schema,
      makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: [...b.data.children, ...extra] }),
    );
  }
}
