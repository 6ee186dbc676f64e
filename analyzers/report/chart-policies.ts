// Chart: modelled time and ioctls per policy, two bar panels sharing the policy labels. A bar per
// policy, its value at the end; policies the oracle found incorrect are drawn in the warning colour
// and marked ✗, so a cheap but wrong policy cannot pass for the winner.

import type { CompareRow } from './data.js';
import { esc, fmt, niceTicks, r, svgDocument, text, textWidth, THEME, xAxis } from './svg.js';

const WIDTH = 860;
const ROW = 24;
const BAR = 15;
const TOP = 92;
const VALUE_ROOM = 64;
const GAP = 28;

interface Panel {
  readonly metric: 'modeled_us' | 'ioctls';
  readonly heading: string;
  readonly axis: string;
}

const PANELS: readonly Panel[] = [
  { metric: 'modeled_us', heading: 'Modelled time of the VMM and host work', axis: 'modelled time (µs)' },
  { metric: 'ioctls', heading: 'IOMMU_HWPT_INVALIDATE ioctls', axis: 'ioctls' },
];

export function policiesChart(rows: readonly CompareRow[]): string {
  const labelW = Math.min(280, Math.max(...rows.map((p) => textWidth(label(p)))) + 12);
  const panelW = (WIDTH - labelW - 2 * VALUE_ROOM - GAP - 12) / 2;
  const bottom = TOP + rows.length * ROW;
  const body: string[] = [
    text(12, 24, 'Modelled time and ioctls per policy', { 'font-size': 16, 'font-weight': 'bold' }),
    text(12, 44, 'One bar per policy (its variant included); shorter is cheaper. Costs: docs/results.md "Cost model".', {
      fill: THEME.muted,
    }),
    ...legend(12, 62),
  ];
  rows.forEach((p, i) => {
    const y = TOP + i * ROW + ROW / 2 + 4;
    body.push(text(labelW, y, label(p), { 'text-anchor': 'end', class: 'policy-label', fill: p.correct ? THEME.text : THEME.incorrect }));
  });
  PANELS.forEach((panel, k) => {
    const x0 = labelW + 12 + k * (panelW + VALUE_ROOM + GAP);
    const max = Math.max(0, ...rows.map((p) => p[panel.metric]));
    const ticks = niceTicks(max);
    const scale = (v: number) => (v / ticks[ticks.length - 1]!) * panelW;
    body.push(text(x0, TOP - 8, panel.heading, { 'font-weight': 'bold', class: 'panel-title' }));
    body.push(...xAxis({ x0, width: panelW, top: TOP - 2, bottom: bottom + 2, ticks, scale, label: panel.axis }));
    rows.forEach((p, i) => {
      const v = p[panel.metric];
      const y = TOP + i * ROW + (ROW - BAR) / 2;
      const w = Math.max(v > 0 ? 1 : 0, scale(v));
      const fill = p.correct ? THEME.correct : THEME.incorrect;
      body.push(
        `<rect class="bar" data-policy="${esc(p.policy)}" data-metric="${panel.metric}" data-value="${v}" x="${r(x0)}" y="${r(y)}" width="${r(w)}" height="${BAR}" fill="${fill}">` +
          `<title>${esc(`${p.policy}: ${fmt(v)} ${panel.metric === 'ioctls' ? 'ioctls' : 'µs'}${p.correct ? '' : ` (incorrect: ${p.violations} violations)`}`)}</title></rect>`,
      );
      body.push(text(x0 + w + 4, y + BAR - 3, fmt(v), { class: 'bar-value', 'font-size': 11 }));
    });
  });
  return svgDocument(WIDTH, bottom + 48, 'Modelled time and ioctls per policy', body);
}

function label(p: CompareRow): string {
  return p.correct ? p.policy : `✗ ${p.policy}`;
}

function legend(x: number, y: number): string[] {
  return [
    `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${THEME.correct}"/>`,
    text(x + 18, y, 'correct'),
    `<rect x="${x + 80}" y="${y - 10}" width="12" height="12" fill="${THEME.incorrect}"/>`,
    text(x + 98, y, '✗ incorrect: the oracle found violations (see "Violations")'),
  ];
}
