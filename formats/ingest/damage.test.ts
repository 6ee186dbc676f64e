// Issue 12's ingest findings (../shared/findings/fuzz-2026-12), each shown firing on a damaged copy
// and silent on its undamaged twin; every expected number comes from the file formats (captures
// README, spec) or the captures' own counts:
// - a guest cmdlist line cut short is a malformed line (file:line; --strict exit 2), never commands of zeros;
// - ftrace event lines counted against the header's entries-in-buffer (lines lost or duplicated);
// - a legacy-mode QEMU head without its vtd_inv_desc line (verify's fuzz case) is a malformed line;
// - ring overruns (more published than the ring holds; writes past a stopped consumer) name the doorbell;
// - a 10 MB line in a gzip capture is read whole, with the lines after it numbered right.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { capture, cli, haveCaptures, tempDir } from '../../test/helpers.js';
import { readLineChunks } from '../lines.js';
import { ingest } from './ingest.js';

const dir = tempDir();
let n = 0;
const out = () => join(dir, `d${n++}.arrow`);
const linesOf = (file: string) =>
  gunzipSync(readFileSync(capture(file)))
    .toString('utf8')
    .split('\n');
const write = (name: string, lines: readonly string[]) => {
  const p = join(dir, `${n++}-${name}`);
  writeFileSync(p, lines.join('\n'));
  return p;
};

// captures README: guest-smmuv3-strict holds 5,794 commands in 5,798 batches, 5,796 with sync=1
const SMMU_STRICT = { commands: 5794, syncs: 5796 };

describe.skipIf(!haveCaptures)('a guest cmdlist line cut short', () => {
  const lines = linesOf('guest-smmuv3-strict.txt.gz');
  // the reproducer's line: a batch of one command with sync=1, cut right after "c0_0="
  const k = lines.findIndex((l) => / cmdlist: .* n=1 sync=1 c0_0=0x30 /.test(l));
  const cut = (at: RegExp) => {
    const copy = [...lines];
    copy[k] = copy[k]!.slice(0, copy[k]!.search(at));
    return copy;
  };

  it.each([
    ['right after "c0_0=" (the reproducer)', /(?<= c0_0=)/, /cmdlist: field c0_0 has no value: the line is cut short$/],
    ['after the first word', / c0_1=/, /cmdlist: c0_1 is missing: the line is cut short$/],
    ['between the words of a pair', / c1_1=/, /cmdlist: c1_1 is missing: the line is cut short$/],
    ['after two of the four recorded pairs', / c2_0=/, /cmdlist: 2 of the 4 recorded command pairs: the line is cut short$/],
  ])(
    '%s: a malformed line naming file:line; the batch is dropped, not read as zeros',
    async (_, at, message) => {
      const p = write('cut.txt', cut(at));
      const s = await ingest([p], { output: out() });
      expect(s.skipped!.malformed_lines).toBe(1);
      expect(s.warnings).toHaveLength(1);
      expect(s.warnings[0]).toMatch(new RegExp(`cut.txt:${k + 1}: `));
      expect(s.warnings[0]).toMatch(message);
      // the lost batch held n=1 command plus the appended CMD_SYNC; no command of unknown type
      expect(s.commands).toBe(SMMU_STRICT.commands + SMMU_STRICT.syncs - 2);
      expect(s.by_op!['(unknown)']).toBeUndefined();
      const strict = cli('ingest', p, '-o', out(), '--strict');
      expect(strict.code).toBe(2);
      expect(strict.stderr.trim()).toMatch(new RegExp(`^invtrace: \\S*cut.txt:${k + 1}: cmdlist: `));
    },
    30_000,
  );

  it('the same line whole: nothing to report', async () => {
    const s = await ingest([write('whole.txt', lines)], { output: out() });
    expect(s).toMatchObject({ commands: SMMU_STRICT.commands + SMMU_STRICT.syncs, warnings: [], skipped: { malformed_lines: 0 } });
  }, 30_000);
});

describe.skipIf(!haveCaptures)("ftrace event lines against the header's entries-in-buffer", () => {
  // guest-vtd-legacy-lazy: "# entries-in-buffer/entries-written: 13376/13376" on line 3, and 13,376 event lines
  const lines = linesOf('guest-vtd-legacy-lazy.txt.gz');
  const k = lines.findIndex((l) => l.includes(' unmap: IOMMU:'));
  const check = async (copy: string[]) => (await ingest([write('g.txt', copy)], { output: out() })).warnings;

  it('a deleted line: one missing', async () => {
    expect(await check(lines.filter((_, i) => i !== k))).toEqual([
      expect.stringMatching(/g.txt:3: the trace holds 13375 event lines but its header says entries-in-buffer 13376: 1 line missing$/),
    ]);
  }, 30_000);

  it('a duplicated line: one too many', async () => {
    const copy = [...lines];
    copy.splice(k, 0, lines[k]!);
    expect(await check(copy)).toEqual([
      expect.stringMatching(
        /g.txt:3: the trace holds 13377 event lines but its header says entries-in-buffer 13376: 1 line too many \(duplicated\?\)$/,
      ),
    ]);
  }, 30_000);

  it('the file as dumped: silent', async () => {
    expect(await check(lines)).toEqual([]);
  }, 30_000);
});

describe.skipIf(!haveCaptures)('a QEMU VT-d head without its descriptor line', () => {
  // QEMU 7.2 prints vtd_inv_desc for every descriptor of a 128-bit queue (captures README: legacy
  // strict has 29,476 descriptors, all decoded); only scalable mode's PASID descriptors go without.
  it('legacy mode: a malformed line naming the "read head" line; --strict exit 2', async () => {
    const lines = linesOf('qemu-vtd-legacy-lazy.log.gz');
    const d = lines.findIndex((l, i) => i > 100 && l.includes(':vtd_inv_desc invalidate desc type iec'));
    const head = d - 1;
    expect(lines[head]).toMatch(/:vtd_inv_qi_head read head (\d+)$/);
    const slot = /read head (\d+)$/.exec(lines[head]!)![1];
    const p = write(
      'lost-desc.log',
      lines.filter((_, i) => i !== d),
    );
    const s = await ingest([p], { output: out() });
    expect(s.skipped!.malformed_lines).toBe(1);
    expect(s.warnings).toEqual([
      expect.stringMatching(new RegExp(`lost-desc.log:${head + 1}: vtd_inv_qi_head: read head ${slot} has no vtd_inv_desc line`)),
    ]);
    expect(s.by_op).toMatchObject({ '(unknown)': 1, iec_inv: 50 }); // README: iec 51, one of them lost
    expect(cli('ingest', p, '-o', out(), '--strict').code).toBe(2);
    const whole = await ingest([capture('qemu-vtd-legacy-lazy.log.gz')], { output: out() });
    expect(whole.skipped!.malformed_lines).toBe(0);
  }, 30_000);

  it('scalable mode: the 15 PASID descriptors QEMU does not print stay unknown without a warning', async () => {
    const s = await ingest([capture('qemu-vtd-scalable-strict.log.gz')], { output: out() });
    expect(s.by_op!['(unknown)']).toBe(15); // README: 8 PASID-cache + 7 PASID-IOTLB
    expect(s.warnings).toEqual([]);
  }, 30_000);
});

describe('ring overruns, named by their doorbell', () => {
  const tlbi = (i: number) =>
    JSON.stringify({ cmd: { op: 'TLBI_NH_VA', asid: 1, tg: 1, ttl: 3, leaf: 1, addr: `0x${(0x100000 + i * 0x1000).toString(16)}` } });
  const head = (arch: string) => JSON.stringify({ invtrace: 1, arch, queue_entries: 8, desc_bytes: 16 });
  const run = async (lines: string[]) => (await ingest([write('s.jsonl', lines)], { output: out() })).warnings;
  const batch = (k: number, from = 0) => Array.from({ length: k }, (_, i) => tlbi(from + i));

  // spec/smmuv3.md §1.2: a 2^3 queue holds 8 entries (full = same index, other wrap bit)
  it('SMMUv3: 9 commands behind one doorbell overrun an 8-entry queue; 8 fit', async () => {
    expect(await run([head('smmuv3'), ...batch(9), '{"doorbell": true}'])).toEqual([
      expect.stringMatching(
        /s.jsonl:11: the doorbell \(producer 1, wrap 1\) publishes 9 entries but a queue of 8 holds 8: the guest overran its ring/,
      ),
    ]);
    expect(await run([head('smmuv3'), ...batch(8), '{"doorbell": true}'])).toEqual([]);
  });

  // spec/vtd.md §1.1: IQT = IQH is empty, so an 8-entry queue holds 7
  it('VT-d: 8 descriptors behind one doorbell overrun an 8-entry queue; 7 fit', async () => {
    const iotlb = JSON.stringify({ cmd: ['0x600f2', '0xffff8000'] });
    expect(await run([head('vtd'), ...Array(8).fill(iotlb), '{"doorbell": true}'])).toEqual([
      expect.stringMatching(/s.jsonl:10: the doorbell \(producer 0, wrap 1\) publishes 8 entries but a queue of 8 holds 7/),
    ]);
    expect(await run([head('vtd'), ...Array(7).fill(iotlb), '{"doorbell": true}'])).toEqual([]);
  });

  // spec/smmuv3.md §1.3: CONS stays on a CERROR_ILL command until GERRORN acknowledges it.
  // Opcode 0x07 is not an SMMUv3 command (CERROR_ILL); slot 0 is then 1 entry behind PROD.
  const ill = JSON.stringify({ cmd: ['0x7', '0x0'] });
  it('SMMUv3: 8 more commands behind a consumer stopped on CERROR_ILL overrun; after the guest fixes and acks, they fit', async () => {
    expect(await run([head('smmuv3'), ill, '{"doorbell": true}', ...batch(8), '{"doorbell": true}'])).toEqual([
      expect.stringMatching(
        /s.jsonl:12: the doorbell \(producer 1, wrap 1\) leaves 9 entries behind the consumer stopped at slot 0 .* the guest wrote past the stopped consumer/,
      ),
    ]);
    const fixed = JSON.stringify({ cmd: { op: 'CMD_SYNC' }, slot: 0 });
    expect(await run([head('smmuv3'), ill, '{"doorbell": true}', fixed, '{"ack": true}', ...batch(8), '{"doorbell": true}'])).toEqual([]);
    // stopped, but 7 more keep within the 8 entries
    expect(await run([head('smmuv3'), ill, '{"doorbell": true}', ...batch(7), '{"doorbell": true}'])).toEqual([]);
  });
});

describe('a very long line in a gzip capture', () => {
  it('is read whole, and the lines after it keep their numbers', async () => {
    const long = `16072@1795239945.829677:vtd_inv_qi_tail ${'A'.repeat(10 << 20)}`;
    const p = join(dir, 'long.log.gz');
    writeFileSync(p, gzipSync(['first', long, 'third', 'fourth'].join('\n')));
    const seen: [number, number][] = [];
    for await (const c of readLineChunks(p)) for (let k = 0; k < c.count; k++) seen.push([c.firstNo + k, c.end[k]! - c.start[k]!]);
    expect(seen).toEqual([
      [1, 5],
      [2, long.length],
      [3, 5],
      [4, 6],
    ]);
  });
});
