// How an Arrow file's rows reach the SQL engine: the one place that chooses, per engine, measured
// (`npm run bench -- sql`; the README's SQL section has the figures):
//
//   - native DuckDB reads Parquet in place: the file's relation is a view over `read_parquet` of a
//     cached Parquet copy (parquet-cache.ts). Nothing is copied into DuckDB; a query reads only
//     the columns and row groups it needs, on every core, like DuckDB over a Parquet file does.
//   - duckdb-wasm has no Parquet reader without a network (its parquet extension is downloaded),
//     so rows go in as Arrow IPC streams (`insertArrowFromIPCStream`, columnar) into a table. Copying
//     into WebAssembly is what costs, per column, so only the columns statements use are copied:
//     the file's relation is a view over that table in which every column not copied yet is an
//     expression raising a marker error. DuckDB drops unused view columns before running, so such
//     an expression runs only when a query reads that column; the session then copies the
//     columns and runs the statement again. An answer is thus never computed from a column that
//     was not copied (session.ts: `run`). Nothing is copied at open unless asked: the row count
//     comes from the file's footer (row-count.ts). String columns with a fixed dictionary are
//     stored as ENUMs (a small integer per row) and the view casts them back to VARCHAR.
//
// A trace also gets its derived columns (derived-columns.ts: running counts the analyzer views group
// by), computed in the pass that reads its rows: native DuckDB's Parquet copy holds them; duckdb-wasm
// copies them like any other column, on demand. They live in a second relation, `_<table>_rows`
// (the file's columns, then the derived ones), which `_trace` reads; the file's own relation shows
// only its own columns. A trace out of seq order gets them from DuckDB windows over its relation.

import { DataType, type Field, type Schema } from 'apache-arrow';
import type { ArrowSource } from '../arrow-files.js';
import { ipcStreams } from '../arrow-files.js';
import { DERIVED_COLUMNS, derivedFields, DerivePass, derivedWindowSql, queueGeometry, withDerivedFields } from './derived-columns.js';
import { ident, literal, SqlError, type SqlEngine } from './engine.js';
import { parquetOf } from './parquet-cache.js';
import { footerRows } from './row-count.js';

export interface AttachedFile {
  /** The relation's name in the session (a view). */
  readonly table: string;
  readonly rows: number;
  /** Makes the columns named (those of this file) readable; `all` copies every column. */
  ensure(columns: ReadonlySet<string> | 'all'): Promise<void>;
  /** Columns a query can read now without copying (every column when the engine reads in place). */
  readonly loaded: ReadonlySet<string>;
  /** Every column `ensure` knows: the file's own, then (a trace's) derived ones. */
  readonly columns: readonly string[];
  /** The relation with the file's columns and the derived ones (`table` itself when there are none). */
  readonly withDerived: string;
}

export interface AttachOptions {
  /** Columns to make readable at once (the statements known in advance use them). */
  readonly columns?: ReadonlySet<string> | 'all';
  /** Rows per IPC stream segment handed to duckdb-wasm. */
  readonly segmentRows?: number;
  /** Told when a Parquet copy had to be written (the first session on a trace). */
  readonly onCacheWrite?: (src: string, parquet: string) => void;
  /** Give the file the derived columns (a trace: the analyzer views read them through `_trace`). */
  readonly derived?: boolean;
}

/** The relation of a file's rows with its derived columns. */
export const derivedRelation = (table: string): string => `_${table}_rows`;

/** Reads in place from Parquet (native DuckDB), or copies columns in (duckdb-wasm, or any other engine). */
export const readsParquet = (engine: SqlEngine): boolean => engine.name === 'duckdb-native';

/** The marker a not-yet-copied column raises; `missingColumn` reads it back. */
const MARKER = 'invtrace-not-loaded';

/** The table and column a marker error names, if `message` is one. */
export function missingColumn(message: string): { table: string; column: string } | undefined {
  const m = new RegExp(`${MARKER}:([^:]+):(.+?)(?:'|"|$)`).exec(message);
  return m ? { table: m[1]!, column: m[2]! } : undefined;
}

/** DuckDB's name for an Arrow type, for the typed marker of a column not copied; undefined: copy it always. */
function duckType(t: DataType): string | undefined {
  if (DataType.isDictionary(t)) return DataType.isUtf8(t.dictionary) ? 'VARCHAR' : undefined;
  if (DataType.isUtf8(t)) return 'VARCHAR';
  if (DataType.isInt(t)) {
    const n = ({ 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' } as const)[t.bitWidth];
    return t.isSigned ? n : `U${n}`;
  }
  if (DataType.isFloat(t)) return ({ 0: undefined, 1: 'FLOAT', 2: 'DOUBLE' } as const)[t.precision];
  if (DataType.isBool(t)) return 'BOOLEAN';
  return undefined;
}

export async function attachFile(engine: SqlEngine, src: ArrowSource, table: string, opts: AttachOptions = {}): Promise<AttachedFile> {
  return readsParquet(engine) ? attachParquet(engine, src, table, opts) : attachColumns(engine, src, table, opts);
}

async function attachParquet(engine: SqlEngine, src: ArrowSource, table: string, opts: AttachOptions): Promise<AttachedFile> {
  const copy = await parquetOf(src);
  if (copy.written) opts.onCacheWrite?.(src.path, copy.path);
  const scan = `read_parquet(${literal(copy.path)})`;
  // Row counts come from the Parquet footer: no data is read. So do the copy's columns.
  const rows = Number((await engine.query(`SELECT count(*) AS n FROM ${scan}`)).get(0)!.n);
  const own = src.schema.fields.map((f) => f.name);
  const withDerived = opts.derived ? derivedRelation(table) : table;
  if (!opts.derived) await engine.exec(`CREATE OR REPLACE VIEW ${ident(table)} AS SELECT * FROM ${scan}`);
  else {
    const names = new Set(
      (await engine.query(`SELECT name FROM parquet_schema(${literal(copy.path)})`))
        .toArray()
        .map((r) => String((r as { name: unknown }).name)),
    );
    const held = DERIVED_COLUMNS.every((c) => names.has(c));
    const ownOnly = held ? `SELECT * EXCLUDE (${DERIVED_COLUMNS.map(ident).join(', ')}) FROM ${scan}` : `SELECT * FROM ${scan}`;
    await engine.exec(
      `CREATE OR REPLACE VIEW ${ident(table)} AS ${ownOnly};\n` +
        `CREATE OR REPLACE VIEW ${ident(withDerived)} AS ${held ? `SELECT * FROM ${scan}` : derivedWindowSql(ident(table), src.schema, queueGeometry(src.header))};`,
    );
  }
  const all = new Set([...own, ...(opts.derived ? DERIVED_COLUMNS : [])]);
  return { table, rows, loaded: all, columns: [...all], withDerived, ensure: async () => undefined };
}

/** The columns of a file copied into duckdb-wasm on demand (see the header). */
async function attachColumns(engine: SqlEngine, src: ArrowSource, table: string, opts: AttachOptions): Promise<AttachedFile> {
  const own = src.schema.fields;
  /** The file's columns, then its derived ones (computed in the pass that copies them). */
  const fields = opts.derived ? [...own, ...derivedFields()] : own;
  const schema = opts.derived ? withDerivedFields(src.schema) : src.schema;
  const derived = new Set<string>(opts.derived ? DERIVED_COLUMNS : []);
  const withDerived = opts.derived ? derivedRelation(table) : table;
  /**
   * False once a pass could not count them (rows out of seq order, or a fan-out waited on too
   * long: derived-columns.ts): the derived columns then come from windows.
   */
  let derivedCounted = true;
  const data = `_${table}_data`;
  // Always copied with the rest: the first column (a table needs one), and any column whose type
  // has no marker.
  const always = new Set([fields[0]!.name, ...fields.filter((f) => duckType(f.type as DataType) === undefined).map((f) => f.name)]);
  const loaded = new Set<string>();
  /** Copied columns stored as ENUMs (the view reads them back as VARCHAR). */
  const enums = new Set<string>();
  let rows = 0;
  /**
   * The file's views over the relation `from`: every column, copied or its marker (columnSql), in
   * the file's own and (a trace's) in the one with the derived columns.
   */
  const createView = async (from: string) => {
    const select = (fs: readonly Field[]) => `SELECT ${fs.map((f) => columnSql(table, f, loaded, enums)).join(', ')} FROM ${from}`;
    await engine.exec(`CREATE OR REPLACE VIEW ${ident(table)} AS ${select(own)}`);
    if (opts.derived)
      await engine.exec(
        `CREATE OR REPLACE VIEW ${ident(withDerived)} AS ${derivedCounted ? select(fields) : derivedWindowSql(ident(table), src.schema, queueGeometry(src.header))}`,
      );
  };

  const load = async (keep: readonly (readonly [Field, number])[], enumTypes: ReadonlyMap<string, string>) => {
    const narrow = schema.select(keep.map(([f]) => f.name)) as Schema;
    const pass = keep.some(([f]) => derived.has(f.name)) ? new DerivePass(queueGeometry(src.header)) : undefined;
    let n = 0;
    async function* narrowed() {
      for await (const b of pass ? pass.batches(src.batches()) : src.batches()) {
        n += b.numRows;
        yield b.selectAt(keep.map(([, i]) => i));
      }
    }
    const into = enumTypes.size > 0;
    if (into)
      await engine.exec(
        `CREATE OR REPLACE TABLE ${ident(data)} (${keep.map(([f]) => `${ident(f.name)} ${enumTypes.get(f.name) ?? duckType(f.type as DataType)!}`).join(', ')})`,
      );
    // Narrow segments: as many rows as bytes allow (a segment is parsed whole in WebAssembly).
    const segments = ipcStreams(
      narrow,
      narrowed(),
      opts.segmentRows ?? segmentRowsFor(keep.map(([f]) => f)),
      engine.segmentBuffer?.bind(engine),
    );
    await engine.loadTable(data, segments, into);
    if (pass && !pass.counted) derivedCounted = false;
    return n;
  };

  const copy = async (want: ReadonlySet<string>) => {
    const keep = fields.map((f, i) => [f, i] as const).filter(([f]) => want.has(f.name) && (derivedCounted || !derived.has(f.name)));
    // String columns with a fixed dictionary go in as ENUMs: a small integer per row instead of a
    // string copied, measured and hashed into the table's statistics (most of the copy's CPU).
    const enumTypes = keep.every(([f]) => duckType(f.type as DataType) !== undefined)
      ? await enumTypesOf(src, keep)
      : new Map<string, string>();
    try {
      rows = await load(keep, enumTypes);
    } catch (e) {
      // A later batch's dictionary holds a string its ENUM lacks: copy those columns as strings.
      if (enumTypes.size === 0 || !(e instanceof SqlError)) throw e;
      enumTypes.clear();
      rows = await load(keep, enumTypes);
    }
    loaded.clear();
    enums.clear();
    for (const [f] of keep) loaded.add(f.name);
    for (const c of enumTypes.keys()) enums.add(c);
    await createView(ident(data));
  };

  const ensure = async (columns: ReadonlySet<string> | 'all') => {
    const want = new Set([...always, ...loaded]);
    for (const f of fields) if ((columns === 'all' || columns.has(f.name)) && (derivedCounted || !derived.has(f.name))) want.add(f.name);
    if (loaded.size > 0 && [...want].every((c) => loaded.has(c))) return;
    await copy(want);
  };
  const first = opts.columns ?? new Set<string>();
  const needed = first === 'all' || fields.some((f) => first.has(f.name) || (f.name !== fields[0]!.name && always.has(f.name)));
  // Nothing asked for yet and the row count is in the file's footer: copy nothing now (the first
  // statement that reads a column copies all it needs once, instead of the first column twice).
  // Until then the view is every column's marker over as many rows as the file has.
  const counted = needed ? undefined : await footerRows(src.path);
  if (counted === undefined) await ensure(first);
  else {
    rows = counted;
    await createView(`range(${rows})`);
  }
  return {
    table,
    get rows() {
      return rows;
    },
    loaded,
    columns: fields.map((f) => f.name),
    withDerived,
    ensure,
  };
}

/**
 * The DuckDB ENUM type of each string dictionary column among `keep`, from the file's first batch:
 * its dictionary's values when they are distinct and not null (an ENUM's rule). Columns whose
 * dictionary changes later are caught when inserting (copy: the insert's cast fails).
 */
async function enumTypesOf(src: ArrowSource, keep: readonly (readonly [Field, number])[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const dicts = keep.filter(([f]) => DataType.isDictionary(f.type) && DataType.isUtf8(f.type.dictionary));
  if (dicts.length === 0) return out;
  for await (const b of src.batches()) {
    for (const [f, i] of dicts) {
      const values = [...(b.getChildAt(i)?.data[0]?.dictionary ?? [])] as (string | null)[];
      if (values.length === 0 || values.some((v) => v === null) || new Set(values).size !== values.length) continue;
      out.set(f.name, `ENUM(${values.map((v) => literal(v!)).join(', ')})`);
    }
    break;
  }
  return out;
}

/** A column of the file's view: the copied column (ENUMs read back as strings), or the marker that asks for it. */
function columnSql(table: string, f: Field, loaded: ReadonlySet<string>, enums: ReadonlySet<string>): string {
  if (enums.has(f.name)) return `CAST(${ident(f.name)} AS VARCHAR) AS ${ident(f.name)}`;
  if (loaded.has(f.name)) return ident(f.name);
  return `CAST(error(${literal(`${MARKER}:${table}:${f.name}`)}) AS ${duckType(f.type as DataType)!}) AS ${ident(f.name)}`;
}

/**
 * Target bytes of one IPC segment handed to duckdb-wasm. Each segment is one insert, and an insert
 * has a fixed cost in the worker (planning, an Arrow scan, a trailing partial row group): the 8
 * integer columns of 7.5M rows took 1.6 s of CPU in 29 segments, 0.6 s in 8 and 0.5 s in 1. The
 * 13 columns the analyzers read of 5M commands (7.5M rows) copy in 4.3-4.6 s of CPU in 128 MiB
 * segments (6), against 4.7-5.3 s in 64 MiB ones (11) and 4.1-4.4 s in 256 MiB ones (3). A segment
 * sits whole in WebAssembly memory beside DuckDB's own (whose limit leaves about 0.9 GiB of the
 * 4 GiB for the rest), so it stays well under that room.
 */
const SEGMENT_BYTES = 128 << 20;

/** Rows per segment for these columns: about SEGMENT_BYTES of them (at least 64 Ki rows). */
function segmentRowsFor(fields: readonly Field[]): number {
  const width = fields.reduce(
    (w, f) => w + (DataType.isInt(f.type) || DataType.isFloat(f.type) ? ((f.type as { bitWidth?: number }).bitWidth ?? 64) : 64) / 8 + 1,
    0,
  );
  return Math.max(1 << 16, Math.floor(SEGMENT_BYTES / Math.max(1, width)));
}
