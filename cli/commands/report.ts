// `invtrace report INPUT... -o DIR [--policy ...]`: a readable report of a replay: Markdown and
// self-contained HTML with the comparison, the key findings, the violations in context, the
// latency distributions and SVG charts (analyzers/report). INPUT is a trace, capture files (or a
// JSONL scenario) ingested on the fly, or a replay output folder; a shared-host replay folder
// (replay --shared-host -o DIR) gives the many-VMs report (analyzers/report/shared-host.ts).

import { writeReport } from '../../analyzers/report/report.js';
import { writeSharedHostReport } from '../../analyzers/report/shared-host.js';
import { isSharedHostFolder } from '../../formats/input-kind.js';
import type { EngineKind } from '../../analyzers/sql-engine/engine.js';
import { join } from 'node:path';
import { INPUTS, sourceOf, withInputs } from '../inputs.js';
import { progress } from '../render/progress.js';
import { out } from '../run.js';
import { splitPolicyList } from '../option-values.js';

export interface ReportCliOptions {
  readonly output: string;
  readonly policy: string;
  readonly topology?: string;
  readonly costs?: string;
  readonly engine?: EngineKind;
  readonly keepTrace?: string;
}

export async function reportCommand(inputs: string[], opts: ReportCliOptions): Promise<number> {
  // A shared-host replay folder (replay T1 T2 … --shared-host -o DIR): the many-VMs report.
  if (inputs.length === 1 && isSharedHostFolder(inputs[0]!)) {
    const r = writeSharedHostReport(inputs[0]!, opts.output);
    const bad = r.data.host.policies.filter((x) => !x.correct);
    out(
      `${inputs[0]}: ${r.data.shared_host.vms} VMs on one host, ${r.data.host.policies.length} policies, ${bad.length === 0 ? 'every VM correct' : `incorrect under ${bad.map((x) => x.policy).join(', ')}`}`,
    );
    out(`wrote ${r.markdown}, ${r.html} and ${r.charts.join(', ')}`);
    return 0;
  }
  const p = progress('report');
  let r;
  try {
    r = await withInputs(INPUTS.report, inputs, { ingestTo: opts.keepTrace ?? join(opts.output, 'trace.arrow'), onStage: p.stage }, (src) =>
      writeReport(sourceOf(src), opts.output, {
        policies: splitPolicyList(opts.policy),
        ...(opts.topology ? { topologyFile: opts.topology } : {}),
        ...(opts.costs ? { costsFile: opts.costs } : {}),
        ...(opts.engine ? { engine: opts.engine } : {}),
        onProgress: p.update,
        onStage: p.stage,
      }),
    );
  } finally {
    p.done();
  }
  const bad = r.data.compare.filter((x) => !x.correct);
  out(
    `${r.data.source}: ${r.data.policies.length} policies, ${bad.length === 0 ? 'all correct' : `${bad.length} incorrect (${bad.map((x) => x.policy).join(', ')})`}`,
  );
  for (const f of r.data.findings) out(`  - ${f}`);
  out(`wrote ${r.markdown}, ${r.html}, ${r.charts.length} charts (${r.charts.join(', ')}) and the result tables in ${r.results}`);
  return 0;
}
