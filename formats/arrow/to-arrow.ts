// The plain IPC model (formats/arrow/ipc-model.ts) as apache-arrow objects, for in-memory users of
// built batches (formats/trace/memory-sink.ts, tests) and readers that compare schemas: a Schema
// per IpcSchema and a FixedDictionary per StringDictionary (cached, so every batch of a builder
// shares one Schema and one dictionary Vector, as apache-arrow's writer needs), and a RecordBatch
// over a batch's own buffers (no copy).

import {
  Data,
  Field,
  Int8,
  Int16,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  makeData,
  type DataType,
} from 'apache-arrow';
import { FixedDictionary } from './columns.js';
import type { StringDictionary } from './dictionary.js';
import type { ColumnChunk, IntType, IpcBatch, IpcField, IpcSchema } from './ipc-model.js';

/** apache-arrow's class for an integer type. */
export function arrowInt(t: IntType): Int8 | Int16 | Int32 | Int64 | Uint8 | Uint16 | Uint32 | Uint64 {
  switch (t.bitWidth) {
    case 8:
      return t.signed ? new Int8() : new Uint8();
    case 16:
      return t.signed ? new Int16() : new Uint16();
    case 32:
      return t.signed ? new Int32() : new Uint32();
    case 64:
      return t.signed ? new Int64() : new Uint64();
  }
}

const dictionaries = new WeakMap<StringDictionary, FixedDictionary>();

/** The apache-arrow dictionary (type, vector) of `d`, one per dictionary. */
export function fixedDictionaryOf(d: StringDictionary): FixedDictionary {
  let f = dictionaries.get(d);
  if (f === undefined) {
    f = new FixedDictionary(d.id, d.values);
    dictionaries.set(d, f);
  }
  return f;
}

export function arrowType(f: IpcField): DataType {
  return f.dictionary !== undefined ? fixedDictionaryOf(f.dictionary).type : (arrowInt(f.type) as DataType);
}

export function arrowField(f: IpcField): Field {
  return new Field(f.name, arrowType(f), f.nullable);
}

const schemas = new WeakMap<IpcSchema, Schema>();

/** The apache-arrow Schema of `s` (one per IpcSchema object). */
export function arrowSchema(s: IpcSchema): Schema {
  let a = schemas.get(s);
  if (a === undefined) {
    a = new Schema(s.fields.map(arrowField), new Map(s.metadata));
    schemas.set(s, a);
  }
  return a;
}

/** A column as apache-arrow Data of `field`'s type (over the chunk's arrays). */
export function arrowData(field: IpcField, c: ColumnChunk): Data {
  const d = field.dictionary !== undefined ? fixedDictionaryOf(field.dictionary) : undefined;
  return makeData({
    type: arrowType(field),
    length: c.length,
    nullCount: c.nullCount,
    nullBitmap: c.nullBitmap,
    data: c.values,
    ...(d !== undefined ? { dictionary: d.vector } : {}),
  } as never) as Data;
}

/** A batch as an apache-arrow RecordBatch (over the batch's arrays). */
export function arrowBatch(b: IpcBatch): RecordBatch {
  const schema = arrowSchema(b.schema);
  const children = b.schema.fields.map((f, i) => arrowData(f, b.columns[i]!));
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: b.length, nullCount: 0, children }));
}
