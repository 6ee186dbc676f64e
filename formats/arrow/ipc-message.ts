// The IPC messages of a file's batches (format/Message.fbs `Message`, `RecordBatch`,
// `DictionaryBatch`, `FieldNode`, `Buffer`) and their framing, as apache-arrow 21's writer makes
// them (ipc/writer.mjs _writeMessage, _writeBodyBuffers; ipc/metadata/message.mjs Message.encode,
// encodeRecordBatch; visitor/vectorassembler.mjs). Per column, in field order: a FieldNode (length,
// null count) and two buffers, the validity bitmap (empty when no value is null) and the values;
// each buffer's region is its length rounded up to 8 bytes, and the body is the buffers, each
// padded to 8 bytes (empty ones take no room). A message is the continuation marker (-1), the
// metadata length, the Message flatbuffer and zeros up to a multiple of 8 (Columnar.rst,
// "Encapsulated message format").

import { FlatBuilder } from './ipc-flatbuffer.js';

/** Message.fbs `MetadataVersion.V5`; `MessageHeader` tags. */
export const METADATA_V5 = 4;
const HEADER_DICTIONARY_BATCH = 2;
const HEADER_RECORD_BATCH = 3;

/** A batch's body: its nodes, buffer regions (offset, length) and the bytes to write. */
export class Body {
  /** Per column: length, null count. */
  readonly nodes: number[] = [];
  /** Per buffer: offset, length (rounded up to 8). */
  readonly regions: number[] = [];
  /** The buffers, in order (empty ones included: they take no room). */
  readonly buffers: Uint8Array[] = [];
  byteLength = 0;

  node(length: number, nullCount: number): void {
    this.nodes.push(length, nullCount);
  }

  buffer(bytes: Uint8Array): void {
    const length = (bytes.byteLength + 7) & ~7;
    this.buffers.push(bytes);
    this.regions.push(this.byteLength, length);
    this.byteLength += length;
  }
}

/** Zeros to pad with (at most 7 are needed). */
const ZEROS = new Uint8Array(8);

/** Appends the body's buffers, each padded to 8 bytes, to `out`. */
export function bodyChunks(body: Body, out: Uint8Array[]): void {
  for (const b of body.buffers) {
    if (b.byteLength === 0) continue;
    out.push(b);
    const pad = ((b.byteLength + 7) & ~7) - b.byteLength;
    if (pad > 0) out.push(ZEROS.subarray(0, pad));
  }
}

/**
 * A vector of 16-byte structs of two int64s (Message.fbs `FieldNode` {length, null_count}, `Buffer`
 * {offset, length}) from `pairs` laid out flat, first member first; built last struct first.
 */
function pairVector(b: FlatBuilder, pairs: readonly number[]): number {
  b.startVector(16, pairs.length / 2, 8);
  for (let i = pairs.length - 2; i >= 0; i -= 2) {
    b.prep(8, 16);
    b.writeInt64(pairs[i + 1]!);
    b.writeInt64(pairs[i]!);
  }
  return b.endVector();
}

/** The `RecordBatch` table of `length` rows with the body's nodes and regions. */
function recordBatchTable(b: FlatBuilder, length: number, body: Body): number {
  const nodesVector = pairVector(b, body.nodes);
  const buffersVector = pairVector(b, body.regions);
  b.startObject(5);
  b.fieldInt64(0, length, 0);
  b.fieldOffset(1, nodesVector);
  b.fieldOffset(2, buffersVector);
  return b.endObject();
}

/** The `Message` flatbuffer around a header table. */
function message(b: FlatBuilder, headerType: number, header: number, bodyLength: number): Uint8Array {
  b.startObject(5);
  b.fieldInt16(0, METADATA_V5, 0);
  b.fieldOffset(2, header);
  b.fieldInt8(1, headerType, 0);
  b.fieldInt64(3, bodyLength, 0);
  return b.finish(b.endObject());
}

export function recordBatchMessage(length: number, body: Body): Uint8Array {
  const b = new FlatBuilder(4096);
  return message(b, HEADER_RECORD_BATCH, recordBatchTable(b, length, body), body.byteLength);
}

/** A DictionaryBatch message (not a delta) of dictionary `id`, whose one column has `length` values. */
export function dictionaryBatchMessage(id: number, length: number, body: Body): Uint8Array {
  const b = new FlatBuilder(1024);
  const data = recordBatchTable(b, length, body);
  b.startObject(3);
  b.fieldInt64(0, id, 0);
  b.fieldInt8(2, 0, 0);
  b.fieldOffset(1, data);
  return message(b, HEADER_DICTIONARY_BATCH, b.endObject(), body.byteLength);
}

/**
 * The framing of a message (continuation marker, metadata length, the flatbuffer, padding to 8) as
 * chunks appended to `out`; returns the framed size (the file block's `metaDataLength`).
 */
export function framedMessage(flatbuffer: Uint8Array, out: Uint8Array[]): number {
  const aligned = (flatbuffer.byteLength + 8 + 7) & ~7;
  out.push(new Uint8Array(Int32Array.of(-1, aligned - 8).buffer), flatbuffer);
  const pad = aligned - 8 - flatbuffer.byteLength;
  if (pad > 0) out.push(ZEROS.subarray(0, pad));
  return aligned;
}
