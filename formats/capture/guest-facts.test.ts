// The first pass over a guest-only trace (guest-trace.ts guestFacts) reads the lines from their
// bytes where it can: the console's facts, the ftrace header's lost events, the count of qi_submit
// lines of a scalable-mode type (which makes a trace's descriptors 256-bit), and the errors it
// throws are those of reading every line as text, wherever in the file they are.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { capture, haveCaptures, tempDir } from '../../test/helpers.js';
import { InputFault } from '../result.js';
import { Diagnostics } from './events.js';
import { guestFacts, type GuestFactsRead, type GuestKind } from './guest-trace.js';

const dir = tempDir();
let n = 0;
const text = (name: string) => gunzipSync(readFileSync(capture(name))).toString('utf8');
const put = (body: string) => {
  const p = join(dir, `t${n++}.txt`);
  writeFileSync(p, body);
  return p;
};
const facts = (p: string, kind: GuestKind = 'ftrace', strict = false) => guestFacts(p, kind, new Diagnostics(p, strict));

/** The qi_submit lines of a scalable-mode type (spec/vtd.md §2.1: types 6, 7, 8), counted in the text. */
const wideLines = (t: string) => t.split('\n').filter((l) => / qi_submit: (p_iotlb_inv|pc_inv|p_dev_tlb_inv) /.test(l)).length;

/** The trace between the markers of its run's console, with CRLF line ends. */
function console(run: string, trace: string): string {
  const con = readFileSync(capture(`console-${run}.txt`), 'utf8')
    .replace(/\n$/, '')
    .split('\n');
  const body = con.filter((l) => !l.startsWith('@@@@')).join('\r\n');
  return `${body}\r\n@@@@ BEGIN GUEST TRACE\r\n${trace.replace(/\n/g, '\r\n')}@@@@ END GUEST TRACE\r\n`;
}

describe.skipIf(!haveCaptures)('guestFacts', () => {
  it('an ftrace file: its scalable-mode lines, and no console facts', async () => {
    const t = text('guest-vtd-scalable-strict.txt.gz');
    const f = await facts(put(t));
    expect(wideLines(t)).toBeGreaterThan(10);
    expect(f.wideTypes).toBe(wideLines(t));
    expect(f.ecap).toBeUndefined();
    expect(f.kernel).toBeUndefined();
  });

  it('a wide type only near the end of a legacy trace, read from bytes and read as text', async () => {
    const lines = text('guest-vtd-legacy-strict.txt.gz').replace(/\n$/, '').split('\n');
    expect(wideLines(lines.join('\n'))).toBe(0);
    const last = lines.findLastIndex((l) => l.includes(' qi_submit: '));
    const at = lines[last]!.replace(/qi_submit: .*$/, 'qi_submit: ');
    // a canonical p_iotlb_inv (type 6) and p_dev_tlb_inv (type 8), and a pc_inv (type 7) with a tab
    // between its words (the scanner declines it)
    lines.splice(
      last,
      0,
      `${at}p_iotlb_inv dmar0: 0x10006 0x0 0x0 0x0`,
      `${at}p_dev_tlb_inv dmar0: 0x8 0x0 0x0 0x0`,
      `${at}pc_inv dmar0: 0x7\t0x0 0x0 0x0`,
    );
    const f = await facts(put(`${lines.join('\n')}\n`));
    expect(f.wideTypes).toBe(3);
  });

  it('a console: ECAP of the first DMAR unit, the kernel, and the trace it holds', async () => {
    const t = text('guest-vtd-scalable-strict.txt.gz');
    const p = put(console('vtd-scalable-strict', t));
    const f = await facts(p, 'console');
    const raw = readFileSync(capture('console-vtd-scalable-strict.txt'), 'utf8');
    expect(f.ecap).toBe(BigInt(`0x${/ ecap ([0-9a-f]+)/.exec(raw)![1]}`));
    expect(f.kernel).toBe(/Linux version (\S+)/.exec(raw)![1]);
    expect(f.wideTypes).toBe(wideLines(t));
    const s = await facts(put(console('smmuv3-strict', text('guest-smmuv3-strict.txt.gz'))), 'console');
    expect(s.cmdqEntries).toBe(
      Number(/allocated (\d+) entries for cmdq/.exec(readFileSync(capture('console-smmuv3-strict.txt'), 'utf8'))![1]),
    );
    expect(s.wideTypes).toBe(0);
  });

  it('the same errors: no trace markers; under --strict, the first line that is not an ftrace line', async () => {
    const raw = readFileSync(capture('console-vtd-scalable-strict.txt'), 'utf8');
    const none = put(
      raw
        .split('\n')
        .filter((l) => !l.startsWith('@@@@'))
        .join('\n'),
    );
    await expect(facts(none, 'console')).rejects.toThrow(
      new InputFault({ file: none, message: 'no "@@@@ BEGIN GUEST TRACE" line: the console holds no guest trace' }),
    );
    const lines = text('guest-vtd-legacy-strict.txt.gz').split('\n');
    const k = lines.length - 20;
    lines.splice(k, 0, '\u0000garbage');
    const p = put(lines.join('\n'));
    await expect(facts(p, 'ftrace', true)).rejects.toThrow(`${p}:${k + 1}: not an ftrace line`);
    expect((await facts(p)).wideTypes).toBe(0); // not strict: counted, not fatal (the second pass reports it)
  });

  it('stops once its caller is settled, but not under --strict, which reads on for the errors', async () => {
    // The scalable trace's 15 scalable-mode lines are in its first 60 lines; two more near its end
    // (3.8 MB, read in blocks of 1 MiB) are counted only by a pass that reads the whole file.
    const lines = text('guest-vtd-scalable-strict.txt.gz').replace(/\n$/, '').split('\n');
    const first = wideLines(lines.slice(0, 100).join('\n'));
    expect(first).toBeGreaterThan(0);
    const last = lines.findLastIndex((l) => l.includes(' qi_submit: '));
    const at = lines[last]!.replace(/qi_submit: .*$/, 'qi_submit: ');
    lines.splice(last, 0, `${at}p_iotlb_inv dmar0: 0x10006 0x0 0x0 0x0`, `${at}pc_inv dmar0: 0x7 0x0 0x0 0x0`);
    const t = `${lines.join('\n')}\n`;
    expect(wideLines(t)).toBe(first + 2);
    const p = put(t);
    const wide = (f: GuestFactsRead) => f.wideTypes > 0;
    expect((await guestFacts(p, 'ftrace', new Diagnostics(p, false), wide)).wideTypes).toBe(first);
    expect((await guestFacts(p, 'ftrace', new Diagnostics(p, true), wide)).wideTypes).toBe(first + 2);
    expect((await facts(p)).wideTypes).toBe(first + 2);
    // Settled before the first block: nothing is read (a file that is not there is not opened).
    const none = join(dir, 'not-there.txt');
    expect(await guestFacts(none, 'ftrace', new Diagnostics(none, false), () => true)).toEqual({ wideTypes: 0 });
    await expect(facts(none)).rejects.toThrow(InputFault);
  });
});
