// The batch view's command words as 32-bit halves (view.ts `halves`, what the replay's feed writes
// into the guest ring) against the same words read as BigInts (`words`), on a scenario whose words
// are written out below and on every bundled generated trace.

import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { ingest } from '../ingest/ingest.js';
import { openTrace } from './io.js';
import { viewBatch } from './view.js';

const dir = tempDir();
const generated = fileURLToPath(new URL('../../samples/generated/', import.meta.url));

/** Halves from BigInt words, low half first: the reference. */
const split = (ws: readonly bigint[]) => ws.flatMap((w) => [Number(w & 0xffffffffn), Number(w >> 32n)]);

/** [words as halves by `words`, by `halves`] for every command row of `path`, `n` words each. */
async function both(path: string, n: 2 | 4): Promise<[number[][], number[][]]> {
  const t = await openTrace(path);
  const ref: number[][] = [];
  const got: number[][] = [];
  const out = new Uint32Array(2 * n);
  for await (const b of t.batches()) {
    const v = viewBatch(b);
    for (let i = 0; i < v.length; i++) {
      if (v.kindOf(i) !== 'cmd') continue;
      ref.push(split(v.words(i, n)));
      v.halves(i, n, out);
      got.push([...out]);
    }
  }
  return [ref, got];
}

describe('BatchView.halves', () => {
  const src = join(dir, 'halves.jsonl');
  writeFileSync(
    src,
    `{"invtrace": 1, "arch": "vtd", "queue_entries": 4, "desc_bytes": 16,
 "topology": {"iommus": 1, "devices": [{"sid": "0x100", "psid": "0x100", "iommu": 0, "ats": true, "domain": 6}]}}
{"cmd": ["0x10000000003", "0xffff8000"]}
{"cmd": ["0x4", "0x0"]}
{"doorbell": true}
`,
  );

  it('gives each word as (low, high), high halves included, and null words of a wider read as 0', async () => {
    const out = join(dir, 'halves.arrow');
    await ingest([src], { output: out });
    const [ref, got] = await both(out, 2);
    // 0x10000000003 = 0x100 << 32 | 3; 0xffff8000 fits the low half.
    expect(got).toEqual([
      [3, 0x100, 0xffff8000, 0],
      [4, 0, 0, 0],
    ]);
    expect(got).toEqual(ref);
    // A 16-byte trace has no w2/w3 values: read as 4 words they are 0, as `words` reads them.
    const [ref4, got4] = await both(out, 4);
    expect(got4[0]).toEqual([3, 0x100, 0xffff8000, 0, 0, 0, 0, 0]);
    expect(got4).toEqual(ref4);
  });

  it('matches `words` on every command of every bundled generated trace', async () => {
    const files = readdirSync(generated).filter((f) => f.endsWith('.arrow'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const t = await openTrace(join(generated, f));
      const [ref, got] = await both(join(generated, f), t.header.desc_bytes === 32 ? 4 : 2);
      expect(got.length).toBeGreaterThan(0);
      expect(got, f).toEqual(ref);
      // Near miss: the halves in the other order (high first) differ wherever a high half is not 0.
      const swapped = got.map((h) => h.map((_, k) => h[k ^ 1]!));
      if (ref.some((h) => h.some((x, k) => k % 2 === 1 && x !== 0))) expect(swapped, f).not.toEqual(ref);
    }
  });
});
