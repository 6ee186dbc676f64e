// A VT-d QEMU log ingested on its own is read straight into the trace's columns (qemu-side.ts
// readVtdLogInto: register-mode scanner, the queue's numbers, TraceAssembler as a QueueRows, the
// builder's rows from 32-bit halves). That is a fast path of reading the same log as queue event
// objects pushed into the assembler (the pair's path, `eventObjects`): on every bundled VT-d log,
// in each line-prefix style, across record batches, and with damaged lines, both give the same
// trace bytes, the same summary (counts, warnings in order) and the same errors.
import { describe, expect, it } from 'vitest';
import { prefixStyles } from '../../samples/prefix-styles.js';
import { bothWays, captureText } from '../../test/both-ways.js';
import { haveCaptures } from '../../test/helpers.js';

const { both, fault, put } = bothWays();
const text = captureText;

describe.skipIf(!haveCaptures)('a VT-d log read straight into columns = read as event objects', () => {
  it.each(['vtd-legacy-strict', 'vtd-legacy-lazy', 'vtd-scalable-strict'])(
    'qemu-%s: plain, ISO-8601 prefix, no prefix',
    async (run) => {
      const t = text(`qemu-${run}.log.gz`);
      const shapes = prefixStyles(t);
      for (const [shape, body] of Object.entries(shapes)) {
        const { direct, objects } = await both(put(`${run}.${shape}.log`, body));
        expect(direct.summary, shape).toEqual(objects.summary);
        expect(Buffer.compare(direct.bytes, objects.bytes), shape).toBe(0);
        // not trivially equal: commands and doorbells were written (vtd-legacy-lazy, the smallest, has 256 commands)
        expect(direct.summary.commands).toBeGreaterThan(100);
        expect(direct.summary.doorbells).toBeGreaterThan(10);
      }
    },
    120_000,
  );

  it('across record batches (1,000 rows each)', async () => {
    const { direct, objects } = await both(put('x2.log', text('qemu-vtd-scalable-strict.log.gz').repeat(2)), { batchRows: 1000 });
    expect(direct.summary).toEqual(objects.summary);
    expect(Buffer.compare(direct.bytes, objects.bytes)).toBe(0);
    // the copy re-initialises the queue: the reader warns, and the rows span many batches
    expect(direct.summary.warnings.some((w) => w.includes('queue re-initialised'))).toBe(true);
    expect(direct.summary.rows).toBeGreaterThan(10 * 1000);
  }, 120_000);

  it('damaged lines: the same warnings and rows; under --strict the same error', async () => {
    const lines = text('qemu-vtd-legacy-lazy.log.gz').split('\n');
    const k = lines.findIndex((l, i) => i > 100 && l.includes('vtd_inv_qi_head read head'));
    lines[k] = lines[k]!.replace(/read head \d+/, 'read head 4096'); // outside the queue
    const d = lines.findIndex((l, i) => i > k + 50 && l.includes('vtd_inv_desc invalidate desc type iotlb'));
    lines[d] = lines[d]!.replace('desc type', 'desc tyXXpe'); // garbled
    const w = lines.findIndex((l, i) => i > d + 50 && /vtd_reg_write addr 0x88 /.test(l));
    lines[w] = lines[w]!.replace(/value 0x\w+$/, 'value 0x1000000000'); // IQT past 32 bits
    lines.splice(w + 40, 0, '\u0000\u0007#@!garbage');
    const p = put('damaged.log', lines.join('\n'));
    const { direct, objects } = await both(p);
    expect(direct.summary).toEqual(objects.summary);
    expect(Buffer.compare(direct.bytes, objects.bytes)).toBe(0);
    // head, garbled descriptor, IQT, garbage: each a malformed line naming its line
    expect(direct.summary.skipped!.malformed_lines).toBe(4);
    for (const no of [k + 1, d + 1, w + 1]) expect(direct.summary.warnings.some((x) => x.startsWith(`${p}:${no}: `))).toBe(true);
    const strict = await fault(p, false);
    expect(strict).toMatch(new RegExp(`damaged\\.log:${k + 1}: vtd_inv_qi_head: head 4096 is outside`));
    expect(await fault(p, true)).toBe(strict);
  }, 120_000);
});
