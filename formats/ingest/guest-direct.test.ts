// A guest trace ingested on its own is read straight into the trace's columns (ingest.ts
// readGuestInto: a numeric byte scanner, GuestVtdRows / GuestSmmuv3Rows, TraceAssembler as
// GuestRows, the builder's rows from 32-bit halves). That is a fast path of reading the same trace
// as queue event objects pushed into the assembler (`eventObjects`): on every bundled guest trace,
// gzip'd and plain, as a serial console (CRLF) holding it, across record batches, and with lines
// only the text parser reads or rejects, both give the same trace bytes, the same summary (counts,
// warnings in order) and the same errors.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bothWays, captureText } from '../../test/both-ways.js';
import { capture, haveCaptures } from '../../test/helpers.js';
import { type IngestOptions } from './ingest.js';

const { both, fault, put } = bothWays();
const text = captureText;

/** The trace between the markers of its run's console, with CRLF line ends (as bench/ingest-hash.ts makes it). */
function console(run: string, trace: string): string {
  const con = readFileSync(capture(`console-${run}.txt`), 'utf8')
    .replace(/\n$/, '')
    .split('\n')
    .filter((l) => !l.startsWith('@@@@'))
    .join('\n');
  return `${con}\r\n@@@@ BEGIN GUEST TRACE\r\n${trace.replace(/\n/g, '\r\n')}@@@@ END GUEST TRACE\r\n[    6.000000] reboot: Power down\r\n`;
}

async function same(file: string, opts: Partial<IngestOptions> = {}) {
  const { direct, objects } = await both(file, opts);
  expect(direct.summary).toEqual(objects.summary);
  expect(Buffer.compare(direct.bytes, objects.bytes)).toBe(0);
  return direct.summary;
}

const RUNS = ['vtd-legacy-strict', 'vtd-legacy-lazy', 'vtd-scalable-strict', 'smmuv3-strict', 'smmuv3-lazy'];

describe.skipIf(!haveCaptures)('a guest trace read straight into columns = read as event objects', () => {
  it.each(RUNS)(
    'guest-%s: gzip, plain, and a CRLF console holding it',
    async (run) => {
      const gz = capture(`guest-${run}.txt.gz`);
      const s = await same(gz);
      // not trivially equal: a row per qi_submit descriptor or recorded cmdlist command at least,
      // and each submission or batch an inferred doorbell
      const events = s.sources![0]!.events;
      expect(s.commands).toBeGreaterThan((events.qi_submit ?? 0) + (events.cmdlist ?? 0));
      expect(s.inferred!.doorbells).toBeGreaterThan(50); // guest-smmuv3-lazy has 75 cmdlist lines
      expect(s.inferred!.commands).toBeGreaterThan(50);
      const t = text(`guest-${run}.txt.gz`);
      await same(put(`guest-${run}.txt`, t));
      const c = await same(put(`console-${run}.txt`, console(run, t)));
      expect(c.rows).toBe(s.rows);
    },
    120_000,
  );

  it('across record batches (1,000 rows each), a copy of the trace after itself', async () => {
    const t = text('guest-vtd-scalable-strict.txt.gz');
    const s = await same(put('x2.txt', t + t), { batchRows: 1000 });
    // the copy's event lines are twice the header's entries-in-buffer: the reader warns
    expect(s.warnings.some((w) => w.includes('too many (duplicated?)'))).toBe(true);
    expect(s.rows).toBeGreaterThan(10 * 1000);
  }, 120_000);

  it('VT-d: lines only the text parser reads or rejects, in the middle of the scanned ones', async () => {
    const lines = text('guest-vtd-legacy-strict.txt.gz').split('\n');
    const qi = (from: number) => lines.findIndex((l, i) => i > from && l.includes(' qi_submit: '));
    const a = qi(100);
    lines[a] = lines[a]!.replace(/ (0x\w+ 0x\w+ 0x\w+)$/, '\t$1'); // a tab before qw1: read as text, the same words
    const b = qi(a + 50);
    lines[b] = lines[b]!.replace(/ (\d+)\.(\d+): qi_submit/, ' 99999999999.$2: qi_submit'); // past 2^53 ns: a BigInt time
    const c = qi(b + 50);
    lines[c] = lines[c]!.replace(/qi_submit: \w+ /, 'qi_submit: cc_inv '); // the type name disagrees with qw0[3:0]
    const g = qi(c + 50);
    lines.splice(g, 0, '\u0000\u0007#@!garbage');
    const p = put('damaged-vtd.txt', lines.join('\n'));
    const s = await same(p);
    // the mismatch and the garbage: each a malformed line naming its line
    expect(s.skipped!.malformed_lines).toBe(2);
    expect(s.warnings.some((w) => w.startsWith(`${p}:${c + 1}: qi_submit: type name cc_inv does not match`))).toBe(true);
    // --strict: the first pass (the console's facts, the scalable-mode types) stops at the garbage,
    // before the queue reads the type names
    const strict = await fault(p, false);
    expect(strict).toMatch(new RegExp(`damaged-vtd\\.txt:${g + 1}: not an ftrace line`));
    expect(await fault(p, true)).toBe(strict);
  }, 120_000);

  it('SMMUv3: unrecorded commands, a bare batch, a line cut short, a line read as text', async () => {
    const lines = text('guest-smmuv3-strict.txt.gz').split('\n');
    const cl = (from: number) => lines.findIndex((l, i) => i > from && l.includes(' cmdlist: ') && / n=1 /.test(l));
    const a = cl(100);
    lines[a] = lines[a]!.replace(' n=1 ', ' n=6 '); // 4 pairs recorded: 2 commands of unknown type
    const b = cl(a + 10);
    lines[b] = lines[b]!.replace(' n=1 sync=1 ', ' n=0 sync=0 '); // nothing submitted
    const c = cl(b + 10);
    lines[c] = lines[c]!.replace(/ c3_0=.*$/, ''); // 3 of the 4 pairs: cut short
    const d = cl(c + 10);
    lines[d] = lines[d]!.replace(' sync=1 c0_0=', ' sync=1\tc0_0='); // a tab: read as text, the same batch
    const p = put('damaged-smmuv3.txt', lines.join('\n'));
    const s = await same(p);
    expect(s.by_op!['(unknown)']).toBe(2);
    expect(s.skipped!.malformed_lines).toBe(1);
    expect(s.warnings.some((w) => w.startsWith(`${p}:${c + 1}: cmdlist: 3 of the 4 recorded command pairs`))).toBe(true);
    const strict = await fault(p, false);
    expect(strict).toMatch(new RegExp(`damaged-smmuv3\\.txt:${c + 1}: cmdlist: 3 of the 4`));
    expect(await fault(p, true)).toBe(strict);
  }, 120_000);
});
