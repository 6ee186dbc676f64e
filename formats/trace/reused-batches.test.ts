// The trace reader into reused memory (reused-batches.ts, OpenTrace.reusingBatches) against
// apache-arrow's (OpenTrace.batches): the same batches column by column on every bundled trace and
// on a copy of one in three batches of different sizes, one buffer for every batch, rows counted
// from the metadata, and a file cut short while it is read giving one InputFault line.

import { copyFileSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordBatch } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { InputFault } from '../result.js';
import { ArrowFileSink } from '../arrow/file-sink.js';
import { openTrace, traceRows } from './io.js';
import { countRows, reusingBatches } from './reused-batches.js';
import { viewBatch } from './view.js';

const dir = tempDir();
const generated = fileURLToPath(new URL('../../samples/generated/', import.meta.url));
const bundled = readdirSync(generated)
  .filter((f) => f.endsWith('.arrow'))
  .map((f) => join(generated, f));

/** Every column's values of a batch, as JS values. */
const columns = (b: RecordBatch) => Object.fromEntries(b.schema.fields.map((f) => [f.name, Array.from(b.getChild(f.name)!)]));

/** A copy of the first bundled trace in three batches (small, large, middle: the buffer grows once, then is reused). */
async function threeBatches(name: string): Promise<string> {
  const t = await openTrace(bundled[0]!);
  const out = join(dir, name);
  // apache-arrow's writer: the batches are slices of read ones (the trace writer takes built batches)
  const w = new ArrowFileSink(out);
  for await (const b of t.batches()) {
    const n = b.numRows;
    w.write(b.slice(0, 500));
    w.write(b.slice(500, n - 1000));
    w.write(b.slice(n - 1000, n));
  }
  w.commit(t.schema);
  return out;
}

describe('reusingBatches', () => {
  it('gives the batches batches() gives, column by column (every bundled trace, and one in three batches)', async () => {
    for (const p of [...bundled, await threeBatches('three.arrow')]) {
      const t = await openTrace(p);
      const plain: RecordBatch[] = [];
      for await (const b of t.batches()) plain.push(b);
      let k = 0;
      // Each reused batch is compared before the next is read (it is valid only until then).
      for await (const b of t.reusingBatches!()) {
        expect(b.numRows, p).toBe(plain[k]!.numRows);
        expect(columns(b), p).toEqual(columns(plain[k]!));
        k++;
      }
      expect(k, p).toBe(plain.length);
    }
  });

  it('reads every batch into one buffer, which batches() does not', async () => {
    const p = await threeBatches('reuse.arrow');
    const buffers = async (it: AsyncIterable<RecordBatch>) => {
      const out: ArrayBufferLike[] = [];
      for await (const b of it) out.push(viewBatch(b).seq.buffer);
      return out;
    };
    const reused = await buffers(reusingBatches(p));
    expect(reused.length).toBe(3);
    // The first (small) batch's buffer grows once for the second; the third fits in it.
    expect(reused[2]).toBe(reused[1]);
    const plain = await buffers((await openTrace(p)).batches());
    expect(plain[2]).not.toBe(plain[1]);
  });

  it('counts rows from the batches metadata, as reading them does', async () => {
    for (const p of [...bundled, await threeBatches('count.arrow')]) {
      const t = await openTrace(p);
      let rows = 0;
      for await (const b of t.batches()) rows += b.numRows;
      expect(await countRows(p), p).toBe(rows);
      expect(await traceRows(t), p).toBe(rows);
      // A trace not read from a file (no countRows) is counted by reading its batches.
      expect(await traceRows({ path: t.path, header: t.header, schema: t.schema, batches: () => t.batches() }), p).toBe(rows);
    }
  });

  it('names the file in one line when it is cut short while it is read', async () => {
    const whole = await threeBatches('whole.arrow');
    const cut = join(dir, 'cut.arrow');
    copyFileSync(whole, cut);
    const read = async () => {
      let batches = 0;
      for await (const _ of reusingBatches(cut)) {
        // Once the footer is read (the first batch is out): cut the file in its second batch.
        if (batches++ === 0) truncateSync(cut, Math.floor(statSync(whole).size * 0.6));
      }
      return batches;
    };
    const e = (await read().catch((x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(InputFault);
    expect(e.message).toMatch(
      /cut\.arrow: corrupt Arrow file: Expected to read \d+ (bytes for message body|metadata bytes), but only read \d+\.$/,
    );
    expect(e.message.includes('\n')).toBe(false);
    // The same file cut short before it is opened: apache-arrow's footer read fails, same wording.
    await expect(countRows(cut)).rejects.toThrow(/cut\.arrow: corrupt Arrow file: /);
    await expect(countRows(join(dir, 'missing.arrow'))).rejects.toThrow(/missing\.arrow: no such file$/);
    // Not cut: every batch.
    copyFileSync(whole, cut);
    expect(
      await (async () => {
        let n = 0;
        for await (const _ of reusingBatches(cut)) n++;
        return n;
      })(),
    ).toBe(3);
  });
});
