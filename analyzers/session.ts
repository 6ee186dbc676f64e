// A SQL session over traces and replay results: the relations `invtrace sql`, the analyzer views
// and the report query.
//
// What a session holds (docs: README "invtrace sql"):
//   - one table per input .arrow file, named after the file (`host_ops.arrow` -> host_ops,
//     `smmuv3-strict.arrow` -> smmuv3_strict); a folder argument loads every *.arrow in it;
//   - `trace`: every trace of the session in one relation, with a leading `file` column (the path
//     as given) and `arch`, and the field columns of both architectures (null where a trace's
//     architecture has no such field), so one query and one view serve SMMUv3 and VT-d alike;
//   - `traces`: one row per trace: its header (queue geometry, start slot, topology size);
//   - `devices`: the topology of each trace, one row per device;
//   - the analyzer views of every module whose tables are present (analyzers/sql/).
// Types: Arrow dictionary-encoded strings arrive as VARCHAR and uint64 as UBIGINT (checked by
// session.test.ts); no column needs converting on the way in.

import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { DataType, type Field, type Schema, type Table } from 'apache-arrow';
import { InputFault } from '../formats/result.js';
import type { TraceHeader } from '../formats/trace/header.js';
import { commonFields, fieldColumns, typeForBits } from '../formats/trace/schema.js';
import { ipcStreams, openArrow, type ArrowSource } from './arrow-files.js';
import { ENGINES, ident, literal, startEngine, type EngineKind, type SqlEngine } from './engine/engine.js';
import { installModules, loadModules, type InstallReport, type SqlModule } from './modules.js';

/** Relations the session itself provides (a file may not take these names). */
export const BASE_RELATIONS = ['trace', 'traces', 'devices'] as const;

export interface LoadedFile {
  /** The path as given (traces: the `file` column). */
  readonly file: string;
  /** Table name in the session. */
  readonly table: string;
  readonly rows: number;
  readonly header?: TraceHeader;
}

export interface SessionOptions {
  /** The engine to use, or which one to start; default: $INVTRACE_SQL_ENGINE, else duckdb-wasm. */
  readonly engine?: SqlEngine | EngineKind;
  /** Install the analyzer views (default true). */
  readonly views?: boolean;
  readonly modules?: readonly SqlModule[];
  /** Rows per IPC stream segment handed to the engine. */
  readonly segmentRows?: number;
}

export interface Session {
  readonly engine: SqlEngine;
  readonly files: readonly LoadedFile[];
  readonly views: InstallReport;
  query(sql: string): Promise<Table>;
  close(): Promise<void>;
}

/** The engine $INVTRACE_SQL_ENGINE names (wasm or native), wasm by default. */
function engineFromEnv(): EngineKind {
  const e = process.env.INVTRACE_SQL_ENGINE;
  if (e === undefined || e === '') return 'wasm';
  if ((ENGINES as readonly string[]).includes(e)) return e as EngineKind;
  throw new InputFault({ field: 'INVTRACE_SQL_ENGINE', message: `unknown SQL engine "${e}" (${ENGINES.join(' or ')})` });
}

/** A file's table name: its name without extension, lower-case, [a-z0-9_] only. */
export function tableNameOf(path: string): string {
  const stem = basename(path, extname(path)).toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[a-z_]/.test(stem) ? stem : `t_${stem}`;
}

/** Expands folder arguments to the *.arrow files in them (sorted), each file once; names a missing path. */
export function resolveInputs(paths: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (f: string) => {
    if (!seen.has(resolve(f))) out.push(f);
    seen.add(resolve(f));
  };
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new InputFault({ file: p, message: 'no such file or folder' });
    }
    if (!st.isDirectory()) {
      add(p);
      continue;
    }
    const files = readdirSync(p).filter((f) => f.endsWith('.arrow')).sort();
    if (files.length === 0) throw new InputFault({ file: p, message: 'no .arrow files in this folder' });
    for (const f of files) add(join(p, f));
  }
  return out;
}

/** DuckDB's name for the Arrow types a trace uses (for typed NULL columns). */
function duckType(t: DataType): string {
  if (DataType.isDictionary(t) || DataType.isUtf8(t)) return 'VARCHAR';
  if (DataType.isInt(t)) {
    const n = ({ 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' } as const)[t.bitWidth];
    return t.isSigned ? n : `U${n}`;
  }
  if (DataType.isFloat(t)) return 'DOUBLE';
  if (DataType.isBool(t)) return 'BOOLEAN';
  throw new Error(`no DuckDB type for Arrow ${String(t)}`);
}

/** Columns of the `trace` relation: the common ones, then the fields of both architectures. */
function traceColumns(): { name: string; type: string }[] {
  const cols = new Map<string, string>();
  for (const f of commonFields('smmuv3')) cols.set(f.name, duckType(f.type));
  for (const arch of ['smmuv3', 'vtd'] as const) {
    for (const c of fieldColumns(arch)) {
      const t = duckType(typeForBits(c.bits));
      const had = cols.get(c.column);
      // A name both tables use takes the wider type (names are shared only by same-width fields).
      if (had === undefined || widthOf(t) > widthOf(had)) cols.set(c.column, t);
    }
  }
  return [...cols].map(([name, type]) => ({ name, type }));
}

const widthOf = (t: string) => ({ UTINYINT: 8, USMALLINT: 16, UINTEGER: 32, UBIGINT: 64 })[t] ?? 0;

/** The SELECT that shows one trace table as rows of `trace`. */
function traceSelect(f: TraceRelation, schema: Schema, from: string): string {
  const have = new Map(schema.fields.map((x: Field) => [x.name, x]));
  const cols = traceColumns().map((c) => (have.has(c.name) ? ident(c.name) : `NULL::${c.type} AS ${ident(c.name)}`));
  return `SELECT ${literal(f.file)} AS file, ${literal(f.header.arch)} AS arch, ${cols.join(', ')} FROM ${from}`;
}

const sqlNum = (v: number | undefined) => (v === undefined ? 'NULL' : String(v));
const sqlStr = (v: string | undefined) => (v === undefined ? 'NULL' : literal(v));

/** A loaded trace as the base relations see it. */
export interface TraceRelation extends LoadedFile {
  readonly header: TraceHeader;
  readonly schema: Schema;
}

/**
 * The statements creating `trace`, `traces` and `devices` over loaded traces; `from(t)` is the
 * relation a trace's rows are read from (its table, by default).
 */
export function baseRelationsSql(traces: readonly TraceRelation[], from: (t: TraceRelation) => string = (t) => ident(t.table)): string[] {
  const devs = traces.flatMap((f) => (f.header.topology?.devices ?? []).map((d) =>
    `(${[literal(f.file), d.sid, d.psid, d.iommu, d.ats, d.domain, d.hwpt].join(', ')})`));
  return [
    `CREATE OR REPLACE VIEW trace AS ${traces.map((t) => traceSelect(t, t.schema, from(t))).join(' UNION ALL ')}`,
    'CREATE OR REPLACE TABLE traces AS SELECT * FROM (VALUES ' +
      traces.map((f) => {
        const h = f.header;
        return `(${[literal(f.file), literal(f.table), literal(h.arch), h.queue_entries, h.desc_bytes, h.start ?? 0, sqlStr(h.queue_base), f.rows,
          sqlNum(h.topology?.devices.length), sqlStr(h.tool_version)].join(', ')})`;
      }).join(', ') +
      ') AS t(file, table_name, arch, queue_entries, desc_bytes, start_slot, queue_base, events, devices, tool_version)',
    devs.length > 0
      ? `CREATE OR REPLACE TABLE devices AS SELECT * FROM (VALUES ${devs.join(', ')}) AS t(file, sid, psid, iommu, ats, domain, hwpt)`
      : 'CREATE OR REPLACE TABLE devices (file VARCHAR, sid INTEGER, psid INTEGER, iommu INTEGER, ats BOOLEAN, domain INTEGER, hwpt INTEGER)',
  ];
}

export async function openSession(paths: readonly string[], opts: SessionOptions = {}): Promise<Session> {
  const inputs = resolveInputs(paths);
  // DuckDB starts (about a second: compiling its WebAssembly) while the files are opened.
  const starting = typeof opts.engine === 'object' ? Promise.resolve(opts.engine) : startEngine(opts.engine ?? engineFromEnv());
  starting.catch(() => undefined); // handled below, after the files are open: not an unhandled rejection
  const sources: ArrowSource[] = [];
  try {
    for (const p of inputs) sources.push(await openArrow(p));
  } catch (e) {
    await starting.then((x) => x.close(), () => undefined);
    throw e;
  }
  const engine = await starting;
  try {
    const taken = new Set<string>(BASE_RELATIONS);
    const files: LoadedFile[] = [];
    const schemas: Schema[] = [];
    for (const src of sources) {
      let table = tableNameOf(src.path);
      for (let n = 2; taken.has(table); n++) table = `${tableNameOf(src.path)}_${n}`;
      taken.add(table);
      await engine.loadTable(table, ipcStreams(src.schema, src.batches(), opts.segmentRows));
      const rows = Number((await engine.query(`SELECT count(*) AS n FROM ${ident(table)}`)).get(0)!.n);
      files.push({ file: src.path, table, rows, ...(src.header ? { header: src.header } : {}) });
      schemas.push(src.schema);
    }
    const traces = files.flatMap((f, i) => (f.header ? [{ ...f, header: f.header, schema: schemas[i]! }] : []));
    const relations = new Set(files.map((f) => f.table));
    if (traces.length > 0) {
      for (const st of baseRelationsSql(traces)) await engine.exec(st);
      for (const r of BASE_RELATIONS) relations.add(r);
    }
    const views = opts.views === false ? { installed: [], skipped: [] } : await installModules(engine, relations, opts.modules ?? loadModules());
    return {
      engine,
      files,
      views,
      query: (sql) => engine.query(sql),
      close: () => engine.close(),
    };
  } catch (e) {
    await engine.close();
    throw e;
  }
}
