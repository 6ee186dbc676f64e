// Sizes and weighted mixes as the generator's options write them: `4K`, `64K`, `1M`, `4096`, and
// `4K:70,64K:10,1M:1` (size:weight pairs). Sizes are whole 4 KiB pages: a DMA mapping never covers
// part of an IOMMU page.

import { fail, ok, type Result } from '../../formats/result.js';

export const PAGE = 4096;
const UNITS: Readonly<Record<string, number>> = { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 };

/** `4K` → 4096. Whole 4 KiB pages, at least one page, at most 1 GiB. */
export function parseSize(text: string): Result<number> {
  const m = /^\s*(\d+)\s*([KMG]?)(?:i?B)?\s*$/i.exec(text);
  if (m === null) return fail({ message: `"${text}" is not a size (e.g. 4K, 64K, 1M, 8192)` });
  const bytes = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (bytes < PAGE || bytes % PAGE !== 0) return fail({ message: `${text} is not a whole number of 4 KiB pages` });
  if (bytes > 1 << 30) return fail({ message: `${text} is larger than 1 GiB` });
  return ok(bytes);
}

export function formatSize(bytes: number): string {
  for (const [u, n] of [
    ['G', 1 << 30],
    ['M', 1 << 20],
    ['K', 1 << 10],
  ] as const) {
    if (bytes % n === 0) return `${bytes / n}${u}`;
  }
  return String(bytes);
}

/** A weighted choice of sizes, cumulative weights precomputed for sampling. */
export interface SizeMix {
  readonly sizes: readonly number[];
  readonly weights: readonly number[];
  readonly cumulative: readonly number[];
}

export function parseSizeMix(text: string): Result<SizeMix> {
  const sizes: number[] = [];
  const weights: number[] = [];
  for (const part of text.split(',')) {
    const [s, w, extra] = part.split(':');
    if (extra !== undefined || s === undefined || s.trim() === '') return fail({ message: `"${part}" is not SIZE or SIZE:WEIGHT` });
    const size = parseSize(s);
    if (!size.ok) return size;
    const weight = w === undefined ? 1 : Number(w);
    if (!Number.isFinite(weight) || weight < 0 || (w !== undefined && w.trim() === '')) {
      return fail({ message: `weight "${w}" of ${s} is not a non-negative number` });
    }
    sizes.push(size.value);
    weights.push(weight);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  if (total <= 0) return fail({ message: 'the weights add up to zero' });
  let acc = 0;
  return ok({ sizes, weights, cumulative: weights.map((w) => (acc += w / total)) });
}

export function formatSizeMix(m: SizeMix): string {
  return m.sizes.map((s, i) => `${formatSize(s)}:${m.weights[i]}`).join(',');
}

/** Index of the first cumulative weight above `u` (u uniform in [0, 1)). */
export function pickWeighted(cumulative: readonly number[], u: number): number {
  for (let i = 0; i < cumulative.length; i++) if (u < cumulative[i]!) return i;
  return cumulative.length - 1;
}
