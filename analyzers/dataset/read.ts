// Reads a Parquet result dataset (layout.ts) back as one Arrow table per result table, with its
// `policy` and `trace` columns restored from the partition folders, into a temporary folder of
// Arrow files that a SQL session loads like a replay folder (`host_ops.arrow`, ...). parquet-wasm
// reads each part (Parquet -> Arrow IPC stream -> apache-arrow).

import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Field,
  RecordBatch,
  type Data,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  Utf8,
  makeData,
  vectorFromArray,
} from 'apache-arrow';
import { writeFileAtomic } from '../../formats/atomic.js';
import { InputFault } from '../../formats/result.js';
import { partitionOf } from './layout.js';

export interface DatasetTables {
  /** The temporary folder of Arrow files (the caller removes it). */
  readonly dir: string;
  /** Rows per table. */
  readonly tables: Readonly<Record<string, number>>;
  readonly traces: readonly string[];
}

const subdirs = (dir: string) =>
  readdirSync(dir)
    .filter((n) => statSync(join(dir, n)).isDirectory())
    .sort();

/** A part file's rows with `policy` first and `trace` last (strings from the path), batch by batch. */
function withPartitions(t: Table, trace: string, policy: string): Table {
  const fields = [new Field('policy', new Utf8(), false), ...t.schema.fields, new Field('trace', new Utf8(), false)];
  const schema = new Schema(fields);
  const batches = t.batches
    .filter((b) => b.numRows > 0)
    .map((b) => {
      const n = b.numRows;
      const constant = (v: string) =>
        vectorFromArray(
          Array.from({ length: n }, () => v),
          new Utf8(),
        ).data[0]!;
      const children = [constant(policy), ...t.schema.fields.map((_f, i) => b.getChildAt(i)!.data[0] as Data), constant(trace)];
      return new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children }));
    });
  return new Table(schema, batches);
}

export async function readDataset(root: string): Promise<DatasetTables> {
  const pw = await import('parquet-wasm');
  const dir = mkdtempSync(join(tmpdir(), 'invtrace-dataset-'));
  const tables: Record<string, number> = {};
  const traces = new Set<string>();
  for (const td of subdirs(root)) {
    const table = partitionOf(td, 'table');
    if (table === undefined) continue;
    const parts: Table[] = [];
    for (const tr of subdirs(join(root, td))) {
      const trace = partitionOf(tr, 'trace');
      if (trace === undefined) throw new InputFault({ file: join(root, td, tr), message: 'expected a trace=NAME folder' });
      traces.add(trace);
      for (const po of subdirs(join(root, td, tr))) {
        const policy = partitionOf(po, 'policy');
        if (policy === undefined) throw new InputFault({ file: join(root, td, tr, po), message: 'expected a policy=NAME folder' });
        for (const f of readdirSync(join(root, td, tr, po))
          .filter((x) => x.endsWith('.parquet'))
          .sort()) {
          const file = join(root, td, tr, po, f);
          let t: Table;
          try {
            const pt = pw.readParquet(readFileSync(file));
            t = tableFromIPC(pt.intoIPCStream());
          } catch (e) {
            throw new InputFault({ file, message: `not a readable Parquet file: ${(e as Error).message}` });
          }
          parts.push(withPartitions(t, trace, policy));
        }
      }
    }
    if (parts.length === 0) continue;
    const schema = parts[0]!.schema;
    const batches = parts.flatMap((p) => p.batches);
    const all = new Table(schema, batches);
    writeFileAtomic(join(dir, `${table}.arrow`), tableToIPC(all, 'file'));
    tables[table] = all.numRows;
  }
  if (Object.keys(tables).length === 0)
    throw new InputFault({ file: root, message: 'no table=NAME/trace=.../policy=.../*.parquet files: not a result dataset' });
  return { dir, tables, traces: [...traces] };
}
