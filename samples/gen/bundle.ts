// The bundled generated samples (samples/generated/*.arrow, with a README listing them): small
// traces for other tests and demos, each reproducible byte for byte from its row here.
// Regenerate with `node dist/samples/gen/bundle.js` after `npm run build`; bundle.test.ts checks
// that regenerating gives the committed bytes.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../formats/paths.js';
import { generate, plan, type GenSummary } from './generate.js';
import { flagName, optionDef, type OptionKey } from './options.js';

export interface BundledSample {
  readonly file: string;
  readonly workload: string;
  readonly options: Readonly<Partial<Record<OptionKey, string>>>;
  readonly about: string;
}

export const BUNDLE: readonly BundledSample[] = [
  {
    file: 'smmuv3-ats.arrow',
    workload: 'smmuv3',
    options: { seed: '1', commands: '3000', domains: '2' },
    about: 'SMMUv3, Linux 6.12, 4 devices in 2 domains, one with both ATS devices: range TLBIs + SYNC, then ATC_INV per ATS device + SYNC',
  },
  {
    file: 'vtd-6.12-batched.arrow',
    workload: 'vtd',
    options: { seed: '1', commands: '3000', kernel: '6.12', domains: '1' },
    about: 'VT-d legacy mode with caching mode, Linux 6.12, one shared domain: qi_batch of IOTLB PSI + a devTLB per ATS device, one wait',
  },
  {
    file: 'smmuv3-wrap.arrow',
    workload: 'smmuv3',
    options: { seed: '2', commands: '3000', queue: '128', cpus: '2', rate: '40000', ats: '0' },
    about: 'SMMUv3 with a 128-entry CMDQ: the ring wraps about every 64 unmaps; 2 CPUs, some PROD writes cover both',
  },
  {
    file: 'vtd-atc-timeout.arrow',
    workload: 'vtd',
    options: { seed: '3', commands: '3000', inject: 'atc-timeout@1500' },
    about: 'VT-d, Linux 6.12: a device-TLB invalidation times out after command 1500 (ITE), the guest acks and resubmits',
  },
  {
    file: 'smmuv3-ill.arrow',
    workload: 'smmuv3',
    options: { seed: '4', commands: '2000', inject: 'ill@1000' },
    about: 'SMMUv3: an illegal command (opcode 0x07) after command 1000, overwritten with a CMD_SYNC by the guest, then GERRORN',
  },
  {
    file: 'smmuv3-two-vsmmus.arrow',
    workload: 'smmuv3',
    options: { seed: '5', commands: '3000', devices: '4', domains: '1', iommus: '2', vsmmus: 'per-iommu', queue: '128' },
    about:
      'SMMUv3, one vSMMU per physical SMMU (2 queues of 128 entries, both wrap): one domain over both, each unmap invalidated on each instance',
  },
];

export const BUNDLE_DIR = (): string => join(packageRoot(), 'samples', 'generated');

function readme(rows: readonly { s: BundledSample; r: GenSummary }[]): string {
  const lines = [
    '# Generated samples',
    '',
    'Written by `samples/gen/bundle.ts` (`npm run build && node dist/samples/gen/bundle.js`); each file is',
    'reproducible byte for byte from its workload, options and seed (`samples/gen/bundle.test.ts`).',
    'The same file from the command line: `invtrace gen WORKLOAD OPTIONS -o FILE`.',
    '',
    '| file | command line | what it shows | commands | doorbells | wraps |',
    '| --- | --- | --- | ---: | ---: | ---: |',
  ];
  for (const { s, r } of rows) {
    const args = Object.entries(s.options)
      .map(([k, v]) => `--${flagName(optionDef(k as OptionKey))} ${v}`)
      .join(' ');
    lines.push(`| \`${s.file}\` | \`invtrace gen ${s.workload} ${args}\` | ${s.about} | ${r.commands} | ${r.doorbells} | ${r.wraps} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Writes every bundled sample and the README into `dir`; returns the files written. */
export async function writeBundle(dir: string = BUNDLE_DIR()): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const rows: { s: BundledSample; r: GenSummary }[] = [];
  for (const s of BUNDLE) {
    const p = plan(s.workload, s.options);
    if (!p.ok) throw new Error(`bundle ${s.file}: ${p.error.message}`);
    rows.push({ s, r: await generate(p.value, join(dir, s.file)) });
  }
  writeFileSync(join(dir, 'README.md'), readme(rows));
  return [...BUNDLE.map((s) => join(dir, s.file)), join(dir, 'README.md')];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  for (const f of await writeBundle()) console.log(f);
}
