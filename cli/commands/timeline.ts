// `invtrace timeline INPUT... -o OUT.json`: a replay as a Perfetto / Trace Event Format timeline
// (analyzers/timeline). INPUT is a replay output folder (its tables and trace), or a trace, captures
// or a JSONL scenario, replayed first (into a temporary folder) under --policy.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runReplay } from '../../replay/run.js';
import { INPUTS, withInputs } from '../inputs.js';
import { progress } from '../render/progress.js';
import { out, UsageError } from '../run.js';
import { splitPolicyList } from '../option-values.js';

export interface TimelineCliOptions {
  readonly output: string;
  readonly policy: string;
  readonly topology?: string;
  readonly costs?: string;
  readonly keepTrace?: string;
}

export async function timelineCommand(inputs: string[], opts: TimelineCliOptions): Promise<number> {
  const { writeTimelineFile } = await import('../../analyzers/timeline/write.js');
  return withInputs(INPUTS.timeline, inputs, opts.keepTrace ? { keepTrace: opts.keepTrace } : {}, async (i) => {
    const trace = i.traces[0];
    if (trace === undefined)
      throw new UsageError(
        `timeline: ${i.noTrace ?? 'no trace'}: give the trace beside the folder (invtrace timeline DIR TRACE.arrow -o OUT.json)`,
      );
    let dir = i.replayDirs[0];
    let temp: string | undefined;
    try {
      if (dir === undefined) {
        temp = mkdtempSync(join(tmpdir(), 'invtrace-timeline-'));
        dir = temp;
        const p = progress(`replaying ${i.source}`);
        try {
          await runReplay(trace, {
            policies: splitPolicyList(opts.policy),
            outDir: temp,
            ...(opts.topology ? { topologyFile: opts.topology } : {}),
            ...(opts.costs ? { costsFile: opts.costs } : {}),
            onProgress: p.update,
          });
        } finally {
          p.done();
        }
      }
      const r = await writeTimelineFile(trace, dir, opts.output);
      const tracks = Object.entries(r.tracks).map(([k, v]) => `  ${k}: ${v.toLocaleString('en-US')}`);
      out(
        [
          `wrote ${r.path}: ${(r.bytes / (1 << 20)).toFixed(1)} MiB, ${r.events.toLocaleString('en-US')} events (open it in ui.perfetto.dev or chrome://tracing)`,
          ...tracks,
        ].join('\n'),
      );
      return 0;
    } finally {
      if (temp !== undefined) rmSync(temp, { recursive: true, force: true });
    }
  });
}
