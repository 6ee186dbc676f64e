// `invtrace demo`: the main job on bundled samples. Ingests a real capture (both sides of a Linux
// 6.1 VT-d run under QEMU), replays it under every policy and every design of issue 14, prints the
// comparison, the key findings and the designs compared (analyzers/report/designs.ts); then
// replays the bundled hazard scenarios and says which policy each one breaks.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingest } from '../../formats/ingest/ingest.js';
import { packageRoot } from '../../formats/paths.js';
import { findings } from '../../replay/findings.js';
import { runReplay } from '../../replay/run.js';
import { reporters } from '../reporters/index.js';
import { progress } from '../render/progress.js';
import { out } from '../run.js';
import { designDebates, designRows, designTableText } from '../../analyzers/report/designs.js';
import { DEFAULT_COSTS } from '../../replay/cost/params.js';
import { writeErr } from '../stdio.js';

/** Words of `text` in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(' ')) {
    if (cur !== '' && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur === '' ? w : `${cur} ${w}`;
  }
  if (cur !== '') lines.push(cur);
  return lines;
}

const CAPTURE = ['qemu-vtd-legacy-strict.log.gz', 'guest-vtd-legacy-strict.txt.gz'];

/** The hazard scenarios (samples/scenarios) and what each shows. */
const SCENARIOS: readonly [string, string][] = [
  ['b-vtd-devtlb-alone', 'a device-TLB invalidation with no IOTLB invalidation beside it'],
  ['c-vtd-split-domain', 'a guest domain split over two physical IOMMUs'],
  ['d-smmuv3-illegal-then-vmm-command', 'an illegal command before a VMM-owned one'],
  ['f-smmuv3-entry-num-overcount', "a conversion failure inside the host's 63-command block"],
];

export async function demoCommand(opts: { keep?: string }): Promise<number> {
  const root = packageRoot();
  const dir = opts.keep ?? mkdtempSync(join(tmpdir(), 'invtrace-demo-'));
  const t0 = Date.now();
  try {
    const trace = join(dir, 'vtd-legacy-strict.arrow');
    writeErr(`ingesting ${CAPTURE.join(' + ')} (a real Debian 6.1 guest under QEMU 7.2)...\n`);
    const s = await ingest(
      CAPTURE.map((f) => join(root, 'samples/captures', f)),
      { output: trace },
    );
    writeErr(`replaying ${s.rows.toLocaleString('en-US')} events under every policy...\n`);
    const p = progress('replay');
    const r = await runReplay(trace, { policies: ['all', 'designs'], onProgress: p.update });
    p.done();
    out(reporters.table({ ...r, trace: `samples/captures/{${CAPTURE.join(',')}}` }));
    out('');
    out('Key findings:');
    for (const f of findings(r)) out(`  - ${f}`);
    out('');
    out('Designs compared (the same workload):');
    for (const l of designTableText(designRows(r))) out(`  ${l}`);
    for (const para of designDebates(r, DEFAULT_COSTS)) {
      out('');
      out(
        wrap(para, 98)
          .map((l) => `  ${l}`)
          .join('\n'),
      );
    }
    out('');
    out('Where policies break (bundled scenarios, samples/scenarios):');
    for (const [name, what] of SCENARIOS) {
      const st = join(dir, `${name}.arrow`);
      await ingest([join(root, 'samples/scenarios', `${name}.jsonl`)], { output: st });
      const sr = await runReplay(st, { policies: ['all'] });
      const broken = sr.policies.filter((x) => !x.correct);
      const list = broken.map((x) => `${x.policy} (${Object.keys(x.violations_by_kind).join(', ')})`).join('; ');
      out(`  - ${what}: ${broken.length ? list : 'every policy correct'}`);
    }
    out('');
    out(
      `done in ${((Date.now() - t0) / 1000).toFixed(1)} s. Next: invtrace compare TRACE --json, invtrace replay TRACE -o DIR, invtrace sql DIR.`,
    );
    return 0;
  } finally {
    if (opts.keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
