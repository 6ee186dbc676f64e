// `invtrace ingest FILE... -o OUT.arrow`: captures to a canonical trace, with a summary of what was
// read, what was inferred and what was skipped (text, or the IngestSummary as --json); reading
// progress on a terminal (cli/render/read-progress.ts). A signal that ends it removes the
// output's temporary file (formats/atomic.ts).

import { removeTempsOnSignal } from '../../formats/atomic.js';
import type { Arch } from '../../formats/codec/table.js';
import { grouped } from '../../formats/ingest/align.js';
import { ingest, type IngestSummary } from '../../formats/ingest/ingest.js';
import { toJson } from '../render/json.js';
import { readProgress } from '../render/read-progress.js';
import { out } from '../run.js';

export interface IngestCliOptions {
  readonly output: string;
  readonly format?: string;
  readonly arch?: Arch;
  readonly strict?: boolean;
  readonly json?: boolean;
}

// Counts grouped as en-US does, without loading ICU's number formatting (60-180 ms on a first call).
const n = grouped;

/** `a 3, b 2, ...` (at most `max` entries), or `none`. */
function counts(m: Readonly<Record<string, number>> | undefined, max = 8): string {
  const e = Object.entries(m ?? {});
  if (e.length === 0) return 'none';
  const shown = e
    .slice(0, max)
    .map(([k, v]) => `${k} ${n(v)}`)
    .join(', ');
  return e.length > max ? `${shown}, ... (${e.length - max} more)` : shown;
}

export function summaryText(s: IngestSummary): string {
  const lines = [
    `${s.output}: ${s.arch} trace, ${n(s.rows)} events from ${s.inputs.join(' + ')} (${s.format}${s.origin ? `, ${s.origin}` : ''})`,
  ];
  if (s.queue) {
    lines.push(`  queue: ${n(s.queue.entries)} x ${s.queue.desc_bytes} B${s.queue.base ? ` at ${s.queue.base}` : ''} (${s.queue.from})`);
  }
  for (const src of s.sources ?? []) {
    const events = Object.values(src.events).reduce((a, b) => a + b, 0);
    const facts = src.facts
      ? `; ${Object.entries(src.facts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`
      : '';
    lines.push(`  read ${src.file} (${src.format}): ${n(src.lines)} lines, ${n(events)} events (${counts(src.events, 6)})${facts}`);
  }
  if (s.commands !== undefined) {
    lines.push(`  wrote: ${n(s.commands)} commands (${counts(s.by_op)}), ${n(s.doorbells ?? 0)} doorbells, ${n(s.acks ?? 0)} acks`);
  }
  if (s.inferred) {
    lines.push(`  inferred: ${n(s.inferred.commands)} commands (${counts(s.inferred.by_op)}), ${n(s.inferred.doorbells)} doorbells`);
  }
  if (s.skipped) {
    lines.push(`  skipped: ${n(s.skipped.malformed_lines)} malformed lines; unknown events: ${counts(s.skipped.unknown_events)}`);
  }
  const a = s.agreement;
  if (a) {
    lines.push(`  agreement: ${a.agree ? 'yes' : 'NO'}: ${a.rule}`);
    if (Object.keys(a.qemu_only_ops).length) lines.push(`    QEMU commands without a guest counterpart: ${counts(a.qemu_only_ops)}`);
    if (Object.keys(a.resolved).length) lines.push(`    QEMU commands of unknown type named by the guest: ${counts(a.resolved)}`);
    const d = a.first_divergence;
    if (d) {
      const q = d.qemu ? `${d.qemu.file}:${d.qemu.line} slot ${d.qemu.slot}` : 'QEMU: end';
      const g = d.guest ? `${d.guest.file}:${d.guest.line}` : 'guest: end';
      lines.push(`    first divergence after ${n(d.after_matched)} matched commands (${q}; ${g}): ${d.message}`);
      lines.push(
        `    ${n(a.divergences)} divergence${a.divergences === 1 ? '' : 's'} in all; without a counterpart inside the guest's window: QEMU ${n(a.qemu_unmatched)}, guest ${n(a.guest_unmatched)}`,
      );
    }
  }
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

export async function ingestCommand(files: string[], opts: IngestCliOptions): Promise<number> {
  const { refuseInput } = await import('../inputs.js');
  for (const f of files) refuseInput('ingest', 'capture files of one run or a JSONL scenario', f, ['capture']);
  const p = readProgress();
  // Ctrl-C or a kill while the output is written leaves no temporary file behind.
  const stopRemoving = removeTempsOnSignal();
  let s: IngestSummary;
  try {
    s = await ingest(files, { ...opts, progress: p.update });
  } finally {
    stopRemoving();
    p.done();
  }
  out(opts.json ? toJson(s) : summaryText(s));
  return 0;
}
