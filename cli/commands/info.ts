// `invtrace info INPUT... [--json]`: counts per op and role, doorbells, wraps, geometry, span. INPUT is
// a trace, captures or a JSONL scenario (ingested on the fly) or a replay folder (its trace).

import { openTrace } from '../../formats/trace/io.js';
import { traceInfo, type TraceInfo } from '../../formats/trace/info.js';
import { toJson } from '../render/json.js';
import { renderTable } from '../render/table.js';
import { INPUTS, withInputs } from '../inputs.js';
import { out } from '../run.js';

export function infoText(i: TraceInfo): string {
  const lines = [
    `${i.file}: ${i.arch}, queue of ${i.queue_entries} x ${i.desc_bytes} B${i.queue_base ? ` at ${i.queue_base}` : ''}`,
    `events ${i.events}: commands ${i.commands}, doorbells ${i.doorbells}, acks ${i.acks}, faults ${i.faults}` +
      (i.inferred ? ` (${i.inferred} inferred)` : ''),
  ];
  if (i.entries_per_doorbell) {
    const e = i.entries_per_doorbell;
    lines.push(`entries per doorbell: min ${e.min}, mean ${e.mean}, max ${e.max}; ring wraps ${i.wraps}`);
  }
  for (const q of i.queues ?? []) {
    lines.push(
      `queue ${q.queue}: ${q.queue_entries} entries, ${q.devices} devices; commands ${q.commands}, doorbells ${q.doorbells}, ring wraps ${q.wraps}`,
    );
  }
  if (i.span) lines.push(`span: ${i.span.seconds.toFixed(6)} s`);
  if (i.devices !== null) lines.push(`topology: ${i.devices} devices`);
  if (i.sources.length) lines.push(`sources: ${i.sources.join(', ')}`);
  const errs = Object.entries(i.errors);
  if (errs.length) lines.push(`refused by the hardware: ${errs.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(
    '',
    renderTable(
      ['op', 'count'],
      Object.entries(i.by_op).map(([k, v]) => [k, v]),
    ),
  );
  return lines.join('\n');
}

export async function infoCommand(inputs: string[], opts: { json?: boolean; keepTrace?: string }): Promise<number> {
  return withInputs(INPUTS.info, inputs, { ...(opts.keepTrace ? { keepTrace: opts.keepTrace } : {}) }, async (i) => {
    const info = await traceInfo(await openTrace(i.oneTrace()));
    // An ingested trace in a temporary folder is named by what it was ingested from.
    const shown = i.ingested && !opts.keepTrace ? { ...info, file: i.source } : info;
    out(opts.json ? toJson(shown) : infoText(shown));
    return 0;
  });
}
