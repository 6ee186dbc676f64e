// `ingest`: any supported capture to a canonical trace file, format and architecture detected
// (or forced). Writes atomically; returns a summary of what was read, inferred and skipped.

import { basename } from 'node:path';
import type { Arch } from '../codec/table.js';
import type { TraceHeader } from '../trace/header.js';
import { readJsonl } from '../jsonl/reader.js';
import { InputFault } from '../result.js';
import { TraceFileWriter, withVersion } from '../trace/io.js';
import { readJsonlHeader } from '../jsonl/reader.js';
import { sniff } from './detect.js';

export interface IngestOptions {
  readonly output: string;
  readonly format?: string;
  readonly arch?: Arch;
  readonly strict?: boolean;
}

export interface IngestSummary {
  readonly output: string;
  readonly format: string;
  readonly arch: Arch;
  readonly inputs: readonly string[];
  readonly rows: number;
  readonly warnings: readonly string[];
}

export async function ingest(files: readonly string[], opts: IngestOptions): Promise<IngestSummary> {
  if (files.length === 0) throw new InputFault({ message: 'no input files' });
  const sniffed = await Promise.all(files.map(async (f) => ({ file: f, s: opts.format ? { format: opts.format } : await sniff(f) })));
  for (const { file, s } of sniffed) {
    if (s === undefined) throw new InputFault({ file, message: 'unrecognized capture format (use --format to force one)' });
  }
  const format = sniffed[0]!.s!.format;
  if (format === 'jsonl') {
    if (files.length !== 1) throw new InputFault({ message: 'a JSONL scenario is ingested on its own' });
    const file = files[0]!;
    const amend = (h: TraceHeader): TraceHeader => withVersion({ ...h, sources: [{ file: basename(file), format: 'jsonl' }] });
    const header = amend(await readJsonlHeader(file));
    if (opts.arch && opts.arch !== header.arch) {
      throw new InputFault({ file, message: `--arch ${opts.arch} but the header says ${header.arch}` });
    }
    const w = new TraceFileWriter(opts.output, header);
    try {
      const { rows } = await readJsonl(file, w, { amend });
      await w.close();
      return { output: opts.output, format, arch: header.arch, inputs: files, rows, warnings: [] };
    } catch (e) {
      w.abort();
      throw e;
    }
  }
  throw new InputFault({ file: files[0]!, message: `format ${format} is not supported yet` });
}
