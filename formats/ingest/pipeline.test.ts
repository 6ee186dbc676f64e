// A VT-d QEMU log ingested on its own in two stages (qemu-side.ts readVtdLogPipelined: a worker
// thread reads, scans and runs the queue, recording the queue's calls in typed-array batches,
// row-wire.ts; this thread replays them into the trace assembler) against the same log read in one
// thread (readVtdLogInto): on every bundled VT-d log in each line-prefix style, across batch
// boundaries (batches of 7 calls), across record batches, with damaged lines, under --strict and
// with a truncated gzip stream, both give the same trace bytes, summary (counts, warnings in order)
// and errors. A batch the worker skips makes the order check fire. The worker runs the compiled
// module (dist/, built by `npm test`).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { prefixStyles } from '../../samples/prefix-styles.js';
import { capture, haveCaptures, tempDir } from '../../test/helpers.js';
import { InputFault } from '../result.js';
import { ingest, type IngestOptions } from './ingest.js';
import { BatchOrder } from './row-wire.js';

const dir = tempDir();
let n = 0;

/** Ingests `file` one way: the summary (outputs named alike) and the trace bytes. */
async function run(file: string, pipeline: 'serial' | 'worker', opts: Partial<IngestOptions> = {}) {
  const o = join(dir, `p${n++}.arrow`);
  const s = await ingest([file], { output: o, pipeline, ...opts });
  return { summary: { ...s, output: 'x.arrow' }, bytes: readFileSync(o) };
}

/** Both ways (the pipeline's batches of `batchRows` calls). */
async function both(file: string, opts: Partial<IngestOptions> = {}, batchRows = 7) {
  return { serial: await run(file, 'serial', opts), piped: await run(file, 'worker', { ...opts, pipelineOptions: { batchRows } }) };
}

/** The error of a failing ingest, one way. */
async function failure(file: string, pipeline: 'serial' | 'worker', opts: Partial<IngestOptions> = {}): Promise<Error> {
  try {
    await run(file, pipeline, opts);
  } catch (e) {
    return e as Error;
  }
  throw new Error('the ingest did not fail');
}

const text = (name: string) => gunzipSync(readFileSync(capture(name))).toString('utf8');
const put = (name: string, body: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
};

describe.skipIf(!haveCaptures)('a VT-d log read in two stages = read in one thread', () => {
  it.each(['vtd-legacy-strict', 'vtd-legacy-lazy', 'vtd-scalable-strict'])(
    'qemu-%s: plain, ISO-8601 prefix, no prefix; batches of 7 calls',
    async (name) => {
      const t = text(`qemu-${name}.log.gz`);
      const shapes = prefixStyles(t);
      for (const [shape, body] of Object.entries(shapes)) {
        const { serial, piped } = await both(put(`${name}.${shape}.log`, body));
        expect(piped.summary, shape).toEqual(serial.summary);
        expect(Buffer.compare(piped.bytes, serial.bytes), shape).toBe(0);
        // not trivially equal: commands and doorbells were written, many batches of 7 calls each
        // (vtd-legacy-lazy, the smallest, has 256 commands)
        expect(serial.summary.commands).toBeGreaterThan(100);
        expect(serial.summary.doorbells).toBeGreaterThan(10);
      }
    },
    180_000,
  );

  it('the gzip log as bundled, default batches and across record batches (1,000 rows each)', async () => {
    const gz = capture('qemu-vtd-scalable-strict.log.gz');
    const a = await both(gz, {}, 8192);
    expect(a.piped.summary).toEqual(a.serial.summary);
    expect(Buffer.compare(a.piped.bytes, a.serial.bytes)).toBe(0);
    const x2 = put('x2.log', text('qemu-vtd-scalable-strict.log.gz').repeat(2));
    const b = await both(x2, { batchRows: 1000 }, 1000);
    expect(b.piped.summary).toEqual(b.serial.summary);
    expect(Buffer.compare(b.piped.bytes, b.serial.bytes)).toBe(0);
    // the copy re-initialises the queue (a geometry event in a batch): the reader warns
    expect(b.serial.summary.warnings.some((w) => w.includes('queue re-initialised'))).toBe(true);
    expect(b.serial.summary.rows).toBeGreaterThan(10 * 1000);
  }, 120_000);

  const lazy = () => text('qemu-vtd-legacy-lazy.log.gz').split('\n');

  it('damaged lines: the same warnings and rows; under --strict the same error', async () => {
    const lines = lazy();
    const k = lines.findIndex((l, i) => i > 100 && l.includes('vtd_inv_qi_head read head'));
    lines[k] = lines[k]!.replace(/read head \d+/, 'read head 4096'); // outside the queue
    const d = lines.findIndex((l, i) => i > k + 50 && l.includes('vtd_inv_desc invalidate desc type iotlb'));
    lines[d] = lines[d]!.replace('desc type', 'desc tyXXpe'); // garbled
    const w = lines.findIndex((l, i) => i > d + 50 && /vtd_reg_write addr 0x88 /.test(l));
    lines[w] = lines[w]!.replace(/value 0x\w+$/, 'value 0x1000000000'); // IQT past 32 bits: an impossible value
    lines.splice(w + 40, 0, '\u0000\u0007#@!garbage');
    const p = put('damaged.log', lines.join('\n'));
    const { serial, piped } = await both(p);
    expect(piped.summary).toEqual(serial.summary);
    expect(Buffer.compare(piped.bytes, serial.bytes)).toBe(0);
    // head, garbled descriptor, IQT, garbage: each a malformed line naming its line
    expect(serial.summary.skipped!.malformed_lines).toBe(4);
    for (const no of [k + 1, d + 1, w + 1]) expect(serial.summary.warnings.some((x) => x.startsWith(`${p}:${no}: `))).toBe(true);
    const strict = await failure(p, 'serial', { strict: true });
    expect(strict).toBeInstanceOf(InputFault);
    expect(strict.message).toMatch(new RegExp(`damaged\\.log:${k + 1}: vtd_inv_qi_head: head 4096 is outside`));
    const there = await failure(p, 'worker', { strict: true, pipelineOptions: { batchRows: 7 } });
    expect(there).toBeInstanceOf(InputFault);
    expect(there.message).toBe(strict.message);
  }, 120_000);

  it('a truncated gzip stream: the same message, naming the last good line', async () => {
    const whole = gzipSync(Buffer.from(text('qemu-vtd-legacy-strict.log.gz')));
    const p = put('cut.log.gz', whole.subarray(0, whole.length >> 1));
    const here = await failure(p, 'serial');
    expect(here).toBeInstanceOf(InputFault);
    expect(here.message).toMatch(/cut\.log\.gz:\d+: truncated gzip stream after line \d+$/);
    const there = await failure(p, 'worker');
    expect(there).toBeInstanceOf(InputFault);
    expect(there.message).toBe(here.message);
    // the whole stream reads (the fault is the cut, not the reader)
    put('cut.log.gz', whole);
    await expect(run(p, 'worker')).resolves.toBeDefined();
  }, 60_000);

  it('a batch lost on the way fails the ingest (first, middle or last)', async () => {
    const p = put('order.log', text('qemu-vtd-legacy-lazy.log.gz'));
    // vtd-legacy-lazy: 256 commands and their doorbells, so more than 10 batches of 50 calls
    const first = await failure(p, 'worker', { pipelineOptions: { batchRows: 50, skipBatch: 0 } });
    expect(first).not.toBeInstanceOf(InputFault);
    expect(first.message).toBe('row batch 1 arrived where batch 0 was expected (a batch lost or reordered)');
    const mid = await failure(p, 'worker', { pipelineOptions: { batchRows: 50, skipBatch: 3 } });
    expect(mid.message).toBe('row batch 4 arrived where batch 3 was expected (a batch lost or reordered)');
    // a skip beyond the last batch skips nothing: silent, and the same trace
    const { summary, bytes } = await run(p, 'serial');
    const beyond = Math.ceil(summary.rows / 50) + 10;
    const kept = await run(p, 'worker', { pipelineOptions: { batchRows: 50, skipBatch: beyond } });
    expect(Buffer.compare(kept.bytes, bytes)).toBe(0);
    // the last batch lost (here the only one): caught by the count the reader announces at its end
    const last = await failure(p, 'worker', { pipelineOptions: { batchRows: 100_000, skipBatch: 0 } });
    expect(last.message).toBe('the log reader sent 1 row batches but 0 arrived');
  }, 60_000);
});

describe.skipIf(!haveCaptures || !existsSync('/proc/self/task'))('a failing writer ends the reader', () => {
  const threads = () => readdirSync('/proc/self/task').length;
  /** Polls until the process has `n` threads (a thread ended is reaped shortly after), or 2 s. */
  async function settle(n: number): Promise<number> {
    for (let i = 0; i < 40 && threads() !== n; i++) await new Promise((r) => setTimeout(r, 50));
    return threads();
  }

  it('the output cannot be written: the worker, waiting for credits, is woken and ended', async () => {
    const p = put('writer-fails.log', text('qemu-vtd-scalable-strict.log.gz'));
    // the thread pool and this thread's own helpers exist before the count is taken
    await run(p, 'serial');
    const before = threads();
    const bad = { output: join(dir, 'no-such-dir', 'x.arrow'), pipeline: 'worker' as const, pipelineOptions: { batchRows: 16 } };
    // batches of 16 calls: the worker has its 4 credits spent long before the log ends
    await expect(ingest([p], bad)).rejects.toThrow(/ENOENT/);
    expect(await settle(before)).toBe(before);
  }, 60_000);
});

describe('the batch order check', () => {
  it('fires on a batch reordered, doubled or missing at the end; silent in order', () => {
    const inOrder = new BatchOrder();
    for (const s of [0, 1, 2]) inOrder.take(s);
    expect(() => inOrder.end(3)).not.toThrow();
    const swapped = new BatchOrder();
    swapped.take(0);
    expect(() => swapped.take(2)).toThrow('row batch 2 arrived where batch 1 was expected');
    const doubled = new BatchOrder();
    doubled.take(0);
    expect(() => doubled.take(0)).toThrow('row batch 0 arrived where batch 1 was expected');
    const short = new BatchOrder();
    short.take(0);
    expect(() => short.end(2)).toThrow('the log reader sent 2 row batches but 1 arrived');
  });
});
