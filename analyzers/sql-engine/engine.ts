// The SQL engine behind `invtrace sql`, the analyzer views and (later) the report: a small
// interface so the session code does not care which DuckDB build answers. Data crosses it as
// Arrow IPC *stream* bytes (in) and apache-arrow 21 tables and batches (out): engines that bundle
// another Arrow version (duckdb-wasm ships Arrow 17) never see or return our Arrow objects.

import { createRequire } from 'node:module';
import type { RecordBatch, Table } from 'apache-arrow';

export interface SqlEngine {
  /** Which engine answers (`duckdb-wasm`, `duckdb-native`) and its DuckDB version. */
  readonly name: string;
  version(): Promise<string>;
  /**
   * Creates table `name` (replacing one of that name) from Arrow IPC streams. Each chunk is a whole
   * stream (schema, dictionaries, batches, end-of-stream marker); the first creates the table and
   * the rest append, so a caller bounds memory by cutting a large input into several streams.
   * `into`: every stream appends to table `name`, which the caller created (its own column types;
   * DuckDB casts each column to them).
   */
  loadTable(name: string, streams: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, into?: boolean): Promise<void>;
  /**
   * Where the producer of `loadTable`'s streams may write one of them (at least `bytes` long), if the
   * engine keeps buffers for that: it is written once, handed to `loadTable` and not touched after.
   */
  segmentBuffer?(bytes: number): Uint8Array;
  /** Runs one statement; its result, whole. `cancel()` stops it. */
  query(sql: string): Promise<Table>;
  /** Runs a script of one or more statements for their effect (DDL); no result. */
  exec(sql: string): Promise<void>;
  /** Runs one statement; its result batch by batch (exports of large results). */
  queryBatches(sql: string): AsyncIterable<RecordBatch>;
  /** Stops the statement running now, if any (its promise rejects with a SqlError). */
  cancel(): Promise<void>;
  /** Frees the engine (ends its worker). Safe to call twice. */
  close(): Promise<void>;
}

/** DuckDB refused a statement: bad SQL, an unknown table, a failed cast. The message is one line. */
export class SqlError extends Error {
  constructor(message: string) {
    super(oneLine(message));
    this.name = 'SqlError';
  }
}

/**
 * DuckDB messages carry the statement and a caret over several lines ("LINE 1: selec 1 / ^").
 * Keeps the first line, which names the error and where it is.
 */
export function oneLine(message: string): string {
  const first = message.split('\n').find((l) => l.trim() !== '') ?? message;
  return first.trim();
}

/**
 * One statement at a time on a connection: calls run in the order made. `hold()` waits for its
 * turn and keeps the connection until the returned release is called (a result read in pieces).
 */
export class StatementQueue {
  private tail: Promise<void> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    ); // never rejects
    return run;
  }

  async hold(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const before = this.tail;
    this.tail = held;
    await before;
    return release;
  }

  /** Resolves once everything queued so far has finished. */
  idle(): Promise<void> {
    return this.tail;
  }
}

/** The engines there are: duckdb-wasm (the default, always there) and native DuckDB (optional). */
export const ENGINES = ['wasm', 'native'] as const;
export type EngineKind = (typeof ENGINES)[number];

/** What a user may ask for: an engine, or `auto` (native for large inputs when it is installed). */
export const ENGINE_CHOICES = [...ENGINES, 'auto'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

/** Inputs from this many bytes on make `auto` pick native DuckDB (duckdb-wasm copies columns in: see attach.ts). */
export const AUTO_NATIVE_BYTES = 64 << 20;

/**
 * Whether the optional native engine is installed (and loads here). Loaded with `require`, as
 * native.ts does (the module is then cached for it): `import()` would lex its CommonJS first.
 */
export async function nativeInstalled(): Promise<boolean> {
  try {
    createRequire(import.meta.url)('@duckdb/node-api');
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves `auto`: native DuckDB when it is installed and the inputs hold AUTO_NATIVE_BYTES or more,
 * else duckdb-wasm; `note` says which and why (for stderr).
 */
export async function chooseEngine(choice: EngineChoice, inputBytes: readonly number[]): Promise<{ kind: EngineKind; note?: string }> {
  if (choice !== 'auto') return { kind: choice };
  const bytes = inputBytes.reduce((a, b) => a + b, 0);
  const size = `${(bytes / 2 ** 20).toFixed(bytes < 10 << 20 ? 1 : 0)} MiB`;
  if (bytes < AUTO_NATIVE_BYTES)
    return { kind: 'wasm', note: `--engine auto: duckdb-wasm (inputs ${size}, under ${AUTO_NATIVE_BYTES >> 20} MiB)` };
  if (!(await nativeInstalled()))
    return {
      kind: 'wasm',
      note: `--engine auto: duckdb-wasm (inputs ${size}; native DuckDB, the optional @duckdb/node-api, is not installed)`,
    };
  return { kind: 'native', note: `--engine auto: native DuckDB (inputs ${size}, ${AUTO_NATIVE_BYTES >> 20} MiB or more)` };
}

/** Quotes an identifier for DuckDB. */
export const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** Quotes a string literal for DuckDB. */
export const literal = (s: string): string => `'${s.replaceAll("'", "''")}'`;
