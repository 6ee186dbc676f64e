// Streams apache-arrow record batches into an Arrow IPC file written atomically, with apache-arrow's
// writer: replay's result tables (replay/results.ts) and the rewrite of a trace's cause columns
// (formats/trace/strip-causes.ts). Trace files are written without apache-arrow, with the same
// bytes (formats/arrow/ipc-file-sink.ts, whose test compares the two). Arrow's writer queues encoded
// chunks internally until someone reads them; we take them out right after each batch and write
// them synchronously (one writev for a batch's ~200 buffers), which keeps memory flat. This reads
// the writer's queue (`_sink._values`) of the pinned apache-arrow version;
// formats/trace/trace.test.ts covers it.
//
// The schema (with its metadata: the trace header) lives only in the file's footer: Arrow's file
// writer starts the file with the magic bytes and no schema message, and the batches' bytes do not
// depend on schema metadata. So a header learnt at the end (ingest's counts and notes) is written
// by `finish(schema)` into the footer, with no second pass over the data.

import {
  DataType,
  RecordBatch,
  RecordBatchFileWriter,
  Struct,
  Utf8,
  makeData,
  vectorFromArray,
  type Data,
  type Field,
  type Schema,
} from 'apache-arrow';
import { AtomicFile } from '../atomic.js';

export class ArrowFileSink {
  readonly file: AtomicFile;
  private readonly writer = new RecordBatchFileWriter();
  rows = 0;
  private batches = 0;

  constructor(readonly path: string) {
    this.file = new AtomicFile(path);
  }

  write(batch: RecordBatch): void {
    this.writer.write(batch);
    this.rows += batch.numRows;
    this.batches++;
    this.drain();
  }

  /**
   * Ends the IPC stream (an empty file still carries its schema) without publishing it. The footer
   * carries `schema`, which may differ from the batches' in its metadata only (else an Error).
   */
  finish(schema: Schema): void {
    if (this.batches === 0) this.writer.write(emptyBatch(schema));
    else {
      const w = this.writer as unknown as { _schema: Schema | null };
      if (w._schema === null || !sameFields(w._schema, schema))
        throw new Error('ArrowFileSink: the final schema has other fields than the batches');
      w._schema = schema;
    }
    this.writer.finish();
    this.drain();
  }

  /** Finishes and publishes the file. */
  commit(schema: Schema): void {
    this.finish(schema);
    this.file.commit();
  }

  abort(): void {
    this.file.abort();
  }

  private drain(): void {
    const queue = (this.writer as unknown as { _sink: { _values: Uint8Array[] } })._sink._values;
    if (!Array.isArray(queue)) throw new Error('apache-arrow writer internals changed: cannot stream');
    this.file.writeAll(queue.splice(0));
  }
}

/** Same field names, types and nullability, in order (metadata aside). */
function sameFields(a: Schema, b: Schema): boolean {
  return (
    a.fields.length === b.fields.length &&
    a.fields.every((f, i) => {
      const g = b.fields[i]!;
      return f.name === g.name && f.nullable === g.nullable && String(f.type) === String(g.type);
    })
  );
}

/** A zero-row batch of a schema; dictionary columns get an empty dictionary. */
export function emptyBatch(schema: Schema): RecordBatch {
  const empty = (f: Field): Data => {
    const t = f.type as DataType;
    if (DataType.isDictionary(t)) {
      return makeData({
        type: t,
        length: 0,
        nullCount: 0,
        data: new (t.indices.ArrayType as Int16ArrayConstructor)(0),
        dictionary: vectorFromArray([] as string[], new Utf8()) as never,
      });
    }
    return makeData({ type: t as never, length: 0, nullCount: 0 } as never);
  };
  return new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: 0, nullCount: 0, children: schema.fields.map(empty) }),
  );
}
