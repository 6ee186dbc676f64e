// Any Arrow IPC file (or stream) on disk, read batch by batch, and re-encoded as IPC *stream*
// segments for a SQL engine. Traces carry their header in the schema metadata; result tables of a
// replay are plain Arrow files. Neither side holds a whole large file: batches are read lazily and
// every segment is a complete stream of at most `rowsPerSegment` rows (the engine appends them).

import { open } from 'node:fs/promises';
import { DataType, RecordBatchReader, RecordBatchStreamWriter, Schema, Table, tableToIPC, util, type RecordBatch } from 'apache-arrow';
import { InputFault } from '../formats/result.js';
import { HEADER_KEY, type TraceHeader } from '../formats/trace/header.js';
import { headerOfSchema } from '../formats/trace/io.js';

export interface ArrowSource {
  readonly path: string;
  readonly schema: Schema;
  /** The trace header when the file is an invtrace trace. */
  readonly header?: TraceHeader;
  batches(): AsyncIterable<RecordBatch>;
}

async function readerOf(path: string) {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputFault({ file: path, message: code === 'ENOENT' ? 'no such file' : (e as Error).message });
  }
  try {
    const reader = await RecordBatchReader.from(fh);
    await reader.open();
    return { fh, reader };
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw new InputFault({ file: path, message: `not a readable Arrow IPC file: ${(e as Error).message}` });
  }
}

/** Opens an Arrow IPC file or stream: schema now, batches on demand (each call reads anew). */
export async function openArrow(path: string): Promise<ArrowSource> {
  const { fh, reader } = await readerOf(path);
  const schema = reader.schema as Schema | undefined; // typed as always there, but a file with no messages has none
  await fh.close();
  if (schema === undefined) throw new InputFault({ file: path, message: 'not a readable Arrow IPC file: no schema' });
  const header = schema.metadata.has(HEADER_KEY) ? headerOfSchema(schema, path) : undefined;
  return {
    path,
    schema,
    ...(header ? { header } : {}),
    async *batches() {
      const { fh: h, reader: r } = await readerOf(path);
      try {
        for await (const b of r) yield b;
      } catch (e) {
        throw new InputFault({ file: path, message: `corrupt Arrow file: ${(e as Error).message}` });
      } finally {
        await h.close();
      }
    },
  };
}

/** Default rows per stream segment: 4 builder batches (about 40 MB of trace). */
export const SEGMENT_ROWS = 1 << 18;

/**
 * Re-encodes batches as Arrow IPC streams of at most about `rowsPerSegment` rows each (whole
 * batches; a batch is never split). No input, no stream. A batch whose schema does not compare
 * equal to its segment's (another dictionary, as in batches built one by one) starts a new
 * segment: Arrow JS's stream writer, which makes the same comparison, would otherwise end the
 * stream there and silently drop that batch and every later one.
 */
export async function* ipcSegments(
  batches: AsyncIterable<RecordBatch>,
  rowsPerSegment = SEGMENT_ROWS,
  into?: SegmentBuffer,
): AsyncGenerator<Uint8Array> {
  let writer: RecordBatchStreamWriter | undefined;
  let schema: Schema | undefined;
  let rows = 0;
  for await (const b of batches) {
    if (writer && b.schema !== schema && !util.compareSchemas(b.schema, schema)) {
      yield await streamBytes(writer, into);
      writer = undefined;
      rows = 0;
    }
    schema = b.schema;
    writer ??= new RecordBatchStreamWriter();
    writer.write(b);
    rows += b.numRows;
    if (rows >= rowsPerSegment) {
      yield await streamBytes(writer, into);
      writer = undefined;
      rows = 0;
    }
  }
  if (writer) yield await streamBytes(writer, into);
}

/** A buffer of at least `bytes` to write one stream into (SqlEngine.segmentBuffer). */
export type SegmentBuffer = (bytes: number) => Uint8Array;

/**
 * The writer's stream as one array: a new one (Arrow JS joins its pieces), or the pieces copied
 * into the buffer `into` gives.
 */
async function streamBytes(writer: RecordBatchStreamWriter, into: SegmentBuffer | undefined): Promise<Uint8Array> {
  writer.finish();
  if (!into) return writer.toUint8Array(true);
  const pieces: Uint8Array[] = [];
  let bytes = 0;
  for await (const p of writer as AsyncIterable<Uint8Array>) {
    pieces.push(p);
    bytes += p.byteLength;
  }
  const out = into(bytes).subarray(0, bytes);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** ipcSegments, where an empty input gives one stream holding only the schema, so the table is still created. */
export async function* ipcStreams(
  schema: Schema,
  batches: AsyncIterable<RecordBatch>,
  rowsPerSegment = SEGMENT_ROWS,
  into?: SegmentBuffer,
): AsyncGenerator<Uint8Array> {
  let any = false;
  for await (const segment of ipcSegments(batches, rowsPerSegment, into)) {
    any = true;
    yield segment;
  }
  if (!any) yield emptyStream(schema);
}

/**
 * A stream with the schema and no rows. DuckDB's Arrow reader wants every dictionary at the start
 * of a stream and an empty Arrow JS table writes none: dictionary columns are declared by their
 * value type instead (they arrive as VARCHAR either way).
 */
export function emptyStream(schema: Schema): Uint8Array {
  const fields = schema.fields.map((f) => (DataType.isDictionary(f.type) ? f.clone({ type: f.type.dictionary as DataType }) : f));
  return tableToIPC(new Table(new Schema(fields, schema.metadata)), 'stream');
}
