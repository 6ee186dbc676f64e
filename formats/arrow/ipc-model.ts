// What the IPC writer (formats/arrow/ipc-*.ts) writes, as plain data: a schema of integer and
// dictionary-encoded string fields with its metadata, and batches of columns, each a values buffer
// and an optional validity bitmap (Arrow columnar format, "Fixed-size Primitive Layout",
// "Validity bitmaps"). Made by the trace builder without apache-arrow; formats/arrow/to-arrow.ts
// turns the same into apache-arrow's Schema and RecordBatch.

import type { StringDictionary } from './dictionary.js';

/** An integer type (Schema.fbs `Int`). */
export interface IntType {
  readonly bitWidth: 8 | 16 | 32 | 64;
  readonly signed: boolean;
}

export const U8: IntType = { bitWidth: 8, signed: false };
export const U16: IntType = { bitWidth: 16, signed: false };
export const U32: IntType = { bitWidth: 32, signed: false };
export const U64: IntType = { bitWidth: 64, signed: false };
export const I16: IntType = { bitWidth: 16, signed: true };
export const I32: IntType = { bitWidth: 32, signed: true };
export const I64: IntType = { bitWidth: 64, signed: true };

/** A field: an integer column, or (with `dictionary`) Utf8 values coded by integers of `type`. */
export interface IpcField {
  readonly name: string;
  readonly type: IntType;
  readonly nullable: boolean;
  readonly dictionary?: StringDictionary;
}

export interface IpcSchema {
  readonly fields: readonly IpcField[];
  /** Schema custom metadata, in order. */
  readonly metadata: ReadonlyMap<string, string>;
}

/** One column of a batch: `length` values, `nullCount` of them null (then `nullBitmap` tells which). */
export interface ColumnChunk {
  readonly length: number;
  readonly nullCount: number;
  /** One bit a row (1: valid), at least (length + 7) >> 3 bytes; undefined when no row is null. */
  readonly nullBitmap: Uint8Array | undefined;
  /** The values, `length` of them (the typed array of the field's type). */
  readonly values: Uint8Array | Uint16Array | Uint32Array | Int16Array | Int32Array | BigInt64Array | BigUint64Array;
}

export interface IpcBatch {
  readonly schema: IpcSchema;
  readonly length: number;
  /** One per field of the schema, in order. */
  readonly columns: readonly ColumnChunk[];
  /**
   * An ArrayBuffer that holds only zeros, which some columns' buffers may view (a builder's
   * never-written rows): a file sink may leave a hole where they go (formats/atomic.ts).
   */
  readonly zeros?: ArrayBuffer;
}

/** Same field names, types, nullability and dictionaries, in order (metadata aside). */
export function sameFields(a: IpcSchema, b: IpcSchema): boolean {
  return (
    a.fields.length === b.fields.length &&
    a.fields.every((f, i) => {
      const g = b.fields[i]!;
      return (
        f.name === g.name &&
        f.nullable === g.nullable &&
        f.type.bitWidth === g.type.bitWidth &&
        f.type.signed === g.type.signed &&
        f.dictionary?.id === g.dictionary?.id &&
        f.dictionary?.values === g.dictionary?.values
      );
    })
  );
}
