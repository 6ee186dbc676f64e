// Exports of Arrow batches (a query result, a table, a whole trace) to Parquet and CSV, offline and
// batch by batch. duckdb-wasm cannot load its parquet extension without a network, so Parquet goes
// through parquet-wasm (Arrow IPC in, Parquet out, streamed: one row group per batch), and CSV is
// written here. Also `COPY ... TO 'file'` statements, which the SQL front ends hand to this module
// instead of DuckDB (whose files would land in its in-memory file system).

import { extname } from 'node:path';
import { Schema, Table, tableToIPC, type DataType, type RecordBatch } from 'apache-arrow';
import { AtomicFile } from '../formats/atomic.js';
import { cellReader, type Cell } from './rows.js';

export const EXPORT_FORMATS = ['parquet', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The format an output path asks for by its extension, if any. */
export function formatOfPath(path: string): ExportFormat | undefined {
  const ext = extname(path).toLowerCase().slice(1);
  return (EXPORT_FORMATS as readonly string[]).includes(ext) ? (ext as ExportFormat) : undefined;
}

const CSV_SPECIAL = /[",\r\n]|^\s|\s$/;

/** One CSV field (RFC 4180): NULL is empty, text with a comma, quote or line break is quoted. */
export function csvField(v: Cell): string {
  if (v === null) return '';
  const s = typeof v === 'object' ? JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) : String(v);
  return CSV_SPECIAL.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const csvHeader = (schema: Schema): string => schema.fields.map((f) => csvField(f.name)).join(',');

/** The CSV lines of one batch (no header). */
export function* csvLines(batch: RecordBatch): Generator<string> {
  const cols = batch.schema.fields.map((f, i) => ({ vec: batch.getChildAt(i)!, read: cellReader(f.type as DataType) }));
  for (let r = 0; r < batch.numRows; r++) yield cols.map((c) => csvField(c.read(c.vec.get(r)))).join(',');
}

/**
 * Writes batches to `path` atomically as Parquet (zstd) or CSV with a header line. `schemaIfEmpty`
 * gives the columns when there is no batch at all (an empty result still gets its header).
 * Returns the rows written.
 */
export async function writeBatches(
  path: string,
  format: ExportFormat,
  batches: AsyncIterable<RecordBatch>,
  schemaIfEmpty: () => Promise<Schema>,
): Promise<number> {
  const file = new AtomicFile(path);
  try {
    const rows = format === 'csv' ? await writeCsv(file, batches, schemaIfEmpty) : await writeParquet(file, batches, schemaIfEmpty);
    file.commit();
    return rows;
  } catch (e) {
    file.abort();
    throw e;
  }
}

async function writeCsv(file: AtomicFile, batches: AsyncIterable<RecordBatch>, schemaIfEmpty: () => Promise<Schema>): Promise<number> {
  const enc = new TextEncoder();
  let rows = 0;
  let headed = false;
  for await (const b of batches) {
    if (!headed) file.write(enc.encode(`${csvHeader(b.schema)}\n`));
    headed = true;
    let chunk = '';
    for (const line of csvLines(b)) {
      chunk += `${line}\n`;
      if (chunk.length > 1 << 20) {
        file.write(enc.encode(chunk));
        chunk = '';
      }
    }
    file.write(enc.encode(chunk));
    rows += b.numRows;
  }
  if (!headed) file.write(enc.encode(`${csvHeader(await schemaIfEmpty())}\n`));
  return rows;
}

async function writeParquet(file: AtomicFile, batches: AsyncIterable<RecordBatch>, schemaIfEmpty: () => Promise<Schema>): Promise<number> {
  const pw = await import('parquet-wasm');
  const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.ZSTD).build();
  let rows = 0;
  const it = batches[Symbol.asyncIterator]();
  let first = await it.next();
  if (first.done) {
    // parquet-wasm's stream writer needs a batch to learn the schema: an empty file is written whole.
    const empty = pw.Table.fromIPCStream(tableToIPC(new Table(await schemaIfEmpty()), 'stream'));
    file.write(pw.writeParquet(empty, props));
    return 0;
  }
  // Arrow 21 batch -> IPC stream -> parquet-wasm record batches (in WebAssembly memory), one at a time.
  const source = new ReadableStream({
    async pull(ctrl) {
      const r = first.done ? await it.next() : first;
      first = { done: true, value: undefined };
      if (r.done) {
        ctrl.close();
        return;
      }
      rows += r.value.numRows;
      const t = pw.Table.fromIPCStream(tableToIPC(new Table(r.value), 'stream'));
      for (const b of t.recordBatches()) ctrl.enqueue(b);
      t.free();
    },
  });
  const out = await pw.transformParquetStream(source, props);
  for await (const chunk of out as unknown as AsyncIterable<Uint8Array>) file.write(chunk);
  return rows;
}

export interface CopyStatement {
  /** The query whose rows are exported (a bare table name becomes SELECT * FROM it). */
  readonly query: string;
  readonly path: string;
  readonly format: ExportFormat;
}

const COPY = /^\s*COPY\s+([\s\S]+?)\s+TO\s+'((?:[^']|'')*)'\s*(?:(?:WITH\s*)?\(([^)]*)\))?\s*;?\s*$/i;

/**
 * Recognizes `COPY (query) TO 'out.parquet'` and `COPY table TO 'out.csv' (FORMAT csv)`. Returns
 * undefined for any other statement; an export to an unsupported format is an error (a string).
 */
export function parseCopy(sql: string): CopyStatement | string | undefined {
  const m = COPY.exec(sql);
  if (m === null) return undefined;
  const src = m[1]!.trim();
  const path = m[2]!.replaceAll("''", "'");
  const opt = /FORMAT\s*'?(\w+)'?/i.exec(m[3] ?? '');
  const format = (opt?.[1]?.toLowerCase() ?? formatOfPath(path)) as ExportFormat | undefined;
  if (format === undefined || !EXPORT_FORMATS.includes(format)) {
    return `COPY exports Parquet or CSV: name a .parquet or .csv file, or add (FORMAT parquet|csv)`;
  }
  const query = src.startsWith('(') && src.endsWith(')') ? src.slice(1, -1) : `SELECT * FROM ${src}`;
  return { query, path, format };
}
