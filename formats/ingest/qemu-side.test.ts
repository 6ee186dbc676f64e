// The QEMU side read in a worker thread (INVTRACE_INGEST_WORKER=1: qemu-side.ts qemuEventsInWorker
// for an SMMUv3 log, readVtdLogPipelined for a VT-d one, see also pipeline.test.ts) against the
// same log read in this thread: the same trace bytes, the same summary (counts, warnings in order), the same
// error messages for a truncated gzip stream and, under --strict, a garbled line; and the wire
// (event-wire.ts) gives back every event the queues produce, with what the compact form cannot hold
// sent as it is. The worker runs the compiled module (dist/, built by `npm test`).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { capture, cliBuiltins, haveCaptures, tempDir } from '../../test/helpers.js';
import { Diagnostics, type CaptureEvent } from '../capture/events.js';
import { InputFault } from '../result.js';
import { decodeEvents, encodeEvents } from './event-wire.js';
import { ingest } from './ingest.js';
import { qemuEvents } from './qemu-side.js';

const dir = tempDir();
let n = 0;
const out = () => join(dir, `w${n++}.arrow`);

/** Ingests `file` with the worker forced on or off: the summary (outputs named alike) and the trace bytes. */
async function run(file: string, worker: boolean, strict = false) {
  process.env.INVTRACE_INGEST_WORKER = worker ? '1' : '0';
  const o = out();
  const s = await ingest([file], { output: o, strict });
  return { summary: { ...s, output: 'x.arrow' }, bytes: readFileSync(o) };
}

/** The InputFault message of a failing ingest. */
async function fault(file: string, worker: boolean, strict = false): Promise<string> {
  try {
    await run(file, worker, strict);
  } catch (e) {
    expect(e).toBeInstanceOf(InputFault);
    return (e as Error).message;
  }
  throw new Error('the ingest did not fail');
}

afterEach(() => {
  delete process.env.INVTRACE_INGEST_WORKER;
});

describe.skipIf(!haveCaptures)('the QEMU side read in a worker thread', () => {
  it.each(['qemu-vtd-scalable-strict.log.gz', 'qemu-vtd-legacy-lazy.log.gz', 'qemu-smmuv3-strict.log.gz'])(
    '%s: the same trace and summary as read in this thread',
    async (name) => {
      const here = await run(capture(name), false);
      const there = await run(capture(name), true);
      expect(there.summary).toEqual(here.summary);
      expect(Buffer.compare(there.bytes, here.bytes)).toBe(0);
      // the summary is not trivially equal: the log's lines and events were counted
      expect(here.summary.sources![0]!.lines).toBeGreaterThan(0);
    },
    60_000,
  );

  const lines = gunzipSync(readFileSync(capture('qemu-vtd-legacy-strict.log.gz')))
    .toString('utf8')
    .split('\n');

  it('a truncated gzip stream: the same message, naming the last good line', async () => {
    const whole = gzipSync(Buffer.from(lines.join('\n')));
    const p = join(dir, 'cut.log.gz');
    writeFileSync(p, whole.subarray(0, whole.length >> 1));
    const here = await fault(p, false);
    expect(here).toMatch(/cut\.log\.gz:\d+: truncated gzip stream after line \d+$/);
    expect(await fault(p, true)).toBe(here);
    // the whole stream reads (the fault is the cut, not the reader)
    writeFileSync(p, whole);
    await expect(run(p, true)).resolves.toBeDefined();
  }, 60_000);

  it('a garbled line: the same warning; under --strict the same error', async () => {
    const k = lines.findIndex((l) => l.includes('vtd_inv_qi_head read head'));
    const copy = [...lines];
    copy[k] = copy[k]!.replace(/read head \d+/, 'read head x7');
    const p = join(dir, 'garbled.log');
    writeFileSync(p, copy.join('\n'));
    const here = await run(p, false);
    const there = await run(p, true);
    // two malformed lines: the head, then its vtd_inv_desc line, which has no head before it
    expect(lines[k + 1]).toContain('vtd_inv_desc invalidate desc');
    expect(here.summary.skipped!.malformed_lines).toBe(2);
    expect(here.summary.warnings.filter((w) => w.startsWith(`${p}:${k + 1}: `) || w.startsWith(`${p}:${k + 2}: `))).toHaveLength(2);
    expect(there.summary).toEqual(here.summary);
    const strict = await fault(p, false, true);
    expect(strict).toMatch(new RegExp(`garbled\\.log:${k + 1}: `));
    expect(await fault(p, true, true)).toBe(strict);
  }, 60_000);
});

describe.skipIf(!haveCaptures)('node:worker_threads is loaded only for a worker (qemu-side.ts, worker-job.ts)', () => {
  // (With a worker, the worker's own list joins stderr too: the tests above cover that path.)
  const threads = (file: string) => {
    process.env.INVTRACE_INGEST_WORKER = '0';
    return cliBuiltins('ingest', file, '-o', out()).filter((m) => m === 'NativeModule worker_threads');
  };

  it('a plain and a gzip VT-d log read in this thread load none', () => {
    const plain = join(dir, 'plain.log');
    writeFileSync(plain, gunzipSync(readFileSync(capture('qemu-vtd-legacy-strict.log.gz'))));
    expect(threads(plain)).toEqual([]);
    expect(threads(capture('qemu-vtd-scalable-strict.log.gz'))).toEqual([]);
  }, 60_000);
});

describe.skipIf(!haveCaptures)('the event wire', () => {
  /** Every queue event of a bundled log, as the in-thread reader gives them. */
  async function eventsOf(name: string): Promise<CaptureEvent[]> {
    const all: CaptureEvent[] = [];
    const arch = name.includes('smmuv3') ? 'smmuv3' : 'vtd';
    for await (const b of qemuEvents(capture(name), arch, new Diagnostics(name))) all.push(...b);
    return all;
  }
  /** An event as the assembler reads it (a QEMU command's `detail` is not carried). */
  const bare = (e: CaptureEvent) => {
    const { detail: _, ...rest } = e as CaptureEvent & { detail?: unknown };
    return rest;
  };

  it.each(['qemu-vtd-scalable-strict.log.gz', 'qemu-smmuv3-lazy.log.gz'])('%s: every event comes back', async (name) => {
    const events = await eventsOf(name);
    const back = decodeEvents(encodeEvents(events), name);
    expect(back).toHaveLength(events.length);
    expect(back).toEqual(events.map(bare));
    // geometry goes as it is; commands with known masks (SMMUv3's rebuilt words, VT-d's PASID
    // descriptors QEMU 7.2 prints no line for) and without as arrays
    expect(events.some((e) => e.kind === 'geometry')).toBe(true);
    expect(events.some((e) => e.kind === 'cmd' && e.known !== undefined)).toBe(true);
    expect(events.some((e) => e.kind === 'doorbell')).toBe(true);
  });

  it('what the arrays cannot hold travels as it is', () => {
    const at = { file: 'f.log', line: 7 };
    const events: CaptureEvent[] = [
      // a time past 2^63 - 1 ns (a garbled seconds field of 15 digits): does not fit Int64
      { kind: 'doorbell', slot: 3, wrap: 1, at, ts_ns: 999_999_999_999_999n * 1_000_000_000n, cpu: 1 },
      // a word past 64 bits, and a rewrite (no wrap bit) with no time or thread
      { kind: 'cmd', slot: 4, wrap: undefined, words: [1n << 64n, 0n], at, ts_ns: undefined, cpu: undefined },
      { kind: 'cmd', slot: 5, wrap: undefined, words: [1n, 2n], at, ts_ns: undefined, cpu: undefined },
      { kind: 'ack', at, ts_ns: 5n, cpu: 2 },
    ];
    const wire = encodeEvents(events);
    expect(wire.other).toEqual([events[0], events[1]]);
    expect(decodeEvents(wire, 'f.log')).toEqual(events);
  });
});
