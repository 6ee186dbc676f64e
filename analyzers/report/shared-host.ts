// The report of a shared-host replay folder (`replay T1 T2 … --shared-host -o DIR`): the
// "Many IOMMUs / many VMs" section — who shares which physical units, each VM's latency alone
// versus shared (chart-shared-host.ts), the host-wide totals per policy, the verdicts per VM — laid
// out as the same blocks as the one-trace report (document.ts) and written as Markdown and HTML.
// Each VM's own folder (DIR/vm-K) is an ordinary replay folder: `invtrace report DIR/vm-K` gives
// its full one-trace report.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../formats/atomic.js';
import { InputFault } from '../../formats/result.js';
import { HOST_TOTAL_COLUMNS, type SharedHostOutput } from '../../replay/shared-host/output.js';
import { sharedHostChart } from './chart-shared-host.js';
import type { Block, ChartFile } from './document.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { fmt } from './svg.js';

export function readSharedHost(dir: string): SharedHostOutput {
  const file = join(dir, 'shared-host.json');
  let json: Partial<SharedHostOutput>; // untrusted until checked below
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as Partial<SharedHostOutput>;
  } catch (e) {
    throw new InputFault({ file, message: `not valid JSON (${(e as Error).message})` });
  }
  if (!Array.isArray(json.traces) || !Array.isArray(json.host?.policies))
    throw new InputFault({ file, field: 'host', message: 'not a shared-host.json written by invtrace replay --shared-host' });
  return json as SharedHostOutput;
}

const ARCH: Record<string, string> = { vtd: 'VT-d', smmuv3: 'SMMUv3' };
const pct = (alone: number, shared: number) =>
  alone > 0 ? `${shared >= alone ? '+' : ''}${Math.round((100 * (shared - alone)) / alone)}%` : '–';

/** The "Many IOMMUs / many VMs" section. */
export function sharedHostBlocks(o: SharedHostOutput, chart: ChartFile, folder: string): Block[] {
  const h = o.shared_host;
  const worst = o.host.policies
    .flatMap((p) => p.vms.map((v) => ({ p: p.policy, v })))
    .sort((a, b) => b.v.p99_us_shared - b.v.p99_us_alone - (a.v.p99_us_shared - a.v.p99_us_alone))[0];
  const bad = o.host.policies.filter((p) => !p.correct);
  return [
    { type: 'h2', text: 'Many IOMMUs / many VMs' },
    {
      type: 'p',
      text:
        `${h.vms} VMs (${ARCH[h.arch] ?? h.arch}) share physical IOMMU${h.iommus.length === 1 ? '' : 's'} ${h.iommus.join(', ')}, each with its own VMM, vIOMMUs and ${h.arch === 'smmuv3' ? 'VMID' : 'host DIDs'}; ` +
        `the physical queues hold ${fmt(h.queue_entries)} slots; doorbells interleaved by ${h.interleave === 'time' ? 'timestamp (a VM may cut in between two host batches of another)' : 'round-robin (whole doorbells in turn)'}. ` +
        `Verdicts are per VM, each by its own oracle: ${bad.length === 0 ? 'every VM correct under every policy' : `incorrect under ${bad.map((p) => `\`${p.policy}\``).join(', ')}`}.` +
        (worst
          ? ` Largest p99 increase: VM ${worst.v.vm} under \`${worst.p}\`, ${fmt(worst.v.p99_us_alone)} → ${fmt(worst.v.p99_us_shared)} µs.`
          : ''),
    },
    {
      type: 'list',
      items: o.traces.map(
        (t) =>
          `VM ${t.vm}: \`${t.trace}\`, ${fmt(t.doorbells)} doorbells${t.placement.length ? ` (${t.placement.join('; ')})` : ''}; its tables: \`${join(folder, `vm-${t.vm}`)}\`.`,
      ),
    },
    { type: 'chart', file: chart.file, alt: chart.alt },
    { type: 'h3', text: 'Latency per VM: alone versus shared' },
    {
      type: 'table',
      head: [
        'policy',
        'VM',
        'verdict',
        'p50 µs alone',
        'p50 µs shared',
        'p99 µs alone',
        'p99 µs shared',
        'p99 change',
        'lock wait µs',
        'queue-full µs',
        'queue-busy µs',
      ],
      rows: o.host.policies.flatMap((p) =>
        p.vms.map((v) => {
          const s = o.traces[v.vm]!.policies.find((x) => x.policy === p.policy)!;
          return [
            `\`${p.policy}\``,
            String(v.vm),
            s.correct ? 'correct' : `✗ ${fmt(s.violations)} violations`,
            fmt(v.p50_us_alone),
            fmt(v.p50_us_shared),
            fmt(v.p99_us_alone),
            fmt(v.p99_us_shared),
            pct(v.p99_us_alone, v.p99_us_shared),
            fmt(s.lock_wait_us),
            fmt(s.queue_full_wait_us),
            fmt(s.queue_busy_wait_us),
          ];
        }),
      ),
      right: [1, 3, 4, 5, 6, 7, 8, 9, 10],
    },
    { type: 'h3', text: 'Host totals' },
    {
      type: 'table',
      head: ['policy', 'verdict', ...HOST_TOTAL_COLUMNS.map(([head]) => head), 'peak slots per unit'],
      rows: o.host.policies.map((p) => [
        `\`${p.policy}\``,
        p.correct ? 'correct' : `✗ ${fmt(p.violations)} violations`,
        ...HOST_TOTAL_COLUMNS.map(([, value]) => fmt(value(p))),
        p.units.map((u) => `${u.iommu}: ${u.peak_slots}`).join(', '),
      ]),
      right: [2, 3, 4, 5, 6, 7, 8, 9],
    },
    {
      type: 'p',
      text:
        "lock wait: VT-d `qi_submit_sync` q_lock held by another VM writing its submission, or arm-smmu-v3's cmdq lock taken exclusive to refresh CONS (only once no CMD_SYNC waiter holds it shared); " +
        "queue-full: no free slot on the physical queue; queue-busy: a physical completion point waiting behind other VMs' commands ahead of it. Each wait also pays `line_handoff`. " +
        "modelled µs: the VMs' modelled time added up; makespan: when the last VM's last work ends on the host timeline (docs/hosts.md).",
    },
    ...(o.left_out.length ? [{ type: 'list', items: o.left_out.map((l) => `Left out: \`${l.policy}\`: ${l.why}.`) } satisfies Block] : []),
  ];
}

/** Writes OUT/report.md, OUT/report.html and OUT/charts/shared-host-latency.svg for a shared-host folder. */
export function writeSharedHostReport(
  folder: string,
  outDir: string,
): { markdown: string; html: string; charts: string[]; data: SharedHostOutput } {
  const o = readSharedHost(folder);
  mkdirSync(join(outDir, 'charts'), { recursive: true });
  const chart: ChartFile = {
    file: 'charts/shared-host-latency.svg',
    alt: 'Completion latency per VM, alone versus shared host',
    svg: sharedHostChart(o),
  };
  writeFileAtomic(join(outDir, chart.file), `<?xml version="1.0" encoding="UTF-8"?>\n${chart.svg}\n`);
  const title = `invtrace report: shared host, ${o.shared_host.vms} VMs`;
  const blocks: Block[] = [{ type: 'h1', text: title }, ...sharedHostBlocks(o, chart, folder)];
  const markdown = join(outDir, 'report.md');
  const html = join(outDir, 'report.html');
  writeFileAtomic(html, renderHtml(title, blocks, [chart]));
  writeFileAtomic(markdown, renderMarkdown(blocks));
  return { markdown, html, charts: [join(outDir, chart.file)], data: o };
}
