// Chart: completion latency per policy, one row per policy on a shared logarithmic µs axis: the
// share of completion points in each 1-2-5 bucket (completion_latency_histogram) as bars, the
// median as a diamond and the 99th percentile as a tick (completion_latency_summary).

import type { HistogramRow, LatencyRow } from './data.js';
import { esc, fmt, fmtAxis, r, svgDocument, text, textWidth, THEME } from './svg.js';

const WIDTH = 860;
const ROW = 40;
const VALUE_ROOM = 24;

export function latencyChart(policies: readonly string[], hist: readonly HistogramRow[], summary: readonly LatencyRow[]): string {
  const labelW = Math.min(280, Math.max(...policies.map((p) => textWidth(p))) + 12);
  const x0 = labelW + 12;
  const plotW = WIDTH - x0 - VALUE_ROOM;
  const lo = hist.length ? Math.min(...hist.map((h) => h.lower_us)) : 1;
  const hi = hist.length ? Math.max(...hist.map((h) => h.upper_us)) : 10;
  const l0 = Math.log10(lo);
  const span = Math.max(Math.log10(hi) - l0, 1e-9);
  const xOf = (us: number) => x0 + ((Math.log10(us) - l0) / span) * plotW;
  const top = 84;
  const bottom = top + policies.length * ROW;

  const body: string[] = [
    text(12, 24, 'Completion latency per policy', { 'font-size': 16, 'font-weight': 'bold' }),
    text(12, 44, 'Share of completion points (CMD_SYNC / wait) per latency bucket, from the doorbell to the completion; log scale.', {
      fill: THEME.muted,
    }),
    `<path d="M 12 61 l 5 -5 l 5 5 l -5 5 z" fill="${THEME.text}"/>`,
    text(26, 66, 'median'),
    `<line x1="84" y1="56" x2="84" y2="68" stroke="${THEME.incorrect}" stroke-width="2"/>`,
    text(90, 66, '99th percentile;'),
    text(188, 66, "bar height: share of the policy's completion points", { fill: THEME.muted }),
  ];
  // Bucket edges as ticks (1-2-5 steps); only decades when there are many.
  const edges = [...new Set(hist.flatMap((h) => [h.lower_us, h.upper_us]))].sort((a, b) => a - b);
  const ticks = edges.length <= 14 ? edges : edges.filter((e) => Math.abs(Math.log10(e) - Math.round(Math.log10(e))) < 1e-9);
  body.push('<g class="axis">');
  for (const t of ticks) {
    const x = xOf(t);
    body.push(`<line x1="${r(x)}" y1="${top - 2}" x2="${r(x)}" y2="${bottom + 2}" stroke="${THEME.grid}" stroke-width="1"/>`);
    body.push(text(x, bottom + 16, fmtAxis(t), { 'text-anchor': 'middle', fill: THEME.muted, 'font-size': 11 }));
  }
  body.push(`<line x1="${x0}" y1="${bottom + 2}" x2="${x0 + plotW}" y2="${bottom + 2}" stroke="${THEME.axis}" stroke-width="1"/>`);
  body.push(
    text(x0 + plotW / 2, bottom + 34, 'latency of a completion point (µs, log scale)', { 'text-anchor': 'middle', class: 'axis-title' }),
  );
  body.push('</g>');

  policies.forEach((p, i) => {
    const base = top + (i + 1) * ROW - 4;
    const barMax = ROW - 16;
    body.push(text(labelW, base - 4, p, { 'text-anchor': 'end', class: 'policy-label' }));
    body.push(`<line x1="${x0}" y1="${base}" x2="${x0 + plotW}" y2="${base}" stroke="${THEME.grid}" stroke-width="1"/>`);
    const rows = hist.filter((h) => h.policy === p);
    if (rows.length === 0) {
      body.push(text(x0 + 6, base - 6, 'no completion point completed', { fill: THEME.muted, class: 'no-data' }));
      return;
    }
    for (const h of rows) {
      const x = xOf(h.lower_us);
      const w = Math.max(1, xOf(h.upper_us) - x - 1);
      const hgt = Math.max(2, h.share * barMax);
      body.push(
        `<rect class="bucket" data-policy="${esc(p)}" data-lower="${h.lower_us}" data-upper="${h.upper_us}" data-count="${h.completion_points}" x="${r(x)}" y="${r(base - hgt)}" width="${r(w)}" height="${r(hgt)}" fill="${THEME.correct}" fill-opacity="0.75">` +
          `<title>${esc(`${p}: ${fmt(h.completion_points)} completion points (${fmt(100 * h.share)}%) in [${fmtAxis(h.lower_us)}, ${fmtAxis(h.upper_us)}) µs`)}</title></rect>`,
      );
      // The share on bars wide and tall enough to hold it.
      if (hgt >= 13 && w >= 30)
        body.push(
          text(x + w / 2, base - hgt + 11, `${Math.round(100 * h.share)}%`, {
            'text-anchor': 'middle',
            fill: '#ffffff',
            'font-size': 10,
            class: 'share',
          }),
        );
    }
    const s = summary.find((x) => x.policy === p);
    if (s?.p50_us) {
      const x = xOf(s.p50_us);
      // Above the bars, so it never hides one.
      body.push(
        `<path class="p50" data-policy="${esc(p)}" d="M ${r(x)} ${r(base - barMax - 11)} l 5 5 l -5 5 l -5 -5 z" fill="${THEME.text}"><title>${esc(`${p}: median ${fmt(s.p50_us)} µs`)}</title></path>`,
      );
    }
    if (s?.p99_us) {
      const x = xOf(s.p99_us);
      body.push(
        `<line class="p99" data-policy="${esc(p)}" x1="${r(x)}" y1="${r(base - barMax - 10)}" x2="${r(x)}" y2="${r(base + 2)}" stroke="${THEME.incorrect}" stroke-width="2"><title>${esc(`${p}: 99th percentile ${fmt(s.p99_us)} µs`)}</title></line>`,
      );
    }
  });
  return svgDocument(WIDTH, bottom + 48, 'Completion latency per policy', body);
}
