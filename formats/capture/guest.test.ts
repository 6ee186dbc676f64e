// The guest side: what Linux appends and the tracepoints do not show is restored, marked inferred,
// with only the bits that are certain; submissions are grouped as spec/vtd.md §7 says; a trace
// buffer that lost events says so.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { capture, haveCaptures, tempDir } from '../../test/helpers.js';
import { ingest } from '../ingest/ingest.js';
import { openTrace } from '../trace/io.js';
import { Diagnostics, type CaptureEvent } from './events.js';
import { parseFtraceLine } from './ftrace.js';
import { GuestSmmuv3Queue } from './guest-smmuv3.js';
import { readGuestTrace } from './guest-trace.js';
import { GuestVtdQueue, VTD_TYPE_BITS } from './guest-vtd.js';

const dir = tempDir();
const lines = (file: string) =>
  gunzipSync(readFileSync(capture(file)))
    .toString('utf8')
    .split('\n');

describe.skipIf(!haveCaptures)('VT-d qi_submit', () => {
  const real = lines('guest-vtd-legacy-strict.txt.gz').filter((l) => l.includes(' qi_submit: '));

  it('descriptorsOnly: the same descriptors in the same slots, without the inferred waits and doorbells', () => {
    // Two submissions (89 µs apart, > the 2 µs gap): slots 0 and 2, each followed by its wait's slot.
    const a = '          insmod-101     [001] d.h2.     2.269917: qi_submit: iotlb_inv dmar0: 0x600f2 0xffff8000 0x0 0x0';
    const b = '          insmod-101     [001] d.h3.     2.270006: qi_submit: dev_tlb_inv dmar0: 0x10000000003 0xffff8000 0x0 0x0';
    const run = (descriptorsOnly: boolean) => {
      const q = new GuestVtdQueue(new Diagnostics('g'), { entries: 256, descriptorsOnly });
      [a, b].forEach((t, i) => q.feed({ ftrace: parseFtraceLine(t)!, no: i + 1 }));
      q.end();
      return q.take();
    };
    const all = run(false);
    const only = run(true);
    expect(only.map((e) => [e.kind, 'slot' in e ? e.slot : null])).toEqual([
      ['cmd', 0],
      ['cmd', 2],
    ]);
    expect(only).toEqual(all.filter((e) => e.inferred !== true));
  });

  it('each submission gets the wait Linux appends and a doorbell, both inferred', () => {
    const q = new GuestVtdQueue(new Diagnostics('g'), { entries: 256 });
    // the README's strict unmap: an IOTLB and a device-TLB invalidation, 89 µs apart: two submissions
    const a = '          insmod-101     [001] d.h2.     2.269917: qi_submit: iotlb_inv dmar0: 0x600f2 0xffff8000 0x0 0x0';
    const b = '          insmod-101     [001] d.h3.     2.270006: qi_submit: dev_tlb_inv dmar0: 0x10000000003 0xffff8000 0x0 0x0';
    [a, b].forEach((t, i) => q.feed({ ftrace: parseFtraceLine(t)!, no: i + 1 }));
    q.end();
    const ev = q.take();
    expect(ev.map((e) => [e.kind, 'slot' in e ? e.slot : null, e.inferred ?? false])).toEqual([
      ['cmd', 0, false],
      ['cmd', 1, true],
      ['doorbell', 2, true],
      ['cmd', 2, false],
      ['cmd', 3, true],
      ['doorbell', 4, true],
    ]);
    const wait = ev[1] as Extract<CaptureEvent, { kind: 'cmd' }>;
    expect(wait.known).toEqual([VTD_TYPE_BITS, 0n]); // the type; not the status address or data
    expect(q.stats).toEqual({ descriptors: 2, submissions: 2, inferredWaits: 2, inferredDoorbells: 2 });
  });

  it('descriptors of one task and CPU in a burst are one submission (one wait)', () => {
    // three real descriptors, timestamps made as close as the loop in qi_submit_sync() fires them
    const burst = real.slice(100, 103).map((t, i) =>
      t
        .replace(/ (\d+\.\d{6}): /, ` 3.00000${i}: `)
        .replace(/\[\d{3}\] \S+/, '[000] d..2.')
        .replace(/^\s*\S+-\d+/, '  kworker/0:1-12'),
    );
    const q = new GuestVtdQueue(new Diagnostics('g'), { entries: 4, start: 2 });
    burst.forEach((t, i) => q.feed({ ftrace: parseFtraceLine(t)!, no: i + 1 }));
    q.end();
    const ev = q.take();
    // slots 2, 3, then the wait at 0 on the next lap; the doorbell publishes up to 1
    expect(ev.map((e) => [e.kind, 'slot' in e ? e.slot : null, 'wrap' in e ? e.wrap : null])).toEqual([
      ['cmd', 2, 0],
      ['cmd', 3, 0],
      ['cmd', 0, 1],
      ['cmd', 1, 1],
      ['doorbell', 2, 1],
    ]);
    expect(q.stats.submissions).toBe(1);
  });

  it('an inferred wait in the trace: op inv_wait, fields null, inferred = 1', async () => {
    const o = join(dir, 'guest.arrow');
    await ingest([capture('guest-vtd-legacy-lazy.txt.gz')], { output: o });
    const t = await openTrace(o);
    let waits = 0;
    for await (const b of t.batches()) {
      for (let i = 0; i < b.numRows; i++) {
        if (b.getChild('op')!.get(i) !== 'inv_wait') continue;
        waits++;
        expect(b.getChild('inferred')!.get(i)).toBe(1);
        expect(b.getChild('status_addr')!.get(i)).toBeNull();
        expect(b.getChild('role')!.get(i)).toBe('sync');
        expect(b.getChild('known0')!.get(i)).toBe(VTD_TYPE_BITS);
      }
    }
    expect(waits).toBe(119); // one per qi_submit (Linux 6.1 submits descriptors one at a time)
  });
});

describe.skipIf(!haveCaptures)('smmu:cmdlist', () => {
  it('the CMD_SYNC the driver appends is inferred with its opcode only; n=0 sync=1 is a bare CMD_SYNC', () => {
    const q = new GuestSmmuv3Queue(new Diagnostics('g'), { entries: 16 });
    // a kprobe that records one pair per event (KP_CMDS=1): every line has c0_0 and c0_1
    const t = [
      '          insmod-99      [001] d.h..     1.253629: cmdlist: (arm_smmu_cmdq_issue_cmdlist+0x0/0x72c) n=1 sync=1 c0_0=0x1000000000012 c0_1=0xffff6701',
      '          insmod-99      [001] d.h..     1.253700: cmdlist: (arm_smmu_cmdq_issue_cmdlist+0x0/0x72c) n=0 sync=1 c0_0=0xdead c0_1=0xbeef',
      '          insmod-99      [001] d.h..     1.253800: cmdlist: (arm_smmu_cmdq_issue_cmdlist+0x0/0x72c) n=2 sync=0 c0_0=0x1000000000011 c0_1=0x0',
    ];
    t.forEach((x, i) => q.feed({ ftrace: parseFtraceLine(x)!, no: i + 1 }));
    const ev = q
      .take()
      .map((e) =>
        e.kind === 'cmd'
          ? ['cmd', e.slot, e.words[0], e.known ?? null, e.inferred ?? false]
          : [e.kind, 'slot' in e ? e.slot : null, e.inferred],
      );
    expect(ev).toEqual([
      ['cmd', 0, 0x1000000000012n, null, false],
      ['cmd', 1, 0x46n, [0xffn, 0n], true],
      ['doorbell', 2, true],
      ['cmd', 2, 0x46n, [0xffn, 0n], true],
      ['doorbell', 3, true],
      // n=2 with one pair recorded: the second command is there, of unknown type
      ['cmd', 3, 0x1000000000011n, null, false],
      ['cmd', 4, 0n, [0n, 0n], false],
      ['doorbell', 5, true],
    ]);
    expect(q.stats).toMatchObject({ batches: 3, commands: 2, unrecorded: 1, inferredSyncs: 2 });
  });
});

describe.skipIf(!haveCaptures)('the ftrace header', () => {
  it('a ring buffer that lost events is a warning', async () => {
    const l = lines('guest-smmuv3-lazy.txt.gz').map((x) =>
      x.replace(
        /entries-in-buffer\/entries-written: (\d+)\/\d+/,
        (_, a: string) => `entries-in-buffer/entries-written: ${a}/${Number(a) + 500}`,
      ),
    );
    const p = join(dir, 'lost.txt');
    writeFileSync(p, l.join('\n'));
    const d = new Diagnostics(p);
    const facts = {};
    for await (const _ of readGuestTrace(p, 'ftrace', d, facts)) {
      /* read */
    }
    expect(facts).toEqual({ lostEvents: 500 });
    expect(d.messages[0]).toMatch(/lost.txt:3: the guest's trace buffer lost 500 events/);
  });
});
