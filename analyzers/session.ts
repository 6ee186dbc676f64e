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
//   - `queues`: one row per guest queue of each trace (one for a one-queue trace): its geometry
//     (docs/trace-format.md "Several guest queues"); `trace.queue` names a row's queue (0 in a
//     one-queue trace);
//   - `devices`: the topology of each trace, one row per device;
//   - for the analyzer modules, `_trace` (`trace` led by `file_id`, an integer per trace, and
//     followed by the derived columns `_epoch`, `_iotlb_number`, `_fanout_devtlbs`, ...:
//     running counts the loader computes in its one in-order pass over each trace,
//     analyzers/sql-engine/derived-columns.ts) and `_trace_files` (file_id, file, arch);
//   - the analyzer views of every module whose tables are present (analyzers/sql/), created when a
//     statement first names one of them (or one that requires it), in one trip to the engine; a
//     module's tables (intermediate results several views read) are computed the first time a
//     statement reads them, once per session (analyzers/modules.ts).
// How the rows reach the engine is analyzers/sql-engine/attach.ts's choice (in place from Parquet for
// native DuckDB; only the columns statements read, copied in, for duckdb-wasm). Every statement
// goes through the session's engine, which first creates the views it names and makes the columns
// it reads available, and runs it again if DuckDB reached a column that was not (attach.ts).
// Types: Arrow dictionary-encoded strings arrive as VARCHAR and uint64 as UBIGINT (checked by
// session.test.ts); no column needs converting on the way in.

import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { DataType, type Field, type Schema, type Table } from 'apache-arrow';
import { InputFault } from '../formats/result.js';
import type { TraceHeader } from '../formats/trace/header.js';
import { queueHeaders } from '../formats/trace/queues.js';
import { commonFields, fieldColumns, typeForBits } from '../formats/trace/schema.js';
import type { RecordBatch } from 'apache-arrow';
import { openArrow, type ArrowSource } from './arrow-files.js';
import { attachFile, derivedRelation, missingColumn, type AttachedFile } from './sql-engine/attach.js';
import { DERIVED_COLUMNS } from './sql-engine/derived-columns.js';
import {
  chooseEngine,
  ENGINE_CHOICES,
  ident,
  literal,
  SqlError,
  startEngine,
  type EngineChoice,
  type SqlEngine,
} from './sql-engine/index.js';
import {
  createModules,
  loadModules,
  materializeSql,
  modulesUsedBy,
  planModules,
  sqlWords,
  tablesReadBy,
  type InstallReport,
  type SqlModule,
  type SqlObject,
} from './modules.js';

/** Relations the session itself provides (a file may not take these names). */
export const BASE_RELATIONS = ['trace', 'traces', 'queues', 'devices'] as const;

export interface LoadedFile {
  /** The path as given (traces: the `file` column). */
  readonly file: string;
  /** Table name in the session. */
  readonly table: string;
  readonly rows: number;
  readonly header?: TraceHeader;
}

export interface SessionOptions {
  /**
   * The engine to use (or one starting: the session owns it either way and closes it, also when
   * opening fails), or which one to start; default: $INVTRACE_SQL_ENGINE, else duckdb-wasm.
   */
  readonly engine?: SqlEngine | Promise<SqlEngine> | EngineChoice;
  /** Provide the analyzer views (default true). */
  readonly views?: boolean;
  readonly modules?: readonly SqlModule[];
  /** Rows per IPC stream segment handed to duckdb-wasm. */
  readonly segmentRows?: number;
  /**
   * Statements the session is opened for (a one-shot's -e/-f, a report's queries): the views they
   * name and the columns they read are made ready while opening, in one pass over each file.
   */
  readonly statements?: readonly string[];
  /** Told, in one line each, what the session chose or did that takes time (auto's engine, a Parquet copy written). */
  readonly onNote?: (message: string) => void;
}

export interface Session {
  /** The session's engine: a statement run through it gets the views it names and the columns it reads first. */
  readonly engine: SqlEngine;
  readonly files: readonly LoadedFile[];
  /** Modules the session provides (`installed`; created when a statement first names them) and those it cannot. */
  readonly views: InstallReport;
  query(sql: string): Promise<Table>;
  /** Creates every view now (a REPL's `.tables`, a catalog query). */
  installAllViews(): Promise<void>;
  close(): Promise<void>;
}

/** The engine $INVTRACE_SQL_ENGINE names (wasm, native or auto), wasm by default. */
function engineFromEnv(): EngineChoice {
  const e = process.env.INVTRACE_SQL_ENGINE;
  if (e === undefined || e === '') return 'wasm';
  if ((ENGINE_CHOICES as readonly string[]).includes(e)) return e as EngineChoice;
  throw new InputFault({ field: 'INVTRACE_SQL_ENGINE', message: `unknown SQL engine "${e}" (${ENGINE_CHOICES.join(', ')})` });
}

/** A file's table name: its name without extension, lower-case, [a-z0-9_] only. */
export function tableNameOf(path: string): string {
  const stem = basename(path, extname(path))
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
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
    const files = readdirSync(p)
      .filter((f) => f.endsWith('.arrow'))
      .sort();
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
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- every Arrow type class defines toString() (Int32, Utf8); the base .d.ts does not say so
  throw new Error(`no DuckDB type for Arrow ${String(t)}`);
}

/** Columns of the `trace` relation: the common ones, then the fields of both architectures. */
function traceColumns(): { name: string; type: string }[] {
  const cols = new Map<string, string>();
  for (const f of commonFields('smmuv3')) cols.set(f.name, duckType(f.type as DataType));
  // The guest queue of each row: a column of multi-queue traces only, 0 for the others.
  cols.set('queue', 'UTINYINT');
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

/**
 * The SELECT that shows one trace table as rows of `trace`, or of `_trace` when given its file_id:
 * led by it and followed by the derived columns (`from` then holds them).
 */
function traceSelect(f: TraceRelation, schema: Schema, from: string, fileId?: number): string {
  const have = new Map(schema.fields.map((x: Field) => [x.name, x]));
  const cols = traceColumns().map((c) =>
    have.has(c.name) ? ident(c.name) : `${c.name === 'queue' ? '0' : 'NULL'}::${c.type} AS ${ident(c.name)}`,
  );
  if (fileId !== undefined) cols.push(...DERIVED_COLUMNS.map(ident));
  const id = fileId === undefined ? '' : `${fileId}::UINTEGER AS file_id, `;
  return `SELECT ${id}${literal(f.file)} AS file, ${literal(f.header.arch)} AS arch, ${cols.join(', ')} FROM ${from}`;
}

const sqlNum = (v: number | undefined) => (v === undefined ? 'NULL' : String(v));
const sqlStr = (v: string | undefined) => (v === undefined ? 'NULL' : literal(v));

/** A loaded trace as the base relations see it. */
export interface TraceRelation extends LoadedFile {
  readonly header: TraceHeader;
  readonly schema: Schema;
}

/**
 * The statements creating `trace`, `traces`, `queues` and `devices` over loaded traces, and for the
 * analyzer modules `_trace` (`trace` led by `file_id`, the trace's number in the session: a key
 * DuckDB partitions, sorts and groups by far faster than the path, which is a string; then the
 * derived columns) with `_trace_files` (file_id, file, arch); `from(t)` is the relation a trace's
 * rows are read from (its table, by default), `withDerived(t)` the one that adds the derived
 * columns (attach.ts's, by default).
 */
export function baseRelationsSql(
  traces: readonly TraceRelation[],
  from: (t: TraceRelation) => string = (t) => ident(t.table),
  withDerived: (t: TraceRelation) => string = (t) => ident(derivedRelation(t.table)),
): string[] {
  const devs = traces.flatMap((f) =>
    (f.header.topology?.devices ?? []).map((d) => `(${[literal(f.file), d.sid, d.psid, d.iommu, d.ats, d.domain, d.hwpt].join(', ')})`),
  );
  return [
    `CREATE OR REPLACE VIEW trace AS ${traces.map((t) => traceSelect(t, t.schema, from(t))).join(' UNION ALL ')}`,
    `CREATE OR REPLACE VIEW _trace AS ${traces.map((t, i) => traceSelect(t, t.schema, withDerived(t), i)).join(' UNION ALL ')}`,
    `CREATE OR REPLACE TABLE _trace_files AS SELECT * FROM (VALUES ${traces.map((t, i) => `(${i}::UINTEGER, ${literal(t.file)}, ${literal(t.header.arch)})`).join(', ')}) AS t(file_id, file, arch)`,
    'CREATE OR REPLACE TABLE traces AS SELECT * FROM (VALUES ' +
      traces
        .map((f) => {
          const h = f.header;
          return `(${[
            literal(f.file),
            literal(f.table),
            literal(h.arch),
            h.queue_entries,
            h.desc_bytes,
            h.start ?? 0,
            sqlStr(h.queue_base),
            f.rows,
            sqlNum(h.topology?.devices.length),
            sqlStr(h.tool_version),
          ].join(', ')})`;
        })
        .join(', ') +
      ') AS t(file, table_name, arch, queue_entries, desc_bytes, start_slot, queue_base, events, devices, tool_version)',
    'CREATE OR REPLACE TABLE queues AS SELECT * FROM (VALUES ' +
      traces
        .flatMap((f) =>
          queueHeaders(f.header).map(
            (q, k) =>
              `(${[literal(f.file), k, q.queue_entries, q.start ?? 0, sqlStr(q.queue_base), f.header.queues?.[k]?.devices.length ?? sqlNum(f.header.topology?.devices.length)].join(', ')})`,
          ),
        )
        .join(', ') +
      ') AS t(file, queue, queue_entries, start_slot, queue_base, devices)',
    devs.length > 0
      ? `CREATE OR REPLACE TABLE devices AS SELECT * FROM (VALUES ${devs.join(', ')}) AS t(file, sid, psid, iommu, ats, domain, hwpt)`
      : 'CREATE OR REPLACE TABLE devices (file VARCHAR, sid INTEGER, psid INTEGER, iommu INTEGER, ats BOOLEAN, domain INTEGER, hwpt INTEGER)',
  ];
}

export async function openSession(paths: readonly string[], opts: SessionOptions = {}): Promise<Session> {
  const inputs = resolveInputs(paths);
  let starting: Promise<SqlEngine>;
  if (typeof opts.engine === 'object') starting = Promise.resolve(opts.engine);
  else {
    const choice = await chooseEngine(
      opts.engine ?? engineFromEnv(),
      inputs.map((p) => statSync(p).size),
    );
    if (choice.note) opts.onNote?.(choice.note);
    // DuckDB starts (duckdb-wasm: its WebAssembly compiles in the worker) while the files are opened.
    starting = startEngine(choice.kind);
  }
  starting.catch(() => undefined); // handled below, after the files are open: not an unhandled rejection
  let sources: ArrowSource[];
  try {
    sources = await timed('open inputs', () => Promise.all(inputs.map((p) => openArrow(p))));
  } catch (e) {
    await starting.then(
      (x) => x.close(),
      () => undefined,
    );
    throw e;
  }
  const engine = await timed('engine start (rest)', () => starting);
  try {
    return await SessionEngine.open(engine, sources, opts);
  } catch (e) {
    await engine.close();
    throw e;
  }
}

/**
 * With $INVTRACE_SQL_TIMES set, prints how long each step of a session took on stderr
 * (`sql-times: attach big.arrow 1234 ms`): where a slow start goes.
 */
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  if (!process.env.INVTRACE_SQL_TIMES) return fn();
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    process.stderr.write(`sql-times: ${what} ${(performance.now() - t0).toFixed(0)} ms (at ${performance.now().toFixed(0)} ms)\n`);
  }
}

/** Words in a statement that ask about the catalog: every view is created before it runs. */
const CATALOG_WORDS = [
  'duckdb_views',
  'duckdb_columns',
  'duckdb_functions',
  'duckdb_tables',
  'information_schema',
  'show',
  'describe',
  'summarize',
];

/** `SELECT *`, `t.*`, `, *`: a statement that reads every column of what it names. */
const STAR = /(?:\bselect|,|\.)\s*\*/i;

/**
 * Whether a statement reads every column of a file: a star in a statement naming a file's relation
 * or `trace` (a star over an analyzer view reads the columns that view names).
 */
function readsAll(sql: string, words: ReadonlySet<string>, tables: readonly string[]): boolean {
  return STAR.test(sql) && (words.has('trace') || tables.some((t) => words.has(t)));
}

/**
 * The engine a session hands out: the real one, with each statement's views created and columns
 * made available before it runs (and once more after a column turned out to be missing).
 */
class SessionEngine implements SqlEngine {
  private readonly installed = new Set<string>();
  /** Module tables computed in this session (analyzers/modules.ts: a table is computed once, when first read). */
  private readonly materialized = new Set<string>();
  private readonly moduleWords = new Map<string, Set<string>>();

  private constructor(
    private readonly inner: SqlEngine,
    private readonly attached: readonly { file: LoadedFile; att: AttachedFile; columns: ReadonlySet<string> }[],
    private readonly available: readonly SqlModule[],
    readonly files: readonly LoadedFile[],
    readonly views: InstallReport,
  ) {}

  static async open(engine: SqlEngine, sources: readonly ArrowSource[], opts: SessionOptions): Promise<Session> {
    const taken = new Set<string>(BASE_RELATIONS);
    const tables = sources.map((src) => {
      let table = tableNameOf(src.path);
      for (let n = 2; taken.has(table); n++) table = `${tableNameOf(src.path)}_${n}`;
      taken.add(table);
      return table;
    });
    const relations = new Set(tables);
    if (sources.some((s) => s.header)) for (const r of BASE_RELATIONS) relations.add(r);
    const plan = opts.views === false ? { available: [], skipped: [] } : planModules(relations, opts.modules ?? loadModules());

    // What the known statements need: their modules, and the words of both (column names among them).
    const words = new Set<string>();
    let star = false;
    for (const st of opts.statements ?? []) {
      const w = sqlWords(st);
      for (const x of w) words.add(x);
      star ||= readsAll(st, w, tables);
    }
    const catalog = CATALOG_WORDS.some((w) => words.has(w));
    const first = catalog ? plan.available : modulesUsedBy(words, plan.available);
    for (const m of first) for (const o of m.objects) for (const w of sqlWords(o.sql)) words.add(w);

    const attached: { file: LoadedFile; att: AttachedFile; columns: ReadonlySet<string> }[] = [];
    for (const [i, src] of sources.entries()) {
      // A trace's columns include the derived ones `_trace` adds (analyzers/sql-engine/derived-columns.ts).
      const columns = new Set([...src.schema.fields.map((f) => f.name), ...(src.header ? DERIVED_COLUMNS : [])]);
      const att = await timed(`attach ${src.path}`, () =>
        attachFile(engine, src, tables[i]!, {
          derived: src.header !== undefined,
          columns: star ? 'all' : new Set([...columns].filter((c) => words.has(c.toLowerCase()))),
          ...(opts.segmentRows ? { segmentRows: opts.segmentRows } : {}),
          onCacheWrite: (from, to) =>
            opts.onNote?.(`${from}: wrote its Parquet copy for native DuckDB (${to}); later sessions read it directly`),
        }),
      );
      const file = { file: src.path, table: tables[i]!, rows: att.rows, ...(src.header ? { header: src.header } : {}) };
      attached.push({ file, att, columns });
    }
    const traces = attached.flatMap(({ file }, i) => (file.header ? [{ ...file, header: file.header, schema: sources[i]!.schema }] : []));
    if (traces.length > 0)
      await timed('base relations', () =>
        engine.exec(
          baseRelationsSql(traces)
            .map((st) => `${st};`)
            .join('\n'),
        ),
      );
    const files = attached.map((a) => a.file);
    const s = new SessionEngine(engine, attached, plan.available, files, {
      installed: plan.available.map((m) => m.name),
      skipped: plan.skipped,
    });
    await timed(`views (${first.length} modules)`, () => s.install(first));
    return {
      engine: s,
      files,
      views: s.views,
      query: (sql) => s.query(sql),
      installAllViews: () => s.install(plan.available),
      close: () => s.close(),
    };
  }

  get name(): string {
    return this.inner.name;
  }

  version(): Promise<string> {
    return this.inner.version();
  }

  /** Creates the modules given that are not yet there (in one trip). */
  async install(mods: readonly SqlModule[]): Promise<void> {
    const todo = mods.filter((m) => !this.installed.has(m.name));
    await createModules(this.inner, todo);
    for (const m of todo) this.installed.add(m.name);
  }

  private wordsOf(m: SqlModule): Set<string> {
    let w = this.moduleWords.get(m.name);
    if (w === undefined) {
      w = new Set<string>();
      for (const o of m.objects) for (const x of sqlWords(o.sql)) w.add(x);
      this.moduleWords.set(m.name, w);
    }
    return w;
  }

  /**
   * Creates the views a statement names and copies in the columns it reads (where the engine
   * copies); returns the module tables it reads.
   */
  private async prepare(sql: string): Promise<SqlObject[]> {
    const words = sqlWords(sql);
    const mods = CATALOG_WORDS.some((w) => words.has(w)) ? this.available : modulesUsedBy(words, this.available);
    await this.install(mods);
    const all = new Set(words);
    for (const m of mods) for (const w of this.wordsOf(m)) all.add(w);
    const star = readsAll(
      sql,
      words,
      this.files.map((f) => f.table),
    );
    for (const { att, columns } of this.attached) {
      const want = [...columns].filter((c) => all.has(c.toLowerCase()) && !att.loaded.has(c));
      if (star) await att.ensure('all');
      // A statement not known when the session opened (a REPL's, a report's) wants more: copy the
      // columns every analyzer reads along with it, so the next ones rarely copy again.
      else if (want.length > 0)
        await att.ensure(new Set([...want, ...[...columns].filter((c) => this.analyzerWords().has(c.toLowerCase()))]));
    }
    return tablesReadBy(
      words,
      this.available.filter((m) => this.installed.has(m.name)),
    );
  }

  /** Computes the module tables given that are not computed yet, in order (one trip each). */
  private async materialize(tables: readonly SqlObject[]): Promise<void> {
    for (const t of tables) {
      if (this.materialized.has(t.name)) continue;
      await timed(`table ${t.name}`, () => this.inner.exec(materializeSql(t)));
      this.materialized.add(t.name);
    }
  }

  private analyzerWordsCache: Set<string> | undefined;

  /** Every word of every module the session provides. */
  private analyzerWords(): Set<string> {
    if (this.analyzerWordsCache === undefined) {
      this.analyzerWordsCache = new Set();
      for (const m of this.available) for (const w of this.wordsOf(m)) this.analyzerWordsCache.add(w);
    }
    return this.analyzerWordsCache;
  }

  /**
   * Runs a statement after `prepare`. When DuckDB reaches a column not copied yet, copies it and
   * runs the statement again (a second miss on the same file copies all of its columns); when it
   * names a relation that does not exist, creates every view and runs it once more.
   */
  private async run<T>(sql: string, fn: () => Promise<T>): Promise<T> {
    const tables = await timed('prepare statement', () => this.prepare(sql));
    const misses = new Map<string, number>();
    let allViews = false;
    for (;;) {
      try {
        await this.materialize(tables);
        return await timed('statement', fn);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        const miss = missingColumn(msg);
        const a = miss ? this.attached.find((x) => x.file.table === miss.table) : undefined;
        if (a !== undefined && miss !== undefined) {
          const n = (misses.get(miss.table) ?? 0) + 1;
          misses.set(miss.table, n);
          if (n > 2) throw e;
          await a.att.ensure(n === 1 ? new Set([miss.column]) : 'all');
          continue;
        }
        if (!allViews && e instanceof SqlError && /^Catalog Error/.test(msg) && this.installed.size < this.available.length) {
          allViews = true;
          await this.install(this.available);
          continue;
        }
        throw e;
      }
    }
  }

  loadTable(name: string, streams: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, into?: boolean): Promise<void> {
    return this.inner.loadTable(name, streams, into);
  }

  query(sql: string): Promise<Table> {
    return this.run(sql, () => this.inner.query(sql));
  }

  exec(sql: string): Promise<void> {
    return this.run(sql, () => this.inner.exec(sql));
  }

  async *queryBatches(sql: string): AsyncIterable<RecordBatch> {
    // DuckDB reaches a missing column on its first chunk as a rule: the statement runs again then.
    const { it, head } = await this.run(sql, async () => {
      const it = this.inner.queryBatches(sql)[Symbol.asyncIterator]();
      return { it, head: await it.next() };
    });
    let r = head;
    try {
      for (; !r.done; r = await it.next()) yield r.value;
    } catch (e) {
      // Later than that, rows are already out: copy the file's columns and say so.
      const miss = missingColumn(e instanceof Error ? e.message : String(e));
      const a = miss && this.attached.find((x) => x.file.table === miss.table);
      if (!a) throw e;
      await a.att.ensure('all');
      throw new SqlError(
        `column ${miss.column} of ${miss.table} was copied into DuckDB while the result streamed: run the statement again`,
      );
    }
  }

  cancel(): Promise<void> {
    return this.inner.cancel();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
