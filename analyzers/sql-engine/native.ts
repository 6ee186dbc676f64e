// The native DuckDB engine (optional): @duckdb/node-api, for traces past duckdb-wasm's ~3 GiB
// WebAssembly memory and for speed (native code on every core). It is an optionalDependency:
// without it, `startEngine('native')` fails with one line saying how to get it, and everything
// else runs on duckdb-wasm.
//
// Data in: the native client reads no Arrow IPC without the nanoarrow extension, which it would
// download, so each IPC stream segment goes through a temporary Parquet file (parquet-wasm) that
// DuckDB's built-in Parquet reader loads: dictionary strings arrive as VARCHAR, uint64 as UBIGINT.
// Data out: result chunks become Arrow 21 batches column by column; types without an Arrow twin
// here (HUGEINT past 64 bits, DECIMAL, dates, lists, structs, ...) arrive as DOUBLE or JSON text.
// Queries run on libuv's thread pool: the main thread stays free.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Bool,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Field,
  Struct,
  Table,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
  makeData,
  vectorFromArray,
  type DataType,
} from 'apache-arrow';
import { InputFault } from '../../formats/result.js';
import { ident, literal, SqlError, StatementQueue, type SqlEngine } from './engine.js';

// The part of @duckdb/node-api used here, declared locally so the project type-checks without the
// optional package installed.
type JS = null | boolean | number | bigint | string | Uint8Array | Date | JS[] | { [k: string]: JS };
interface DuckDBType {
  readonly typeId: number;
}
interface DuckDBDataChunk {
  readonly rowCount: number;
  convertColumns(converter: unknown): JS[][];
}
interface DuckDBResult {
  columnNames(): string[];
  columnTypes(): DuckDBType[];
  fetchChunk(): Promise<DuckDBDataChunk | null>;
}
interface DuckDBPrepared {
  run(): Promise<unknown>;
}
interface DuckDBConnection {
  run(sql: string): Promise<unknown>;
  runAndReadAll(sql: string): Promise<{ getColumnsJS(): JS[][] }>;
  stream(sql: string): Promise<DuckDBResult>;
  extractStatements(sql: string): Promise<{ readonly count: number; prepare(i: number): Promise<DuckDBPrepared> }>;
  interrupt(): void;
  closeSync(): void;
}
interface DuckDBInstance {
  connect(): Promise<DuckDBConnection>;
  closeSync(): void;
}
interface NodeApi {
  readonly DuckDBInstance: { create(path: string): Promise<DuckDBInstance> };
  readonly DuckDBTypeId: Readonly<Record<string, number>>;
  readonly JSDuckDBValueConverter: unknown;
}

/** The optional package's name, held in a variable so the compiler does not require it. */
const NODE_API = '@duckdb/node-api';

/** Rows per Arrow batch built from result chunks (DuckDB hands out 2048-row chunks). */
const BATCH_ROWS = 1 << 16;

/**
 * Loads the package with `require`: it is CommonJS, and `import()` of it first runs Node's CommonJS
 * export lexer over every file it re-exports (~0.1 s per process, measured with --cpu-prof).
 */
async function loadApi(): Promise<NodeApi> {
  try {
    const m = createRequire(import.meta.url)(NODE_API) as Partial<NodeApi> & { default?: NodeApi };
    return m.DuckDBInstance ? (m as NodeApi) : m.default!;
  } catch {
    throw new InputFault({
      message:
        'the native SQL engine needs the optional dependency @duckdb/node-api (npm install @duckdb/node-api); the default engine is duckdb-wasm',
    });
  }
}

/** DuckDB's error, without the client's wrapping ("Failed to extract statements: Parser Error: ..."). */
const sqlError = (e: unknown) =>
  e instanceof SqlError
    ? e
    : new SqlError(
        (e instanceof Error ? e.message : String(e)).replace(
          /^Failed to (extract statements|prepare statement|execute prepared statement): /,
          '',
        ),
      );

/** The Arrow type a DuckDB result column becomes, and how its JS values convert. */
function columnOf(api: NodeApi, t: DuckDBType): { type: DataType; convert?: (v: JS) => unknown } {
  const T = api.DuckDBTypeId;
  switch (t.typeId) {
    case T.BOOLEAN:
      return { type: new Bool() };
    case T.TINYINT:
      return { type: new Int8() };
    case T.SMALLINT:
      return { type: new Int16() };
    case T.INTEGER:
      return { type: new Int32() };
    case T.BIGINT:
      return { type: new Int64() };
    case T.UTINYINT:
      return { type: new Uint8() };
    case T.USMALLINT:
      return { type: new Uint16() };
    case T.UINTEGER:
      return { type: new Uint32() };
    case T.UBIGINT:
      return { type: new Uint64() };
    case T.FLOAT:
      return { type: new Float32() };
    case T.DOUBLE:
      return { type: new Float64() };
    case T.VARCHAR:
    case T.ENUM:
      return { type: new Utf8() };
    // Sums of integers: exact as Int64 whenever they fit (they do for any count of a trace).
    case T.HUGEINT:
    case T.UHUGEINT:
      return {
        type: new Int64(),
        convert: (v) => {
          if (v === null || BigInt.asIntN(64, v as bigint) === v) return v;
          throw new SqlError(
            // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a HUGEINT cell is a bigint
            `a ${t.typeId === T.HUGEINT ? 'HUGEINT' : 'UHUGEINT'} result (${String(v)}) is past 64 bits: cast it (::DOUBLE or ::VARCHAR)`,
          );
        },
      };
    case T.DECIMAL:
      return { type: new Float64(), convert: (v) => (v === null ? null : Number(v)) };
    default:
      return {
        type: new Utf8(),
        convert: (v) =>
          v === null
            ? null
            : typeof v === 'string'
              ? v
              : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Date ? x.toISOString() : x)),
      };
  }
}

export class NativeEngine implements SqlEngine {
  readonly name = 'duckdb-native';
  private readonly queue = new StatementQueue();
  private closed = false;
  /** A folder for loadTable's temporary Parquet files, made on first use. */
  private tmp: string | undefined;

  private constructor(
    private readonly api: NodeApi,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async start(): Promise<NativeEngine> {
    const api = await loadApi();
    const instance = await api.DuckDBInstance.create(':memory:');
    return new NativeEngine(api, instance, await instance.connect());
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.closed ? Promise.reject(new Error('SQL engine is closed')) : this.queue.run(fn);
  }

  version(): Promise<string> {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- version() is a VARCHAR
    return this.serial(async () => String((await this.conn.runAndReadAll('SELECT version() AS v')).getColumnsJS()[0]![0]));
  }

  loadTable(name: string, streams: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, into = false): Promise<void> {
    return this.serial(async () => {
      const pw = await import('parquet-wasm');
      this.tmp ??= mkdtempSync(join(tmpdir(), 'invtrace-duckdb-'));
      const file = join(this.tmp, 'segment.parquet');
      try {
        let first = !into;
        for await (const bytes of streams) {
          // A temporary file read once: no compression to spend time on (writeParquet consumes its properties).
          const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.UNCOMPRESSED).build();
          writeFileSync(file, pw.writeParquet(pw.Table.fromIPCStream(bytes), props));
          const scan = `SELECT * FROM read_parquet(${literal(file)})`;
          await this.conn.run(first ? `CREATE OR REPLACE TABLE ${ident(name)} AS ${scan}` : `INSERT INTO ${ident(name)} ${scan}`);
          first = false;
        }
      } catch (e) {
        throw sqlError(e);
      } finally {
        rmSync(file, { force: true });
      }
    });
  }

  exec(sql: string): Promise<void> {
    return this.serial(async () => {
      try {
        const statements = await this.conn.extractStatements(sql);
        for (let i = 0; i < statements.count; i++) await (await statements.prepare(i)).run();
      } catch (e) {
        throw sqlError(e);
      }
    });
  }

  async query(sql: string): Promise<Table> {
    const batches: RecordBatch[] = [];
    let schema: Schema | undefined;
    for await (const b of this.read(sql, (s) => (schema = s))) batches.push(b);
    return batches.length > 0 ? new Table(batches) : new Table(schema!);
  }

  queryBatches(sql: string): AsyncIterable<RecordBatch> {
    return this.read(sql);
  }

  /** Streams a statement's result as Arrow batches of up to BATCH_ROWS rows. */
  private async *read(sql: string, onSchema?: (s: Schema) => void): AsyncGenerator<RecordBatch> {
    if (this.closed) throw new Error('SQL engine is closed');
    const release = await this.queue.hold();
    try {
      let result: DuckDBResult;
      try {
        result = await this.conn.stream(sql);
      } catch (e) {
        throw sqlError(e);
      }
      const names = result.columnNames();
      const cols = result.columnTypes().map((t) => columnOf(this.api, t));
      const schema = new Schema(names.map((n, i) => new Field(n, cols[i]!.type, true)));
      onSchema?.(schema);
      let pending: unknown[][] = names.map(() => []);
      let rows = 0;
      const emit = () => {
        const data = cols.map((c, i) => {
          const v = vectorFromArray(pending[i]!, c.type);
          if (v.data.length !== 1) throw new Error(`native engine: column ${names[i]} built in ${v.data.length} pieces`);
          return v.data[0]!;
        });
        const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children: data }));
        pending = names.map(() => []);
        rows = 0;
        return batch;
      };
      for (;;) {
        let chunk;
        try {
          chunk = await result.fetchChunk();
        } catch (e) {
          throw sqlError(e);
        }
        if (chunk === null || chunk.rowCount === 0) break;
        const values = chunk.convertColumns(this.api.JSDuckDBValueConverter);
        values.forEach((col, i) => {
          const convert = cols[i]!.convert;
          const out = pending[i]!;
          for (const v of col) out.push(convert ? convert(v) : v);
        });
        rows += chunk.rowCount;
        if (rows >= BATCH_ROWS) yield emit();
      }
      if (rows > 0) yield emit();
    } finally {
      release();
    }
  }

  async cancel(): Promise<void> {
    if (!this.closed) this.conn.interrupt();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.idle();
    this.conn.closeSync();
    this.instance.closeSync();
    if (this.tmp !== undefined) rmSync(this.tmp, { recursive: true, force: true });
  }
}
