// Nulls the cause columns of a trace written with a CauseWatch (formats/trace/cause.ts) that
// turned out not to be caching mode, in place (atomically). Reads and writes with apache-arrow: a
// rare second pass, imported only when needed (formats/ingest/assemble.ts).

import { RecordBatch, Struct, makeData, type Data } from 'apache-arrow';
import { ArrowFileSink } from '../arrow/file-sink.js';
import { CodeCol, SmallCol, U8 } from '../arrow/fixed-columns.js';
import { arrowData } from '../arrow/to-arrow.js';
import type { TraceHeader } from './header.js';
import { openTrace } from './io.js';
import { traceIpcSchema } from './fields.js';
import { traceSchema } from './schema.js';

/**
 * `header` is the one the trace was written with. The other columns' bytes are copied unchanged,
 * so the file is the one written without causes.
 */
export async function stripCauses(path: string, header: TraceHeader): Promise<void> {
  const t = await openTrace(path);
  const schema = traceSchema(header);
  const fields = traceIpcSchema(header).fields;
  const iCause = fields.findIndex((f) => f.name === 'cause');
  const iInferred = fields.findIndex((f) => f.name === 'cause_inferred');
  const sink = new ArrowFileSink(path);
  try {
    for await (const b of t.batches()) {
      const n = b.numRows;
      const children = [...b.data.children] as Data[];
      children[iCause] = arrowData(fields[iCause]!, new CodeCol(n).finish(n));
      children[iInferred] = arrowData(fields[iInferred]!, new SmallCol(U8, n).finish(n));
      const data = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children });
      sink.write(new RecordBatch(schema, data));
    }
    sink.commit(schema);
  } catch (e) {
    sink.abort();
    throw e;
  }
}
