// SVG building blocks for the report's charts: escaping, number formats, "nice" axis ticks, a
// shared look (fonts, colours) and the document frame. Charts are plain strings of SVG 1.1 with no
// external assets (no fonts, images or scripts), so a report opens offline and stays well-formed
// XML (analyzers/report/report.test.ts parses every chart).

/** Escapes text and attribute values (the five XML entities). */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** A number for a label: thousands separators, fewer decimals as it grows. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  const digits = a === 0 || a >= 100 || Number.isInteger(x) ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** An axis value: SI suffixes from 1,000 (5k, 1.5M), plain below. */
export function fmtAxis(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e9) return `${+(x / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(x / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(x / 1e3).toPrecision(3)}k`;
  return String(+x.toPrecision(3));
}

/** Ticks from 0 to at least `max` at a 1-2-5 step, about `count` of them. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let i = 0; ; i++) {
    const t = +(i * step).toPrecision(12);
    ticks.push(t);
    if (t >= max) return ticks;
  }
}

/** The report's look, in one place. */
export const THEME = {
  font: "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif",
  text: '#222222',
  muted: '#666666',
  grid: '#dddddd',
  axis: '#888888',
  correct: '#0072B2',
  incorrect: '#D55E00',
  /** Okabe-Ito colours, distinguishable with the common colour-vision deficiencies. */
  categorical: ['#D55E00', '#E69F00', '#0072B2', '#56B4E9', '#009E73', '#F0E442', '#CC79A7', '#999999'],
} as const;

/** Width of a label in px at `size` (a proportional font averages about 0.58 em per character). */
export const textWidth = (s: string, size = 12): number => Math.ceil(s.length * size * 0.58);

/** The document: an <svg> with its size, a background and the default text style. */
export function svgDocument(width: number, height: number, title: string, body: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    `<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<g font-family="${esc(THEME.font)}" font-size="12" fill="${THEME.text}">`,
    ...body,
    '</g>',
    '</svg>',
  ].join('\n');
}

/** A text element; `anchor` start|middle|end. */
export function text(x: number, y: number, s: string, attrs: Record<string, string | number> = {}): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${esc(v)}"`)
    .join('');
  return `<text x="${r(x)}" y="${r(y)}"${a}>${esc(s)}</text>`;
}

/** Rounds a coordinate to 0.1 px (short, stable output). */
export const r = (x: number): number => Math.round(x * 10) / 10;

/** A horizontal value axis under a plot: gridlines, tick labels and the axis title. */
export function xAxis(o: {
  x0: number;
  width: number;
  top: number;
  bottom: number;
  ticks: readonly number[];
  scale: (v: number) => number;
  label: string;
  format?: (v: number) => string;
}): string[] {
  const f = o.format ?? fmtAxis;
  const out = [`<g class="axis">`];
  for (const t of o.ticks) {
    const x = o.x0 + o.scale(t);
    out.push(`<line x1="${r(x)}" y1="${r(o.top)}" x2="${r(x)}" y2="${r(o.bottom)}" stroke="${THEME.grid}" stroke-width="1"/>`);
    out.push(text(x, o.bottom + 14, f(t), { 'text-anchor': 'middle', fill: THEME.muted, 'font-size': 11 }));
  }
  out.push(
    `<line x1="${r(o.x0)}" y1="${r(o.bottom)}" x2="${r(o.x0 + o.width)}" y2="${r(o.bottom)}" stroke="${THEME.axis}" stroke-width="1"/>`,
  );
  out.push(text(o.x0 + o.width / 2, o.bottom + 32, o.label, { 'text-anchor': 'middle', class: 'axis-title' }));
  out.push('</g>');
  return out;
}
