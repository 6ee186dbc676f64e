// Format detection: looks at the first lines of a capture and names its format and architecture.

import type { Arch } from '../codec/table.js';
import { readLines } from '../lines.js';

export interface Sniffed {
  readonly format: string;
  readonly arch?: Arch;
}

/** The first `n` non-empty lines of a file. */
export async function headLines(path: string, n = 200): Promise<string[]> {
  const out: string[] = [];
  for await (const l of readLines(path)) {
    if (l.text.trim() === '') continue;
    out.push(l.text);
    if (out.length >= n) break;
  }
  return out;
}

export async function sniff(path: string): Promise<Sniffed | undefined> {
  const lines = await headLines(path);
  const body = lines.filter((l) => !l.trim().startsWith('#'));
  if (body[0]?.trim().startsWith('{')) {
    // A JSONL header: one line, or a few until the object closes.
    for (let n = 1; n <= Math.min(body.length, 64); n++) {
      try {
        const h = JSON.parse(body.slice(0, n).join('\n')) as { invtrace?: unknown; arch?: unknown };
        if (h.invtrace === undefined) break;
        return { format: 'jsonl', ...(h.arch === 'smmuv3' || h.arch === 'vtd' ? { arch: h.arch } : {}) };
      } catch {
        /* keep reading the header */
      }
    }
  }
  return undefined;
}
