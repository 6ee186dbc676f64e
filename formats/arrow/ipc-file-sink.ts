// Streams batches into an Arrow IPC file written atomically, with the bytes apache-arrow 21's
// RecordBatchFileWriter writes for the same batches (formats/arrow/ipc-file-sink.test.ts), without
// loading apache-arrow: the magic, the dictionaries (at the first batch: each dictionary of the
// schema once, in field order), then per batch its RecordBatch message and body, in one writev
// (formats/atomic.ts). The batch's buffers are written out before `write` returns, so a builder may
// reuse them (formats/arrow/fixed-columns.ts); long runs of buffers that hold only zeros (views of
// the batch's `zeros`, or columns whose every row is 0) are left as holes.
//
// The schema (with its metadata: the trace header) lives only in the footer, as in apache-arrow's
// file writer: a header learnt at the end (ingest's counts and notes) is written by `commit(schema)`,
// whose fields must be the batches'. A file of no batches gets one empty batch, its dictionaries
// empty (formats/arrow/file-sink.ts emptyBatch, as written before).

import { AtomicFile } from '../atomic.js';
import { utf8Buffers, type Utf8Buffers } from './dictionary.js';
import { MAGIC, footerChunks, type FileBlock } from './ipc-footer.js';
import { Body, bodyChunks, dictionaryBatchMessage, framedMessage, recordBatchMessage } from './ipc-message.js';
import { sameFields, type ColumnChunk, type IpcBatch, type IpcSchema } from './ipc-model.js';

const EMPTY = new Uint8Array(0);

/** The bytes of a typed array's first `n` values. */
function bytesOf(a: ColumnChunk['values'], n: number): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, n * a.BYTES_PER_ELEMENT);
}

/** A column's node and buffers (validity, values) in a batch's body; the bitmap whole, as apache-arrow writes it (truncateBitmap). */
function addColumn(body: Body, c: ColumnChunk): void {
  body.node(c.length, c.nullCount);
  if (c.nullCount <= 0) body.buffer(EMPTY);
  else if (c.nullBitmap === undefined) throw new Error('IpcFileSink: a column with nulls has no validity bitmap');
  else body.buffer(c.nullBitmap);
  body.buffer(bytesOf(c.values, c.length));
}

/** Empty Utf8 buffers (a dictionary of no values). */
const NO_VALUES: Utf8Buffers = { offsets: new Int32Array(1), bytes: EMPTY };

export class IpcFileSink {
  readonly file: AtomicFile;
  rows = 0;
  /** The schema of the batches written (undefined: none yet). */
  private schema: IpcSchema | undefined;
  private position = 0;
  private readonly dictionaryBlocks: FileBlock[] = [];
  private readonly batchBlocks: FileBlock[] = [];

  constructor(readonly path: string) {
    this.file = new AtomicFile(path);
  }

  write(batch: IpcBatch): void {
    const out: Uint8Array[] = [];
    if (this.schema === undefined) this.start(batch.schema, out, (d) => utf8Buffers(d));
    else if (batch.schema !== this.schema && !sameFields(batch.schema, this.schema))
      throw new Error('IpcFileSink: a batch has other fields than the first');
    this.recordBatch(batch, out);
    this.rows += batch.length;
    this.file.writeAll(out, batch.zeros);
  }

  /** Ends the file (an empty file still carries its schema) without publishing it. */
  finish(schema: IpcSchema): void {
    const out: Uint8Array[] = [];
    if (this.schema === undefined) {
      this.start(schema, out, () => NO_VALUES);
      const columns = schema.fields.map((f): ColumnChunk => ({
        length: 0,
        nullCount: 0,
        nullBitmap: undefined,
        values: emptyValues(f.type.bitWidth),
      }));
      this.recordBatch({ schema, length: 0, columns }, out);
    } else if (!sameFields(this.schema, schema)) throw new Error('IpcFileSink: the final schema has other fields than the batches');
    for (const c of footerChunks(schema, this.dictionaryBlocks, this.batchBlocks)) out.push(c);
    this.file.writeAll(out);
  }

  /** Finishes and publishes the file. */
  commit(schema: IpcSchema): void {
    this.finish(schema);
    this.file.commit();
  }

  abort(): void {
    this.file.abort();
  }

  /** The magic (padded to 8) and the schema's dictionaries, each once, with the values `valuesOf` gives. */
  private start(schema: IpcSchema, out: Uint8Array[], valuesOf: (values: readonly string[]) => Utf8Buffers): void {
    this.schema = schema;
    this.push(out, MAGIC);
    this.push(out, new Uint8Array(2));
    const seen = new Set<number>();
    for (const f of schema.fields) {
      const d = f.dictionary;
      if (d === undefined || seen.has(d.id)) continue;
      seen.add(d.id);
      const v = valuesOf(d.values);
      const n = v.offsets.length - 1;
      const body = new Body();
      body.node(n, 0);
      body.buffer(EMPTY);
      body.buffer(new Uint8Array(v.offsets.buffer, v.offsets.byteOffset, v.offsets.byteLength));
      body.buffer(v.bytes);
      this.message(dictionaryBatchMessage(d.id, n, body), body, out, this.dictionaryBlocks);
    }
  }

  private recordBatch(batch: IpcBatch, out: Uint8Array[]): void {
    const body = new Body();
    for (const c of batch.columns) addColumn(body, c);
    this.message(recordBatchMessage(batch.length, body), body, out, this.batchBlocks);
  }

  /** A framed message and its body, appended to `out` and listed in `blocks`. */
  private message(flatbuffer: Uint8Array, body: Body, out: Uint8Array[], blocks: FileBlock[]): void {
    const from = out.length;
    const offset = this.position;
    const metaDataLength = framedMessage(flatbuffer, out);
    bodyChunks(body, out);
    for (let i = from; i < out.length; i++) this.position += out[i]!.byteLength;
    blocks.push({ offset, metaDataLength, bodyLength: body.byteLength });
  }

  private push(out: Uint8Array[], chunk: Uint8Array): void {
    out.push(chunk);
    this.position += chunk.byteLength;
  }
}

function emptyValues(bitWidth: number): ColumnChunk['values'] {
  return bitWidth === 64 ? new BigUint64Array(0) : new Uint8Array(0);
}
