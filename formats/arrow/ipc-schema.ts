// A Schema table (format/Schema.fbs `Schema`, `Field`, `DictionaryEncoding`, `Int`, `Utf8`,
// `KeyValue`) written into a flatbuffer as apache-arrow 21 writes it (ipc/metadata/message.mjs
// encodeSchema, encodeField; visitor/typeassembler.mjs): each field's type tables, its (empty)
// children vector and its name before the Field table, the fields before their vector, then the
// custom metadata, then the Schema table. Fields are added in the order apache-arrow adds them,
// which decides the layout (Schema.fbs slot numbers in the `fieldInt*`/`fieldOffset` calls).

import type { FlatBuilder } from './ipc-flatbuffer.js';
import type { IntType, IpcField, IpcSchema } from './ipc-model.js';

/** Schema.fbs `Type` union tags. */
const TYPE_INT = 2;
const TYPE_UTF8 = 5;
/** Schema.fbs `Endianness.Little` (the default: never written). */
const LITTLE = 0;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('ipc-schema: big-endian platforms are not supported');

function intTable(b: FlatBuilder, t: IntType): number {
  b.startObject(2);
  b.fieldInt32(0, t.bitWidth, 0);
  b.fieldInt8(1, t.signed ? 1 : 0, 0);
  return b.endObject();
}

function utf8Table(b: FlatBuilder): number {
  b.startObject(0);
  return b.endObject();
}

/** `DictionaryEncoding`: id (default 0), not ordered (the default), index type. */
function dictionaryEncoding(b: FlatBuilder, id: number, index: IntType): number {
  const indexType = intTable(b, index);
  b.startObject(4);
  b.fieldInt64(0, id, 0);
  b.fieldInt8(2, 0, 0);
  b.fieldOffset(1, indexType);
  return b.endObject();
}

function fieldTable(b: FlatBuilder, f: IpcField): number {
  let type: number;
  let dictionary = 0;
  if (f.dictionary !== undefined) {
    dictionary = dictionaryEncoding(b, f.dictionary.id, f.type);
    type = utf8Table(b);
  } else type = intTable(b, f.type);
  const children = b.offsetVector([]);
  const name = f.name ? b.createString(f.name) : 0;
  b.startObject(7);
  b.fieldOffset(3, type);
  b.fieldInt8(2, f.dictionary !== undefined ? TYPE_UTF8 : TYPE_INT, 0);
  b.fieldOffset(5, children);
  b.fieldInt8(1, f.nullable ? 1 : 0, 0);
  b.fieldOffset(0, name);
  b.fieldOffset(4, dictionary);
  return b.endObject();
}

/** Custom metadata (`[KeyValue]`), or 0 when empty. */
export function keyValues(b: FlatBuilder, metadata: ReadonlyMap<string, string>): number {
  if (metadata.size === 0) return 0;
  const kvs = [...metadata].map(([k, v]) => {
    const key = b.createString(k);
    const value = b.createString(v);
    b.startObject(2);
    b.fieldOffset(0, key);
    b.fieldOffset(1, value);
    return b.endObject();
  });
  return b.offsetVector(kvs);
}

/** The Schema table of `schema`; returns its offset. */
export function schemaTable(b: FlatBuilder, schema: IpcSchema): number {
  const fields = b.offsetVector(schema.fields.map((f) => fieldTable(b, f)));
  const metadata = keyValues(b, schema.metadata);
  b.startObject(4);
  b.fieldOffset(1, fields);
  b.fieldInt16(0, LITTLE, LITTLE);
  b.fieldOffset(2, metadata);
  return b.endObject();
}
