// A trace's record batches read into reused memory: each batch's message is read (readSync) into
// one buffer that grows to the largest message and is read into again for the next, so walking a
// large trace touches no fresh pages per batch. apache-arrow's reader (OpenTrace.batches) allocates
// a fresh Uint8Array per message body, and on a PVM guest faulting those pages in costs more than
// the read (g1m.arrow, 233 MB: 23 bodies of 10 MB; reading the file in 1.4 MB chunks takes 330-380 ms
// into fresh buffers, 45-70 ms into one reused). A batch's columns are views
// of that buffer, so a batch is valid only until the next one is asked for: an opt-in for consumers
// that finish with each batch first (OpenTrace.reusingBatches). The footer and the dictionaries are
// read by apache-arrow's own reader, as for batches(), and stay in memory of their own (every batch
// refers to them). Also counts a trace's rows from the batches' metadata, with no body read.
// VectorLoader is imported from its module (apache-arrow's package exports "./*"): the same module
// the package's main entry uses, so its Data and Vectors are apache-arrow's own. The test
// (reused-batches.test.ts) compares every column with batches()' on the pinned version.

import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import {
  Message,
  MessageHeader,
  RecordBatch,
  RecordBatchReader,
  Struct,
  makeData,
  type AsyncRecordBatchFileReader,
  type Data,
  type Schema,
  type Vector,
} from 'apache-arrow';
import { VectorLoader } from 'apache-arrow/visitor/vectorloader';
import { InputFault } from '../result.js';

/** Where one record batch's message starts in the file (the footer's Block). */
interface Block {
  readonly offset: number;
}

/** What apache-arrow's reader learnt from the file's footer and dictionary batches. */
interface FileIndex {
  readonly schema: Schema;
  readonly dictionaries: Map<number, Vector>;
  readonly blocks: readonly Block[];
}

// apache-arrow's messages for the same faults (ipc/message.ts), so either reader says the same.
const shortMetadata = (expected: number, actual: number) => `Expected to read ${expected} metadata bytes, but only read ${actual}.`;
const shortBody = (expected: number, actual: number) => `Expected to read ${expected} bytes for message body, but only read ${actual}.`;
const notRecordBatch = 'Expected RecordBatch Message in stream, but was null or length 0.';

/** The footer and dictionaries, by apache-arrow (an open that fails is the file's fault). */
async function indexOf(fh: FileHandle): Promise<FileIndex> {
  const r = (await RecordBatchReader.from(fh)) as AsyncRecordBatchFileReader;
  await r.open();
  const footer = r.footer;
  if (footer === null) throw new Error('not an Arrow IPC file (no footer)');
  return { schema: r.schema, dictionaries: r.dictionaries, blocks: [...footer.recordBatches()] };
}

/** Reads `n` bytes at `pos` into `buf` from 0; how many it got (fewer only at the end of the file). */
function readAt(fd: number, buf: Uint8Array, n: number, pos: number): number {
  let got = 0;
  while (got < n) {
    const k = readSync(fd, buf, got, n - got, pos + got);
    if (k === 0) break;
    got += k;
  }
  return got;
}

/** One buffer read into again and again, grown (never shrunk) to the largest read so far. */
class ReusedBuffer {
  private bytes = new Uint8Array(0);

  /** `n` bytes at `pos` of `fd`, in this buffer: valid until the next read. */
  read(fd: number, n: number, pos: number, short: (expected: number, actual: number) => string): Uint8Array {
    // Arrow's buffers are 8-byte aligned within a body; a body at 0 of its own ArrayBuffer keeps that.
    if (this.bytes.length < n) this.bytes = new Uint8Array(n);
    const got = readAt(fd, this.bytes, n, pos);
    if (got < n) throw new Error(short(n, got));
    return this.bytes.subarray(0, n);
  }
}

/**
 * The message of a record batch block: its metadata decoded (apache-arrow's Message) and where its
 * body starts. The metadata is framed as in an IPC stream (ARROW-6313): 0xFFFFFFFF, then its length
 * (or, before Arrow 0.15, only its length), then the flatbuffer.
 */
function messageAt(fd: number, b: Block, meta: ReusedBuffer): { message: Message<MessageHeader.RecordBatch>; bodyAt: number } {
  const prefix = meta.read(fd, 8, b.offset, shortMetadata);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const first = view.getInt32(0, true);
  const skip = first === -1 ? 8 : 4;
  const length = first === -1 ? view.getInt32(4, true) : first;
  if (length <= 0) throw new Error(notRecordBatch);
  const bytes = meta.read(fd, length, b.offset + skip, shortMetadata);
  const message = Message.decode(bytes);
  if (!message.isRecordBatch()) throw new Error(notRecordBatch);
  return { message, bodyAt: b.offset + skip + length };
}

/** One record batch over `body` (as apache-arrow's reader builds it, ipc/reader.ts _loadRecordBatch). */
function loadBatch(ix: FileIndex, message: Message<MessageHeader.RecordBatch>, body: Uint8Array): RecordBatch {
  const header = message.header();
  if (header.compression != null) throw new Error('Record batch is compressed, not read in reused memory');
  const loader = new VectorLoader(
    body,
    header.nodes,
    header.buffers,
    ix.dictionaries,
    ix.schema.metadataVersion,
    header.variadicBufferCounts,
  );
  const children = ix.schema.fields.map((f) => loader.visit(f.type) as Data);
  const data = makeData({ type: new Struct(ix.schema.fields), length: header.length, children });
  return new RecordBatch(ix.schema, data, message.metadata);
}

/** The file, or the InputFault openTrace gives when it is gone. */
async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    throw new InputFault({ file: path, message: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message });
  }
}

/** Any fault reading `path` as one InputFault line, as OpenTrace.batches() words it. */
function asInputFault(path: string, e: unknown): InputFault {
  if (e instanceof InputFault) return e;
  return new InputFault({ file: path, message: `corrupt Arrow file: ${(e as Error).message}` });
}

/**
 * The record batches of the trace file at `path`, each in memory reused for the next: a batch (its
 * columns, every typed array of viewBatch) is valid only until the next is asked for. A file without
 * record batches gives one empty batch, as apache-arrow's reader does.
 */
export async function* reusingBatches(path: string): AsyncGenerator<RecordBatch> {
  const fh = await openFile(path);
  try {
    const ix = await indexOf(fh);
    if (ix.blocks.length === 0) {
      yield new RecordBatch(ix.schema);
      return;
    }
    const meta = new ReusedBuffer();
    const body = new ReusedBuffer();
    for (const b of ix.blocks) {
      const { message, bodyAt } = messageAt(fh.fd, b, meta);
      const n = message.bodyLength;
      yield loadBatch(ix, message, n > 0 ? body.read(fh.fd, n, bodyAt, shortBody) : new Uint8Array(0));
    }
  } catch (e) {
    throw asInputFault(path, e);
  } finally {
    await fh.close();
  }
}

/** How many rows the trace file at `path` holds, from its batches' metadata (no body is read). */
export async function countRows(path: string): Promise<number> {
  const fh = await openFile(path);
  try {
    const ix = await indexOf(fh);
    const meta = new ReusedBuffer();
    let rows = 0;
    for (const b of ix.blocks) rows += messageAt(fh.fd, b, meta).message.header().length;
    return rows;
  } catch (e) {
    throw asInputFault(path, e);
  } finally {
    await fh.close();
  }
}
