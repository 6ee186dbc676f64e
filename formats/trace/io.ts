// Reading and writing canonical trace files (Arrow IPC file format, `.arrow`). Writes stream batch
// by batch into a temporary file and rename into place; reads iterate batches lazily, so neither
// side holds a whole large trace in memory.

import { open, readFile } from 'node:fs/promises';
import { RecordBatch, RecordBatchReader, Schema, Table, type AsyncRecordBatchFileReader } from 'apache-arrow';
import { InputFault } from '../result.js';
import { HEADER_KEY, parseHeader, type TraceHeader } from './header.js';
import { countRows, reusingBatches } from './reused-batches.js';

// Writing lives in file-writer.ts (no apache-arrow); re-exported for the modules that read and write.
export { TraceFileWriter, withVersion } from './file-writer.js';

export function headerOfSchema(schema: Schema, file: string): TraceHeader {
  const raw = schema.metadata.get(HEADER_KEY);
  if (raw === undefined) throw new InputFault({ file, message: `not an invtrace trace (no ${HEADER_KEY} in the Arrow schema metadata)` });
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new InputFault({ file, message: `${HEADER_KEY} metadata is not valid JSON` });
  }
  const h = parseHeader(json);
  if (!h.ok) throw new InputFault({ file, ...h.error });
  return h.value;
}

/** An open trace file: header now, batches on demand. */
export interface OpenTrace {
  readonly path: string;
  readonly header: TraceHeader;
  readonly schema: Schema;
  /** Each batch in memory of its own (apache-arrow's reader): a batch may be kept. */
  batches(): AsyncIterable<RecordBatch>;
  /**
   * The same batches, each read into memory that the next one is read into (reused-batches.ts): a
   * batch, its columns and every typed array of its view (view.ts) are valid only until the next
   * batch is asked for. An explicit opt-in for a walk that is done with each batch before it asks
   * for the next (replay/feed.ts dispatchTrace, replay/topology.ts, replay/shared-host/events.ts);
   * it touches no fresh pages per batch. Absent on a trace not read from a file: use batches(). Both
   * read the file at `path`: an OpenTrace made from another (`{ ...t, batches }`) that serves other
   * batches must not keep them.
   */
  reusingBatches?(): AsyncIterable<RecordBatch>;
  /** How many rows (events) the trace holds, from its batches' metadata: no body is read. */
  countRows?(): Promise<number>;
}

/** A walk's batches: in reused memory when the trace can (see OpenTrace.reusingBatches), else batches(). */
export function batchesReused(t: OpenTrace): AsyncIterable<RecordBatch> {
  return t.reusingBatches?.() ?? t.batches();
}

/** How many rows (events) a trace holds: from the batches' metadata when it can, else by reading them. */
export async function traceRows(t: OpenTrace): Promise<number> {
  if (t.countRows !== undefined) return t.countRows();
  let n = 0;
  for await (const b of t.batches()) n += b.numRows;
  return n;
}

const ARROW_MAGIC = 'ARROW1';

export async function openTrace(path: string): Promise<OpenTrace> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new InputFault({ file: path, message: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message });
  }
  try {
    const magic = Buffer.alloc(6);
    await fh.read(magic, 0, 6, 0);
    if (magic.toString('latin1') !== ARROW_MAGIC) throw new InputFault({ file: path, message: 'not an Arrow IPC file (bad magic)' });
    const reader = (await RecordBatchReader.from(fh)) as AsyncRecordBatchFileReader;
    await reader.open();
    const schema = reader.schema;
    const header = headerOfSchema(schema, path);
    await fh.close();
    return {
      path,
      header,
      schema,
      async *batches() {
        const h = await open(path, 'r');
        try {
          const r = (await RecordBatchReader.from(h)) as AsyncRecordBatchFileReader;
          for await (const b of r) yield b;
        } catch (e) {
          if (e instanceof InputFault) throw e;
          throw new InputFault({ file: path, message: `corrupt Arrow file: ${(e as Error).message}` });
        } finally {
          await h.close();
        }
      },
      reusingBatches: () => reusingBatches(path),
      countRows: () => countRows(path),
    };
  } catch (e) {
    await fh.close().catch(() => undefined);
    if (e instanceof InputFault) throw e;
    throw new InputFault({ file: path, message: `not a readable Arrow IPC file: ${(e as Error).message}` });
  }
}

/** Reads a whole (small) trace into memory. */
export async function readTrace(path: string): Promise<{ header: TraceHeader; table: Table }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new InputFault({ file: path, message: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message });
  }
  if (bytes.subarray(0, 6).toString('latin1') !== ARROW_MAGIC)
    throw new InputFault({ file: path, message: 'not an Arrow IPC file (bad magic)' });
  let table: Table;
  try {
    table = new Table(RecordBatchReader.from(bytes).readAll());
  } catch (e) {
    throw new InputFault({ file: path, message: `corrupt Arrow file: ${(e as Error).message}` });
  }
  return { header: headerOfSchema(table.schema, path), table };
}
