// Writes replay result tables (replay -o DIR folders, one per trace) into the Parquet dataset of
// layout.ts: each table split by policy, the `policy` column moved into the path, dictionary
// strings written as plain strings, every other column as the table has it. Each part is written
// atomically through analyzers/export.ts (parquet-wasm, zstd). A (table, policy) with no rows
// still gets its part file, so every table has the same partitions and its schema is readable.

import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  DataType,
  Field,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  Utf8,
  vectorFromArray,
  type Data,
  type Vector,
} from 'apache-arrow';
import { RESULT_TABLES } from '../../formats/input-kind.js';
import { InputFault } from '../../formats/result.js';
import { writeBatches } from '../export.js';
import { partPath } from './layout.js';

export interface DatasetSource {
  /** The trace's name (its partition value). */
  readonly name: string;
  /** The replay output folder holding its result tables. */
  readonly dir: string;
}

export interface DatasetResult {
  readonly dir: string;
  readonly files: number;
  readonly rows: number;
}

function readTable(file: string): Table {
  try {
    return tableFromIPC(readFileSync(file));
  } catch (e) {
    throw new InputFault({
      file,
      message:
        (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing result table' : `not a readable Arrow file: ${(e as Error).message}`,
    });
  }
}

/** Column `v` at `rows`: numbers gathered from the column's typed array, the rest through a builder. */
function gather(v: Vector, type: DataType, rows: readonly number[]): Data {
  if ((DataType.isInt(type) || DataType.isFloat(type)) && v.nullCount === 0) {
    const all = v.toArray() as Int32Array | Float64Array | BigUint64Array;
    const out = new (all.constructor as { new (n: number): typeof all })(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = all[rows[i]!]!;
    return makeData({ type, length: rows.length, nullCount: 0, data: out } as never);
  }
  return vectorFromArray(
    rows.map((r: number): unknown => v.get(r)),
    type,
  ).data[0]!;
}

/** The rows of `t` at `rows`, without its policy column, dictionaries decoded. */
export function pickRows(t: Table, rows: readonly number[]): Table {
  const children: Data[] = [];
  const fields: Field[] = [];
  for (const f of t.schema.fields) {
    if (f.name === 'policy') continue;
    const type = DataType.isDictionary(f.type) ? new Utf8() : (f.type as DataType);
    children.push(gather(t.getChild(f.name)!, type, rows));
    fields.push(new Field(f.name, type, f.nullable));
  }
  const schema = new Schema(fields, t.schema.metadata);
  if (rows.length === 0) return new Table(schema);
  return new Table(schema, [new RecordBatch(schema, makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children }))]);
}

/** Writes the result tables of every source under `root`. */
export async function writeDataset(root: string, sources: readonly DatasetSource[]): Promise<DatasetResult> {
  let files = 0;
  let rows = 0;
  for (const src of sources) {
    const summary = readTable(join(src.dir, 'summary.arrow'));
    const policies = Array.from({ length: summary.numRows }, (_, i) => String(summary.getChild('policy')!.get(i)));
    for (const name of RESULT_TABLES) {
      const t = readTable(join(src.dir, `${name}.arrow`));
      const byPolicy = new Map<string, number[]>(policies.map((p) => [p, []]));
      const pc = t.getChild('policy')!;
      for (let r = 0; r < t.numRows; r++) {
        const p = String(pc.get(r));
        const list = byPolicy.get(p);
        if (list) list.push(r);
        else byPolicy.set(p, [r]);
      }
      for (const [policy, idx] of byPolicy) {
        const part = pickRows(t, idx);
        const path = partPath(root, name, src.name, policy);
        mkdirSync(dirname(path), { recursive: true });
        rows += await writeBatches(
          path,
          'parquet',
          (async function* () {
            for (const b of part.batches) if (b.numRows > 0) yield b;
          })(),
          async () => part.schema,
        );
        files++;
      }
    }
  }
  return { dir: root, files, rows };
}
