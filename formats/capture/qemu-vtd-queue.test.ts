// VtdQemuQueue's per-command `detail`: made for rows that read it (event objects), not for rows
// that say they do not (`readsDetail: false`, the trace assembler's), whose calls are otherwise the same.

import { describe, expect, it } from 'vitest';
import { Diagnostics } from './events.js';
import { QemuByteScanner } from './qemu-bytes.js';
import { parseQemuLogLine } from './qemu-log.js';
import { VTD_EVENTS } from './qemu-vtd.js';
import { VtdQemuQueue } from './qemu-vtd-queue.js';
import { EventRows } from './queue-rows.js';
import type { Stamp } from './stamp.js';

const LOG = [
  '16092@1795239950.879303:vtd_reg_write addr 0x88 size 0x4 value 0x40',
  '16092@1795239950.879305:vtd_inv_qi_fetch ',
  '16092@1795239950.879306:vtd_inv_qi_head read head 0',
  '16092@1795239950.879308:vtd_inv_desc invalidate desc type iec high 0x0 low 0x4',
  '16092@1795239950.879310:vtd_inv_desc_iec granularity 0x0 index 0x0 mask 0x0',
  '16092@1795239950.879311:vtd_inv_qi_head read head 1',
  '16092@1795239950.879312:vtd_inv_desc invalidate desc type wait high 0x1046004 low 0x200000025',
  '16092@1795239950.879313:vtd_inv_qi_head read head 2',
  '16092@1795239950.879314:vtd_inv_qi_head read head 3',
];

/** EventRows that records the `detail` of each command call. */
class DetailRows extends EventRows {
  readonly details: unknown[] = [];
  constructor(readonly readsDetail: boolean) {
    super();
  }
  override command(...a: [number, number, number, number, number, number, string, number, Stamp, unknown]): void {
    this.details.push(a[9]);
    super.command(...a);
  }
  override unknownCommand(slot: number, wrap: number, file: string, line: number, t: Stamp, detail: unknown): void {
    this.details.push(detail);
    super.unknownCommand(slot, wrap, file, line, t, detail);
  }
}

function run(rows: DetailRows, details: boolean): DetailRows {
  const diag = new Diagnostics('q.log');
  const q = new VtdQemuQueue(diag, { rows, details });
  LOG.forEach((text, i) => q.feed(parseQemuLogLine(text)!, i + 1));
  q.end();
  return rows;
}

describe('VtdQemuQueue detail', () => {
  it('is made for rows that read it, with the detail events when kept', () => {
    const withEvents = run(new DetailRows(true), true).details as { type?: string; events: { event: string }[] }[];
    expect(withEvents.map((d) => [d.type, d.events.map((e) => e.event)])).toEqual([
      ['iec', ['vtd_inv_desc_iec']],
      ['wait', []],
      [undefined, []],
      [undefined, []],
    ]);
    const bare = run(new DetailRows(true), false).details as { type?: string; events: unknown[] }[];
    expect(bare.map((d) => [d.type, d.events.length])).toEqual([
      ['iec', 0],
      ['wait', 0],
      [undefined, 0],
      [undefined, 0],
    ]);
  });

  it('is not made for rows that do not read it; the rows are the same', () => {
    const read = run(new DetailRows(true), false);
    const unread = run(new DetailRows(false), false);
    expect(unread.details).toEqual([undefined, undefined, undefined, undefined]);
    const strip = (e: object) => ({ ...e, detail: undefined });
    expect(unread.take().map(strip)).toEqual(read.take().map(strip));
  });
});

describe('VtdQemuQueue descriptor type names', () => {
  /** The messages and command count of a read head and a descriptor line of type name `type`. */
  function desc(type: string, low: string): { messages: string[]; commands: number } {
    const diag = new Diagnostics('q.log');
    const rows = new EventRows();
    const q = new VtdQemuQueue(diag, { rows, details: false });
    [
      '16092@1795239950.879306:vtd_inv_qi_head read head 0',
      `16092@1795239950.879308:vtd_inv_desc invalidate desc type ${type} high 0x0 low ${low}`,
    ].forEach((text, i) => q.feed(parseQemuLogLine(text)!, i + 1));
    q.end();
    return { messages: diag.allMessages(), commands: rows.take().filter((e) => e.kind === 'cmd').length };
  }

  it('checks a name QEMU prints against the low qword', () => {
    expect(desc('wait', '0x5').messages).toEqual([]);
    expect(desc('iotlb', '0x5').messages.join('\n')).toContain('type iotlb does not match the low qword');
  });

  it('takes any other name as it is, also one of Object.prototype', () => {
    for (const type of ['constructor', 'toString', 'hasOwnProperty', 'bogus']) {
      expect(desc(type, '0x5')).toEqual({ messages: [], commands: 1 });
    }
  });
});

describe('VtdQemuQueue register-mode reader', () => {
  it('is warmed up with calls that apply no event', () => {
    const diag = new Diagnostics('q.log');
    const rows = new EventRows();
    const q = new VtdQemuQueue(diag, { rows, details: false });
    const scanner = new QemuByteScanner(VTD_EVENTS, (event) => q.valuesRead(event), 'registers');
    const apply = q.scanned(scanner);
    q.end();
    expect(rows.take()).toEqual([]);
    expect(diag.allMessages()).toEqual([]);
    expect(q.stats).toEqual({ descriptors: 0, unknownType: 0, doorbells: 0, acks: 0 });
    // and reads lines as before
    const log = Buffer.from(`${LOG.join('\n')}\n`);
    let at = 0;
    LOG.forEach((text, i) => {
      const code = scanner.scanCode(log, at, at + text.length);
      at += text.length + 1;
      expect(code).toBeGreaterThanOrEqual(0);
      apply(code, i + 1);
    });
    q.end();
    expect(rows.take().map((e) => e.kind)).toEqual(['cmd', 'cmd', 'cmd', 'cmd', 'doorbell']);
  });
});

describe('VtdQemuQueue tail line', () => {
  /** The messages of `lines`, fed as text and through a register-mode scanner. */
  function messages(lines: string[]): string[][] {
    const text = new Diagnostics('q.log');
    const q = new VtdQemuQueue(text, { rows: new EventRows(), details: false });
    lines.forEach((l, i) => q.feed(parseQemuLogLine(l)!, i + 1));
    q.end();
    const scanned = new Diagnostics('q.log');
    const r = new VtdQemuQueue(scanned, { rows: new EventRows(), details: false });
    const scanner = new QemuByteScanner(VTD_EVENTS, (event) => r.valuesRead(event), 'registers');
    const apply = r.scanned(scanner);
    const log = Buffer.from(lines.join('\n'));
    let at = 0;
    lines.forEach((l, i) => {
      apply(scanner.scanCode(log, at, at + l.length), i + 1);
      at += l.length + 1;
    });
    r.end();
    return [text.allMessages(), scanned.allMessages()];
  }

  it('ends what a dropped read head left (its descriptor line goes with it only up to the tail line)', () => {
    const dropped = '16092@1795239950.879306:vtd_inv_qi_head read head 300';
    const descLine = '16092@1795239950.879308:vtd_inv_desc invalidate desc type wait high 0x0 low 0x5';
    const tail = '16092@1795239950.879309:vtd_inv_qi_tail write tail 1';
    for (const m of messages([dropped, descLine])) expect(m.join('\n')).not.toContain('without a "read head"');
    for (const m of messages([dropped, tail, descLine]))
      expect(m.join('\n')).toContain('descriptor line without a "read head" line before it');
  });
});
