// `invtrace export TRACE -o OUT.jsonl`: a trace in another format, written atomically.

import { extname } from 'node:path';
import { AtomicFile } from '../../formats/atomic.js';
import { JsonlWriter } from '../../formats/jsonl/writer.js';
import { openTrace } from '../../formats/trace/io.js';
import { out, UsageError } from '../run.js';

export async function exportCommand(trace: string, opts: { output: string }): Promise<number> {
  const ext = extname(opts.output).toLowerCase();
  if (ext !== '.jsonl') throw new UsageError(`cannot export to "${ext || opts.output}": supported: .jsonl`);
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
