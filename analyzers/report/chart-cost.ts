// Chart: where each policy's modelled time goes, one stacked bar per policy with a segment per
// kind of work in host_ops (trap, vmm_cmd, ioctl, ...), in the table's order and a fixed colour
// per kind, with a legend naming what each kind is.

import { ALL_OP_KINDS, type OpKind } from '../../replay/tables.js';
import type { CostKindRow } from './data.js';
import { esc, fmt, niceTicks, r, svgDocument, text, textWidth, THEME, xAxis } from './svg.js';

/** What a host_ops kind is, for a reader (docs/results.md, host_ops). */
export const KIND_LABELS: Readonly<Record<OpKind, string>> = {
  trap: 'doorbell traps',
  vmm_cmd: 'VMM command handling',
  ioctl: 'ioctls',
  host_cmd: 'host queue commands',
  host_sync: 'host syncs / waits',
  host_doorbell: 'host doorbells',
  devtlb_inv: 'device-TLB / ATC round trips',
  direct_cmd: 'direct-queue commands',
  pt_read: 'guest page-table reads (shadow)',
  pin: 'page pinning (VFIO/IOAS map, unmap)',
  lock_wait: 'host queue lock held by other VMs (shared host)',
  queue_wait: 'shared host queue full or busy with other VMs',
};

const WIDTH = 860;
const ROW = 24;
const BAR = 15;
const VALUE_ROOM = 72;

export const kindColour = (k: string): string =>
  THEME.categorical[Math.max(0, ALL_OP_KINDS.indexOf(k as OpKind)) % THEME.categorical.length]!;

export function costChart(policies: readonly string[], rows: readonly CostKindRow[]): string {
  const kinds = ALL_OP_KINDS.filter((k) => rows.some((x) => x.kind === k && x.cost_us > 0));
  const labelW = Math.min(280, Math.max(...policies.map((p) => textWidth(p))) + 12);
  const plotW = WIDTH - labelW - 12 - VALUE_ROOM;
  const total = (p: string) => rows.filter((x) => x.policy === p).reduce((a, x) => a + x.cost_us, 0);
  const ticks = niceTicks(Math.max(0, ...policies.map(total)));
  const scale = (v: number) => (v / ticks[ticks.length - 1]!) * plotW;

  const body: string[] = [
    text(12, 24, 'Where the modelled time goes', { 'font-size': 16, 'font-weight': 'bold' }),
    text(12, 44, "Each policy's modelled µs split by kind of work (host_ops), in the order a doorbell pays for them.", {
      fill: THEME.muted,
    }),
  ];
  // The legend wraps onto as many lines as it needs.
  let lx = 12;
  let ly = 66;
  for (const k of kinds) {
    const w = 18 + textWidth(KIND_LABELS[k]) + 18;
    if (lx + w > WIDTH - 12) {
      lx = 12;
      ly += 20;
    }
    body.push(
      `<rect class="legend" data-kind="${k}" x="${lx}" y="${ly - 10}" width="12" height="12" fill="${kindColour(k)}"/>`,
      text(lx + 17, ly, KIND_LABELS[k]),
    );
    lx += w;
  }
  const top = ly + 22;
  const x0 = labelW + 12;
  const bottom = top + policies.length * ROW;
  body.push(...xAxis({ x0, width: plotW, top: top - 2, bottom: bottom + 2, ticks, scale, label: 'modelled time (µs)' }));
  policies.forEach((p, i) => {
    const y = top + i * ROW + (ROW - BAR) / 2;
    body.push(text(labelW, y + BAR - 3, p, { 'text-anchor': 'end', class: 'policy-label' }));
    let x = x0;
    const sum = total(p);
    for (const k of kinds) {
      const row = rows.find((q) => q.policy === p && q.kind === k);
      if (row === undefined || row.cost_us <= 0) continue;
      const w = scale(row.cost_us);
      body.push(
        `<rect class="segment" data-policy="${esc(p)}" data-kind="${k}" data-value="${row.cost_us}" x="${r(x)}" y="${r(y)}" width="${r(w)}" height="${BAR}" fill="${kindColour(k)}">` +
          `<title>${esc(`${p}: ${KIND_LABELS[k]} ${fmt(row.cost_us)} µs (${Math.round(100 * row.share)}%, ${fmt(row.ops)} ops)`)}</title></rect>`,
      );
      x += w;
    }
    body.push(text(x + 4, y + BAR - 3, fmt(sum), { class: 'bar-value', 'font-size': 11 }));
  });
  return svgDocument(WIDTH, bottom + 48, 'Where the modelled time goes', body);
}
