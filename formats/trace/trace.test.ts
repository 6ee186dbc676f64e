// The canonical trace: JSONL scenario -> Arrow file -> back, multi-batch streaming writes, header
// validation, and clear errors for bad files.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { readJsonl } from '../jsonl/reader.js';
import { JsonlWriter } from '../jsonl/writer.js';
import { ingest } from '../ingest/ingest.js';
import { InputFault } from '../result.js';
import { TraceBuilder } from './builder.js';
import { parseHeader, type TraceHeader } from './header.js';
import { openTrace, readTrace, TraceFileWriter } from './io.js';
import { traceInfo } from './info.js';
import { viewBatch } from './view.js';

const dir = tempDir();

const SCENARIO = `{"invtrace": 1, "arch": "vtd", "queue_entries": 4, "desc_bytes": 16, "start": 2,
 "topology": {"iommus": 1, "devices": [{"sid": "0x100", "psid": "0x100", "iommu": 0, "ats": true, "domain": 6}]}}
# an IOTLB PSI, a device-TLB invalidation and the wait, wrapping a 4-entry ring
{"cmd": ["0x600f2", "0xffff8000"], "ts": 1000}
{"cmd": ["0x10000000003", "0xffff8000"], "cpu": 1}
{"cmd": {"op": "inv_wait", "sw": 1, "status_data": 2, "status_addr": "0x1046194"}}
{"doorbell": true}
{"cmd": ["0x4", "0x0"], "slot": 1}
{"doorbell": {"prod": 2, "wrap": 1}}
{"ack": true}
{"fault": "atc_timeout", "sid": "0x100"}
`;

async function rowsOf(path: string) {
  const t = await openTrace(path);
  const rows: { kind: string; slot: number | null; wrap: number | null; words: string[] }[] = [];
  for await (const b of t.batches()) {
    const v = viewBatch(b);
    for (let i = 0; i < v.length; i++) {
      const kind = v.kindOf(i);
      rows.push({
        kind,
        slot: v.slot.valid(i) ? v.slot.values[i]! : null,
        wrap: v.wrap.valid(i) ? v.wrap.values[i]! : null,
        words: kind === 'cmd' ? v.words(i, 2).map((w) => w.toString(16)) : [],
      });
    }
  }
  return { header: t.header, rows };
}

describe('JSONL scenario to Arrow and back', () => {
  const src = join(dir, 'scenario.jsonl');
  writeFileSync(src, SCENARIO);

  it('places commands from start, wrapping with the wrap bit, and keeps every event', async () => {
    const out = join(dir, 'scenario.arrow');
    await ingest([src], { output: out });
    const { header, rows } = await rowsOf(out);
    expect(header.arch).toBe('vtd');
    expect(header.start).toBe(2);
    expect(header.topology?.devices[0]).toMatchObject({ sid: 0x100, ats: true, domain: 6, iommu: 0 });
    expect(rows.map((r) => [r.kind, r.slot, r.wrap])).toEqual([
      ['cmd', 2, 0],
      ['cmd', 3, 0],
      ['cmd', 0, 1],
      ['doorbell', 1, 1],
      ['cmd', 1, null],
      ['doorbell', 2, 1],
      ['ack', null, null],
      ['atc_timeout', null, null],
    ]);
    expect(rows[0]!.words).toEqual(['600f2', 'ffff8000']);
    expect(rows[2]!.words).toEqual(['200000025', '1046194']);
    const info = await traceInfo(await openTrace(out));
    expect(info).toMatchObject({ commands: 4, doorbells: 2, acks: 1, faults: 1, wraps: 1 });
    expect(info.by_op).toEqual({ iotlb_inv: 1, dev_tlb_inv: 1, inv_wait: 1, iec_inv: 1 });
    expect(info.entries_per_doorbell).toEqual({ min: 1, mean: 2, max: 3 });
  });

  it('round-trips through export: same raw words, slots and header', async () => {
    const a = join(dir, 'a.arrow');
    await ingest([src], { output: a });
    const lines: string[] = [];
    const t = await openTrace(a);
    const w = new JsonlWriter(t.header, (l) => lines.push(l));
    for await (const b of t.batches()) w.batch(b);
    const back = join(dir, 'back.jsonl');
    writeFileSync(back, `${lines.join('\n')}\n`);
    const b = join(dir, 'b.arrow');
    await ingest([back], { output: b });
    const ra = await rowsOf(a);
    const rb = await rowsOf(b);
    expect(rb.rows).toEqual(ra.rows);
    const strip = (h: TraceHeader) => ({ ...h, sources: undefined });
    expect(strip(rb.header)).toEqual(strip(ra.header));
  });

  it('reports bad lines with file and line number', async () => {
    const cases: [string, RegExp][] = [
      ['{"cmd": ["0x600f2"]}', /:3: cmd: expected 2 words, got 1/],
      ['{"cmd": ["0xzz", "0x0"]}', /:3: cmd\[0\]: expected an unsigned 64-bit value/],
      ['{"doorbell": {"prod": 9}}', /:3: doorbell: producer 9 .* outside a queue of 4 entries/],
      ['{"cmd": ["0x600f2", "0x0"], "bogus": 1}', /:3: bogus: unknown key/],
      ['not json', /:3: not a JSON event/],
      ['{"cmd": {"op": "iotlb_inv", "am": 99}}', /:3: cmd.AM: 0x63 does not fit in 6 bits/],
    ];
    for (const [line, re] of cases) {
      const p = join(dir, 'bad.jsonl');
      writeFileSync(p, `{"invtrace": 1, "arch": "vtd", "queue_entries": 4}\n\n${line}\n`);
      await expect(ingest([p], { output: join(dir, 'bad.arrow') })).rejects.toThrow(re);
    }
  });

  it('validates the header', () => {
    expect(parseHeader({ invtrace: 1, arch: 'mips' }).ok).toBe(false);
    expect(parseHeader({ invtrace: 1, arch: 'vtd', queue_entries: 100 }).ok).toBe(false);
    expect(parseHeader({ invtrace: 1, arch: 'smmuv3', desc_bytes: 32 }).ok).toBe(false);
    expect(parseHeader({ invtrace: 1, arch: 'vtd', topology: { devices: [{ sid: 1, iommu: 3 }] } }).ok).toBe(false);
    const ok = parseHeader({ invtrace: 1, arch: 'smmuv3', queue_entries: 65536, topology: { iommus: 2, devices: [{ sid: '0x8' }] } });
    expect(ok.ok && ok.value.topology).toEqual({
      iommus: [
        { id: 0, vmid: 1 },
        { id: 1, vmid: 2 },
      ],
      devices: [{ sid: 8, psid: 8, iommu: 0, ats: false, domain: 0, hwpt: 0 }],
    });
  });
});

describe('streaming writes', () => {
  it('writes many batches that share one dictionary, then completes the header at close', async () => {
    const header = parseHeader({ invtrace: 1, arch: 'smmuv3', queue_entries: 1024 });
    if (!header.ok) throw new Error('header');
    const path = join(dir, 'many.arrow');
    const w = new TraceFileWriter(path, header.value);
    const b = new TraceBuilder(header.value, w, 1000, 'gen');
    const n = 25_000;
    for (let i = 0; i < n; i++) {
      b.command(
        i % 1024,
        i % 2 ? [0x46n | (2n << 12n), 0n] : [0x1000000000012n | (BigInt(i & 0xffff) << 48n), 0xffff6701n],
        {},
        (i >> 10) & 1,
      );
      if (i % 2) b.doorbell((i + 1) % 1024, ((i + 1) >> 10) & 1);
    }
    b.flush();
    await w.close({ ...header.value, notes: { generated: n } });
    const { header: h, table } = await readTrace(path);
    expect(h.notes).toEqual({ generated: n });
    expect(table.batches.length).toBeGreaterThan(30);
    expect(table.numRows).toBe(n + n / 2);
    const info = await traceInfo(await openTrace(path));
    expect(info.by_op).toEqual({ CMD_SYNC: n / 2, CMD_TLBI_NH_VA: n / 2 });
    expect(info.wraps).toBe(Math.floor(n / 1024));
    expect(info.entries_per_doorbell).toEqual({ min: 2, mean: 2, max: 2 });
  });
});

describe('empty traces', () => {
  it('a scenario with only a header gives a readable trace of zero rows (dictionaries and all)', async () => {
    const src = join(dir, 'empty.jsonl');
    writeFileSync(src, '{"invtrace": 1, "arch": "vtd"}\n');
    const out = join(dir, 'empty.arrow');
    await ingest([src], { output: out });
    const info = await traceInfo(await openTrace(out));
    expect(info).toMatchObject({ events: 0, commands: 0, by_op: {} });
    const { table } = await readTrace(out);
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => f.name)).toContain('op');
  });
});

describe('bad trace files', () => {
  it('names the file when it is not an Arrow trace', async () => {
    const p = join(dir, 'junk.arrow');
    writeFileSync(p, 'hello');
    await expect(openTrace(p)).rejects.toThrow(InputFault);
    await expect(openTrace(p)).rejects.toThrow(/junk.arrow: not an Arrow IPC file/);
    await expect(openTrace(join(dir, 'missing.arrow'))).rejects.toThrow(/missing.arrow: no such file/);
  });
  it('names the file when an Arrow file is cut short', async () => {
    const src = join(dir, 's.jsonl');
    writeFileSync(src, SCENARIO);
    const good = join(dir, 'good.arrow');
    await ingest([src], { output: good });
    const bytes = readFileSync(good);
    const cut = join(dir, 'cut.arrow');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(readTrace(cut)).rejects.toThrow(/cut.arrow: /);
  });
  it('reads a scenario without a header as an error, not a crash', async () => {
    const p = join(dir, 'nohdr.jsonl');
    writeFileSync(p, '{"cmd": ["0x1", "0x0"]}\n');
    await expect(readJsonl(p, { write: () => undefined })).rejects.toThrow(/nohdr.jsonl:1: invtrace: header: expected "invtrace": 1/);
  });
});
