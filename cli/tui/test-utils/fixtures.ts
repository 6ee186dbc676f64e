// Real data for the TUI tests: the bundled captures (samples/captures) ingested into traces, and
// a replay output folder with violations (the vtd-legacy-strict capture with a topology that puts
// the devices of one guest domain behind two physical IOMMUs, DESIGN.md's devtlb-nop hazard).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ingest } from '../../../formats/ingest/ingest.js';
import { readTrace } from '../../../formats/trace/io.js';
import { runReplay } from '../../../replay/run.js';
import { capture } from '../../../test/helpers.js';

export type Run = 'smmuv3-strict' | 'smmuv3-lazy' | 'vtd-legacy-strict' | 'vtd-legacy-lazy' | 'vtd-scalable-strict';

/** The capture files of a run: QEMU log and guest trace. */
export const captureFiles = (run: Run): string[] => [capture(`qemu-${run}.log.gz`), capture(`guest-${run}.txt.gz`)];

/** Both sides of a run ingested into DIR/RUN.arrow. */
export async function captureTrace(dir: string, run: Run): Promise<string> {
  const out = join(dir, `${run}.arrow`);
  await ingest(captureFiles(run), { output: out });
  return out;
}

/**
 * A topology for the vtd-legacy captures in which guest domain 5 (SIDs 0xf8, 0xfa, 0xfb: the
 * devices Linux attaches to DID 5) spans two physical IOMMUs.
 */
export const SPLIT_DOMAIN_TOPOLOGY = {
  iommus: 2,
  devices: [
    { sid: '0x0', domain: 2, iommu: 0 },
    { sid: '0x8', domain: 3, iommu: 0 },
    { sid: '0x10', domain: 4, iommu: 0 },
    { sid: '0xf8', domain: 5, iommu: 0 },
    { sid: '0xfa', domain: 5, iommu: 1 },
    { sid: '0xfb', domain: 5, iommu: 1 },
    { sid: '0x100', ats: true, domain: 6, iommu: 0 },
  ],
};

/** The trace replayed under every policy into DIR/NAME/ with the split-domain topology. */
export async function splitDomainReplay(dir: string, trace: string, name = 'replay-split'): Promise<{ dir: string; topology: string }> {
  const topology = join(dir, 'split-domain.json');
  writeFileSync(topology, JSON.stringify(SPLIT_DOMAIN_TOPOLOGY));
  const out = join(dir, name);
  await runReplay(trace, { policies: ['all'], outDir: out, topologyFile: topology });
  return { dir: out, topology };
}

/** The whole trace as Arrow rows (for checking the TUI's numbers independently of its model). */
export async function traceRows(path: string): Promise<Record<string, unknown>[]> {
  const { table } = await readTrace(path);
  return table.toArray().map((r) => r.toJSON() as Record<string, unknown>);
}
