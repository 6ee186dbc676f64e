// `invtrace export INPUT... -o OUT.jsonl|OUT.parquet|OUT.csv`: a trace in another format, written
// atomically (Parquet and CSV: every column, batch by batch, through analyzers/export.ts). INPUT is
// a trace, captures or a JSONL scenario (ingested on the fly) or a replay folder (its trace).

import { extname } from 'node:path';
import { AtomicFile } from '../../formats/atomic.js';
import { JsonlWriter } from '../../formats/jsonl/writer.js';
import { openTrace } from '../../formats/trace/io.js';
import { INPUTS, withInputs } from '../inputs.js';
import { out, UsageError } from '../run.js';

export async function exportCommand(inputs: string[], opts: { output: string; keepTrace?: string }): Promise<number> {
  const ext = extname(opts.output).toLowerCase();
  if (ext !== '.jsonl' && ext !== '.parquet' && ext !== '.csv')
    throw new UsageError(`cannot export to "${ext || opts.output}": supported: .jsonl, .parquet, .csv`);
  return withInputs(INPUTS.export, inputs, { ...(opts.keepTrace ? { keepTrace: opts.keepTrace } : {}) }, (i) =>
    exportTrace(i.oneTrace(), opts.output, ext),
  );
}

async function exportTrace(trace: string, output: string, ext: string): Promise<number> {
  const opts = { output };
  if (ext === '.parquet' || ext === '.csv') {
    const t = await openTrace(trace);
    const { writeBatches } = await import('../../analyzers/export.js');
    const rows = await writeBatches(opts.output, ext === '.csv' ? 'csv' : 'parquet', t.batches(), async () => t.schema);
    out(`wrote ${opts.output} (${rows} rows)`);
    return 0;
  }
  const t = await openTrace(trace);
  const file = new AtomicFile(opts.output);
  const enc = new TextEncoder();
  try {
    const w = new JsonlWriter(t.header, (line) => file.write(enc.encode(`${line}\n`)));
    for await (const b of t.batches()) w.batch(b);
    file.commit();
  } catch (e) {
    file.abort();
    throw e;
  }
  out(`wrote ${opts.output}`);
  return 0;
}
