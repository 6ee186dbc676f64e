// Chart: each VM's completion latency alone versus on the shared host, per policy. One group of
// rows per policy, one row per VM with two bars on a shared µs axis: the 99th percentile alone
// (light) and shared (dark), each with its median as a tick; a VM the oracle found incorrect under
// that policy is drawn in the warning colour and marked ✗.

import type { SharedHostOutput } from '../../replay/shared-host/output.js';
import { esc, fmt, niceTicks, r, svgDocument, text, textWidth, THEME, xAxis } from './svg.js';

const WIDTH = 860;
const BAR = 9;
const ROW = 2 * BAR + 10;
const GROUP_GAP = 22;
const TOP = 96;
const VALUE_ROOM = 120;
const ALONE = '#9ecae1';

export function sharedHostChart(o: SharedHostOutput): string {
  const policies = o.host.policies;
  const label = (vm: number) => `VM ${vm}: ${shortName(o.traces[vm]!.trace)}`;
  const labelW = Math.min(300, Math.max(...o.traces.map((t) => textWidth(label(t.vm)))) + 12);
  const x0 = labelW + 12;
  const plotW = WIDTH - x0 - VALUE_ROOM;
  const max = Math.max(0, ...policies.flatMap((p) => p.vms.flatMap((v) => [v.p99_us_alone, v.p99_us_shared])));
  const ticks = niceTicks(max);
  const scale = (v: number) => (v / ticks[ticks.length - 1]!) * plotW;
  const body: string[] = [
    text(12, 24, 'Completion latency per VM: alone versus shared host', { 'font-size': 16, 'font-weight': 'bold' }),
    text(
      12,
      44,
      `${o.shared_host.vms} VMs on physical IOMMU${o.shared_host.iommus.length === 1 ? '' : 's'} ${o.shared_host.iommus.join(', ')}; bars: 99th percentile, tick: median (µs); alone = the same host with the VM by itself.`,
      { fill: THEME.muted },
    ),
    `<rect x="12" y="56" width="12" height="${BAR}" fill="${ALONE}"/>`,
    text(30, 64, 'alone'),
    `<rect x="80" y="56" width="12" height="${BAR}" fill="${THEME.correct}"/>`,
    text(98, 64, 'shared'),
    `<line x1="160" y1="54" x2="160" y2="67" stroke="${THEME.text}" stroke-width="2"/>`,
    text(166, 64, 'median'),
  ];
  let y = TOP;
  for (const p of policies) {
    body.push(text(12, y - 6, p.policy, { 'font-weight': 'bold', class: 'panel-title' }));
    for (const v of p.vms) {
      const s = o.traces[v.vm]!.policies.find((x) => x.policy === p.policy);
      const ok = s?.correct !== false;
      body.push(
        text(labelW, y + BAR + 4, `${ok ? '' : '✗ '}${label(v.vm)}`, {
          'text-anchor': 'end',
          class: 'vm-label',
          fill: ok ? THEME.text : THEME.incorrect,
        }),
      );
      const bars = [
        { what: 'alone', p99: v.p99_us_alone, p50: v.p50_us_alone, fill: ALONE, dy: 0 },
        { what: 'shared', p99: v.p99_us_shared, p50: v.p50_us_shared, fill: ok ? THEME.correct : THEME.incorrect, dy: BAR + 1 },
      ];
      for (const b of bars) {
        const w = Math.max(b.p99 > 0 ? 1 : 0, scale(b.p99));
        body.push(
          `<rect class="bar" data-policy="${esc(p.policy)}" data-vm="${v.vm}" data-what="${b.what}" data-p99="${b.p99}" data-p50="${b.p50}" x="${r(x0)}" y="${r(y + b.dy)}" width="${r(w)}" height="${BAR}" fill="${b.fill}">` +
            `<title>${esc(`${p.policy}, VM ${v.vm} ${b.what}: p50 ${fmt(b.p50)} µs, p99 ${fmt(b.p99)} µs`)}</title></rect>`,
        );
        const xm = x0 + scale(b.p50);
        body.push(
          `<line class="p50" x1="${r(xm)}" y1="${r(y + b.dy - 1)}" x2="${r(xm)}" y2="${r(y + b.dy + BAR + 1)}" stroke="${THEME.text}" stroke-width="2"/>`,
        );
      }
      body.push(
        text(
          x0 + Math.max(scale(v.p99_us_alone), scale(v.p99_us_shared)) + 6,
          y + BAR + 4,
          `${fmt(v.p99_us_alone)} → ${fmt(v.p99_us_shared)}`,
          { class: 'bar-value', 'font-size': 11 },
        ),
      );
      y += ROW;
    }
    y += GROUP_GAP;
  }
  body.push(
    ...xAxis({
      x0,
      width: plotW,
      top: TOP - 2,
      bottom: y - GROUP_GAP + 2,
      ticks,
      scale,
      label: 'latency of a completion point (µs): 99th percentile, median tick',
    }),
  );
  return svgDocument(WIDTH, y - GROUP_GAP + 48, 'Completion latency per VM: alone versus shared host', body);
}

/** A trace path's file name, for a label. */
function shortName(path: string): string {
  return path.split('/').pop() ?? path;
}
