// An SMMUv3 QEMU log ingested on its own is read straight into the trace's columns (qemu-side.ts
// readSmmuv3LogInto: register-mode scanner, the queue's numbers, each command rebuilt as 32-bit
// halves, TraceAssembler as a KnownRows). That is a fast path of reading the same log as queue event
// objects pushed into the assembler (the pair's path, `eventObjects`): on both bundled SMMUv3 logs,
// in each line-prefix style, across record batches, and with lines that make the rebuild report
// problems, both give the same trace bytes, the same summary (counts, warnings in order) and the
// same errors. And the commands rebuilt on numbers (qemu-smmuv3-halves.ts, from the register-mode
// scanner: qemu-side.ts qemuEvents) are the ones smmuv3-rebuild.ts rebuilds from every line parsed
// as text, with the same diagnostics.
import { describe, expect, it } from 'vitest';
import { prefixStyles } from '../../samples/prefix-styles.js';
import { bothWays, captureText } from '../../test/both-ways.js';
import { haveCaptures } from '../../test/helpers.js';
import { Diagnostics, type CaptureEvent } from '../capture/events.js';
import { readQemuLog } from '../capture/qemu-log.js';
import { Smmuv3QemuQueue } from '../capture/qemu-smmuv3-queue.js';
import { qemuEvents } from './qemu-side.js';

const { both, fault, put } = bothWays({ pipeline: 'serial' });
const text = captureText;

/** An event without the command's `detail` (which the register-mode reader does not make). */
const bare = (e: CaptureEvent) => {
  if (!('detail' in e)) return e;
  const { detail: _, ...rest } = e;
  return rest;
};

/** The queue events of `file` and its diagnostics: from the register-mode scanner, or every line as text. */
async function read(file: string, scanner: boolean) {
  const d = new Diagnostics(file);
  const events: CaptureEvent[] = [];
  if (scanner) for await (const batch of qemuEvents(file, 'smmuv3', d)) events.push(...batch);
  else {
    const q = new Smmuv3QemuQueue(d);
    for await (const l of readQemuLog(file)) {
      q.feed(l, l.no);
      events.push(...q.take());
    }
    q.end();
    events.push(...q.take());
  }
  return { events: events.map(bare), messages: d.allMessages(), malformed: d.malformed };
}

describe.skipIf(!haveCaptures)('an SMMUv3 log read straight into columns = read as event objects', () => {
  it.each(['smmuv3-strict', 'smmuv3-lazy'])(
    'qemu-%s: plain, ISO-8601 prefix, no prefix',
    async (run) => {
      const shapes = prefixStyles(text(`qemu-${run}.log.gz`));
      for (const [shape, body] of Object.entries(shapes)) {
        const { direct, objects } = await both(put(`${run}.${shape}.log`, body));
        expect(direct.summary, shape).toEqual(objects.summary);
        expect(Buffer.compare(direct.bytes, objects.bytes), shape).toBe(0);
        // not trivially equal: commands of several ops and doorbells were written (README: smmuv3-lazy
        // has 73 CMD_SYNC and 63 CMD_TLBI_NH_ASID)
        expect(direct.summary.commands).toBeGreaterThan(100);
        expect(Object.keys(direct.summary.by_op!).length).toBeGreaterThanOrEqual(5);
        expect(direct.summary.doorbells).toBeGreaterThan(10);
      }
    },
    120_000,
  );

  it.each(['smmuv3-strict', 'smmuv3-lazy'])(
    'qemu-%s: commands rebuilt on numbers = rebuilt by smmuv3-rebuild.ts from text',
    async (run) => {
      const p = put(`${run}.log`, text(`qemu-${run}.log.gz`));
      const fast = await read(p, true);
      const ref = await read(p, false);
      expect(fast).toEqual(ref);
      // README: smmuv3-lazy has 73 CMD_SYNC and 63 CMD_TLBI_NH_ASID among its commands
      expect(fast.events.filter((e) => e.kind === 'cmd').length).toBeGreaterThan(136);
    },
    120_000,
  );

  it('across record batches (1,000 rows each)', async () => {
    const { direct, objects } = await both(put('x2.log', text('qemu-smmuv3-strict.log.gz').repeat(2)), { batchRows: 1000 });
    expect(direct.summary).toEqual(objects.summary);
    expect(Buffer.compare(direct.bytes, objects.bytes)).toBe(0);
    expect(direct.summary.rows).toBeGreaterThan(10 * 1000);
  }, 120_000);

  it('lines the rebuild reports, or reads off the common path: the same warnings and rows; under --strict the same error', async () => {
    const lines = text('qemu-smmuv3-strict.log.gz').split('\n');
    const range = (from: number) => lines.findIndex((l, i) => i > from && l.includes('smmuv3_s1_range_inval vmid=0 asid=1'));
    const edits: [number, (l: string) => string][] = [];
    let at = 100;
    const edit = (f: (l: string) => string) => {
      at = range(at + 20);
      edits.push([at, f]);
    };
    edit((l) => l.replace(/addr=0x\w+/, 'addr=0xffff6800')); // not 4 KiB aligned
    edit((l) => l.replace('vmid=0', 'vmid=70000')); // VMID does not fit 16 bits
    edit((l) => l.replace('asid=1', 'asid=-1')); // no ASID: told unknown, not a problem
    edit((l) => l.replace('num_pages=0x1', 'num_pages=0x0')); // no page
    edit((l) => l.replace('num_pages=0x1', 'num_pages=0x21')); // 33 pages: (NUM+1) << SCALE cannot say it
    edit((l) => l.replace('num_pages=0x1', 'num_pages=0x4')); // 4 pages: NUM/SCALE ambiguous (unknown)
    edit((l) => l.replace('tg=1', 'tg=0')); // not a range
    edit((l) => l.replace(/ tg=1 num_pages=0x1 ttl=3/, '')); // an older format: no tg, pages or ttl
    edit((l) => l.replace('vmid=0 asid=1', 'vmid =0 asid =1')); // older spacing: parsed as text
    edit((l) => `${l}\n${l.replace(/addr=0x\w+/, 'addr=0x1000')}`); // a second chunk that does not continue the range
    edit((l) => `${l}\n${l.replace(/addr=0x(\w+)/, (_, a: string) => `addr=0x${(parseInt(a, 16) + 0x1000).toString(16)}`)}`); // one that does
    edit((l) => `${l}\n${l.replace('asid=1', 'asid=2')}`); // one of another ASID
    edit((l) => `${l}\n${l.replace(/smmuv3_s1_range_inval.*/, 'smmuv3_unhandled_cmd Unhandled command type=18')}`);
    edit((l) => `${l}\n${l.replace(/smmuv3_s1_range_inval.*/, 'smmuv3_unhandled_cmd Unhandled command type=3')}`);
    // Before an opcode: a consume outside the queue, an opcode name QEMU does not know.
    const consume = lines.findIndex((l, i) => i > at + 20 && l.includes('smmuv3_cmdq_consume prod='));
    const opcode = lines.findIndex((l, i) => i > consume + 20 && l.includes('smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC'));
    edits.push([consume, (l) => l.replace(/ cons=\d+/, ' cons=70000')]);
    edits.push([opcode, (l) => l.replace('SMMU_CMD_SYNC', 'UNKNOWN')]);
    for (const [i, f] of edits) lines[i] = f(lines[i]!);
    const p = put('damaged.log', lines.join('\n'));
    expect(await read(p, true)).toEqual(await read(p, false));
    const { direct, objects } = await both(p);
    expect(direct.summary).toEqual(objects.summary);
    expect(Buffer.compare(direct.bytes, objects.bytes)).toBe(0);
    // Reported (smmuv3-rebuild.ts): unaligned, VMID too wide, no page, 33 pages, the chunk that does
    // not continue, the chunk of another ASID, the unhandled type 3 under TLBI_NH_VA (0x12 = 18 is
    // its own); the consume outside the queue. The unknown opcode is counted as such.
    expect(direct.summary.skipped!.malformed_lines).toBe(8);
    expect(direct.summary.by_op!['(unknown)']).toBe(1);
    const strict = await fault(p, false);
    expect(strict).toMatch(/damaged\.log:\d+: address 0xffff6800 is not 4 KiB aligned/);
    expect(await fault(p, true)).toBe(strict);
  }, 120_000);
});
