// `invtrace ingest FILE... -o OUT.arrow`: captures to a canonical trace, with a summary.

import type { Arch } from '../../formats/codec/table.js';
import { ingest, type IngestSummary } from '../../formats/ingest/ingest.js';
import { toJson } from '../render/json.js';
import { out } from '../run.js';

export interface IngestCliOptions {
  readonly output: string;
  readonly format?: string;
  readonly arch?: Arch;
  readonly strict?: boolean;
  readonly json?: boolean;
}

export function summaryText(s: IngestSummary): string {
  const lines = [`${s.output}: ${s.arch} trace, ${s.rows} events from ${s.inputs.join(' + ')} (${s.format})`];
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

export async function ingestCommand(files: string[], opts: IngestCliOptions): Promise<number> {
  const s = await ingest(files, opts);
  out(opts.json ? toJson(s) : summaryText(s));
  return 0;
}
