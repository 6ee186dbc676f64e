// `invtrace info TRACE [--json]`: counts per op and role, doorbells, wraps, geometry, span.

import { openTrace } from '../../formats/trace/io.js';
import { traceInfo, type TraceInfo } from '../../formats/trace/info.js';
import { toJson } from '../render/json.js';
import { renderTable } from '../render/table.js';
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
  if (i.span) lines.push(`span: ${i.span.seconds.toFixed(6)} s`);
  if (i.devices !== null) lines.push(`topology: ${i.devices} devices`);
  if (i.sources.length) lines.push(`sources: ${i.sources.join(', ')}`);
  const errs = Object.entries(i.errors);
  if (errs.length) lines.push(`refused by the hardware: ${errs.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push('', renderTable(['op', 'count'], Object.entries(i.by_op).map(([k, v]) => [k, v])));
  return lines.join('\n');
}

export async function infoCommand(trace: string, opts: { json?: boolean }): Promise<number> {
  const info = await traceInfo(await openTrace(trace));
  out(opts.json ? toJson(info) : infoText(info));
  return 0;
}
