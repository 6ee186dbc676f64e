// The end of an Arrow IPC file (format/File.fbs `Footer`, `Block`; Columnar.rst, "IPC File
// Format"), as apache-arrow 21's RecordBatchFileWriter writes it (ipc/writer.mjs _writeFooter,
// ipc/metadata/file.mjs Footer.encode): the end-of-stream marker (-1, 0), the Footer flatbuffer
// (the schema with its metadata, the record batches' blocks, then the dictionaries' blocks), its
// length, and the magic.

import { FlatBuilder } from './ipc-flatbuffer.js';
import { METADATA_V5 } from './ipc-message.js';
import type { IpcSchema } from './ipc-model.js';
import { schemaTable } from './ipc-schema.js';

/** Where a message is in the file: its offset, framed metadata length and body length. */
export interface FileBlock {
  readonly offset: number;
  readonly metaDataLength: number;
  readonly bodyLength: number;
}

/** The file's magic bytes, "ARROW1". */
export const MAGIC = Uint8Array.of(0x41, 0x52, 0x52, 0x4f, 0x57, 0x31);

function blocks(b: FlatBuilder, list: readonly FileBlock[]): number {
  b.startVector(24, list.length, 8);
  for (let i = list.length - 1; i >= 0; i--) {
    const k = list[i]!;
    b.prep(8, 24);
    b.writeInt64(k.bodyLength);
    b.pad(4);
    b.writeInt32(k.metaDataLength);
    b.writeInt64(k.offset);
  }
  return b.endVector();
}

export function footerFlatbuffer(schema: IpcSchema, dictionaries: readonly FileBlock[], recordBatches: readonly FileBlock[]): Uint8Array {
  const b = new FlatBuilder(4096);
  const s = schemaTable(b, schema);
  const batches = blocks(b, recordBatches);
  const dicts = blocks(b, dictionaries);
  b.startObject(5);
  b.fieldOffset(1, s);
  b.fieldInt16(0, METADATA_V5, 0);
  b.fieldOffset(3, batches);
  b.fieldOffset(2, dicts);
  return b.finish(b.endObject());
}

/** The file's last bytes: end-of-stream marker, footer, its length, magic. */
export function footerChunks(schema: IpcSchema, dictionaries: readonly FileBlock[], recordBatches: readonly FileBlock[]): Uint8Array[] {
  const footer = footerFlatbuffer(schema, dictionaries, recordBatches);
  return [new Uint8Array(Int32Array.of(-1, 0).buffer), footer, new Uint8Array(Int32Array.of(footer.byteLength).buffer), MAGIC];
}
