// A pair's QEMU side is grouped into the aligner's items as its queue emits them (qemu-items.ts,
// `Aligner.mergeItems`), and its guest side's commands are kept as numbers (guest-items.ts). That
// is a fast path of reading both as event batches (`itemsOf`, `guestCommands`, the `eventObjects`
// option): on every bundled pair of both architectures, and on pairs whose sides do not match (a
// descriptor or command list lost or doubled, the guest of another run, QEMU commands of unknown
// type, guest lines that are waits, unrecorded commands, cut short, malformed or read as text),
// both give the same trace bytes, the same summary (agreement report, warnings in order) and the
// same errors.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { capture, haveCaptures, tempDir } from '../../test/helpers.js';
import { InputFault } from '../result.js';
import { ingest, type IngestOptions } from './ingest.js';

const dir = tempDir();
let n = 0;

/** Ingests the pair both ways: the summaries (outputs named alike) and the trace bytes. */
async function both(qemu: string, guest: string, opts: Partial<IngestOptions> = {}) {
  const run = async (eventObjects: boolean) => {
    const o = join(dir, `p${n++}.arrow`);
    const s = await ingest([qemu, guest], { output: o, eventObjects, ...opts });
    return { summary: { ...s, output: 'x.arrow' }, bytes: readFileSync(o) };
  };
  const r = { items: await run(false), objects: await run(true) };
  expect(r.items.summary).toEqual(r.objects.summary);
  expect(Buffer.compare(r.items.bytes, r.objects.bytes)).toBe(0);
  return r.items.summary;
}

/** The InputFault message of a failing pair ingest under --strict, one way. */
async function fault(qemu: string, guest: string, eventObjects: boolean): Promise<string> {
  try {
    await ingest([qemu, guest], { output: join(dir, `f${n++}.arrow`), eventObjects, strict: true });
  } catch (e) {
    expect(e).toBeInstanceOf(InputFault);
    return (e as Error).message;
  }
  throw new Error('the ingest did not fail');
}

const lines = (name: string) =>
  gunzipSync(readFileSync(capture(name)))
    .toString('utf8')
    .split('\n');
const put = (name: string, l: string[]) => {
  const p = join(dir, name);
  writeFileSync(p, l.join('\n'));
  return p;
};
const indexes = (l: string[], re: RegExp) => l.flatMap((x, i) => (re.test(x) ? [i] : []));

describe.skipIf(!haveCaptures)('a VT-d pair: QEMU side as items = as event batches', () => {
  it.each(['vtd-legacy-strict', 'vtd-legacy-lazy', 'vtd-scalable-strict'])(
    'qemu-%s + its guest trace',
    async (run) => {
      const s = await both(capture(`qemu-${run}.log.gz`), capture(`guest-${run}.txt.gz`));
      // not trivially equal: the sides agree on every descriptor the guest traced (vtd-legacy-lazy,
      // the smallest, has 119, captures README), and QEMU's 9 after the guest stopped are kept
      expect(s.agreement).toMatchObject({ agree: true, qemu_after_guest: 9 });
      expect(s.agreement!.matched).toBeGreaterThan(100);
    },
    120_000,
  );

  it('sides that do not match: a descriptor lost, one doubled, the guest of another run', async () => {
    const qemu = capture('qemu-vtd-legacy-lazy.log.gz');
    const g = lines('guest-vtd-legacy-lazy.txt.gz');
    const qi = indexes(g, /qi_submit:/);
    const lost = g.filter((_, i) => i !== qi[60]);
    const doubled = [...g.slice(0, qi[30]), g[qi[30]!]!, ...g.slice(qi[30])];
    for (const [name, body] of [
      ['lost', lost],
      ['doubled', doubled],
    ] as const) {
      const s = await both(qemu, put(`${name}.txt`, body));
      expect(s.agreement, name).toMatchObject({ agree: false, divergences: 1 });
    }
    const other = await both(qemu, capture('guest-vtd-legacy-strict.txt.gz'));
    expect(other.agreement!.agree).toBe(false);
    expect(other.warnings.some((w) => w.startsWith('the two sides disagree'))).toBe(true);
  }, 120_000);

  it('QEMU descriptors of unknown type (garbled lines) and a bad head: the same rows; under --strict the same error', async () => {
    const q = lines('qemu-vtd-legacy-lazy.log.gz');
    const d = indexes(q, /vtd_inv_desc invalidate desc type iotlb/);
    for (const k of [d[20]!, d[40]!, d[41]!]) q[k] = q[k]!.replace('desc type', 'desc tyXXpe'); // type unknown: the guest names it
    const h = q.findIndex((l, i) => i > d[41]! + 20 && l.includes('vtd_inv_qi_head read head'));
    q[h] = q[h]!.replace(/read head \d+/, 'read head 4096'); // outside the queue
    const p = put('garbled.log', q);
    const guest = capture('guest-vtd-legacy-lazy.txt.gz');
    const s = await both(p, guest);
    // the three garbled descriptors are iotlb ones the guest traced, so they are resolved by it
    expect(Object.values(s.agreement!.resolved).reduce((a, b) => a + b, 0)).toBe(3);
    expect(s.skipped!.malformed_lines).toBe(4);
    const strict = await fault(p, guest, false);
    expect(strict).toMatch(new RegExp(`garbled\\.log:${d[20]! + 1}: `));
    expect(await fault(p, guest, true)).toBe(strict);
  }, 120_000);

  it("the guest's own wait, a block read as text, a malformed qi_submit: the same rows; under --strict the same error", async () => {
    const qemu = capture('qemu-vtd-legacy-lazy.log.gz');
    const g = lines('guest-vtd-legacy-lazy.txt.gz');
    const qi = indexes(g, /qi_submit:/);
    // A wait descriptor Linux traced (as a PRQ drain submits one, spec/vtd.md §7): in the submission
    // of the descriptor before it, and not compared (waits come from QEMU).
    const wait = g[qi[10]!]!.replace(/qi_submit: .*/, 'qi_submit: inv_wait dmar0: 0x25 0x1000 0x0 0x0');
    // A qi_submit whose first word is not a number, later on.
    const bad = g[qi[80]!]!.replace(/dmar0: 0x[0-9a-f]+/, 'dmar0: 0xzz');
    // A carriage return inside a line: the text parser's `.` refuses it, so the lines of its block
    // (qi_submit ones among them) are read as text, not from their bytes (guest-bytes.ts `usable`).
    const cr = g[qi[40]!]!.replace('qi_submit:', 'qi_\rsubmit:');
    const body = [
      ...g.slice(0, qi[10]! + 1),
      wait,
      ...g.slice(qi[10]! + 1, qi[40]),
      cr,
      ...g.slice(qi[40], qi[80]),
      bad,
      ...g.slice(qi[80]! + 1),
    ];
    const p = put('guest-own.txt', body);
    const s = await both(qemu, p);
    // Every qi_submit line of the capture is an event line (the malformed one too), and so is the
    // wait: one more. The wait is not compared and the malformed line is skipped, as is the added
    // line with a carriage return (not an ftrace line): the guest lacks qi[80]'s descriptor, so
    // the sides differ there once and agree again after it.
    expect(s.sources![1]!.events.qi_submit).toBe(qi.length + 1);
    expect(s.skipped!.malformed_lines).toBe(2);
    expect(s.agreement).toMatchObject({ agree: false, divergences: 1, guest_commands: qi.length - 1 });
    // --strict stops at the first: the line with a carriage return (after the wait: line qi[40] + 2)
    const strict = await fault(qemu, p, false);
    expect(strict).toMatch(new RegExp(`guest-own\\.txt:${qi[40]! + 2}: `));
    expect(await fault(qemu, p, true)).toBe(strict);
  }, 120_000);
});

describe.skipIf(!haveCaptures)('an SMMUv3 pair: QEMU side as items = as event batches', () => {
  it.each(['smmuv3-strict', 'smmuv3-lazy'])(
    'qemu-%s + its guest trace',
    async (run) => {
      const qemu = capture(`qemu-${run}.log.gz`);
      const s = await both(qemu, capture(`guest-${run}.txt.gz`));
      // Every command QEMU consumed is one the guest traced or the CMD_SYNC it appended (captures
      // README "The two sides agree"): as many as the QEMU log alone holds.
      const alone = await ingest([qemu], { output: join(dir, `a${n++}.arrow`) });
      expect(alone.commands).toBeGreaterThan(100);
      expect(s.agreement).toMatchObject({ agree: true, matched: alone.commands, qemu_commands: alone.commands });
    },
    120_000,
  );

  it('sides that do not match: a command list lost, one doubled, the guest of another run, an address changed', async () => {
    const qemu = capture('qemu-smmuv3-lazy.log.gz');
    const g = lines('guest-smmuv3-lazy.txt.gz');
    const lists = indexes(g, /cmdlist:/);
    const lost = g.filter((_, i) => i !== lists[20]);
    const doubled = [...g.slice(0, lists[10]), g[lists[10]!]!, ...g.slice(lists[10])];
    for (const [name, body] of [
      ['lost', lost],
      ['doubled', doubled],
    ] as const) {
      const s = await both(qemu, put(`smmu-${name}.txt`, body));
      expect(s.agreement, name).toMatchObject({ agree: false });
    }
    const other = await both(qemu, capture('guest-smmuv3-strict.txt.gz'));
    expect(other.agreement!.agree).toBe(false);
    // A TLBI_NH_VA whose address (the second word, which QEMU's range line tells) differs in bit 12
    // from what QEMU printed: the first words agree, the second does not.
    const strict = lines('guest-smmuv3-strict.txt.gz');
    const va = indexes(strict, / c0_0=0x[0-9a-f]*12 c0_1=/);
    strict[va[100]!] = strict[va[100]!]!.replace(/c0_1=(0x[0-9a-f]+)/, (_, x: string) => `c0_1=0x${(BigInt(x) ^ 0x1000n).toString(16)}`);
    const addr = await both(capture('qemu-smmuv3-strict.log.gz'), put('smmu-addr.txt', strict));
    expect(addr.agreement).toMatchObject({ agree: false, matched: addr.agreement!.qemu_commands - 1 });
  }, 120_000);

  it('a QEMU opcode the log garbles is named by the guest; a malformed line: the same rows, under --strict the same error', async () => {
    const q = lines('qemu-smmuv3-lazy.log.gz');
    const syncs = indexes(q, /smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC$/);
    q[syncs[3]!] = q[syncs[3]!]!.replace('SMMU_CMD_SYNC', 'SMMU_CMX_SYNC'); // no such opcode: the guest's tells it
    const c = indexes(q, /smmuv3_cmdq_consume prod=/);
    q[c[30]!] = q[c[30]!]!.replace(/prod=\d+/, 'prod=zz'); // not a number, in a later batch
    const p = put('smmu-garbled.log', q);
    const guest = capture('guest-smmuv3-lazy.txt.gz');
    const s = await both(p, guest);
    expect(s.agreement!.resolved).toEqual({ CMD_SYNC: 1 });
    // the consume line, and the opcode line after it, which then has no consume line before it
    expect(s.skipped!.malformed_lines).toBe(2);
    const strict = await fault(p, guest, false);
    expect(strict).toMatch(new RegExp(`smmu-garbled\\.log:${c[30]! + 1}: `));
    expect(await fault(p, guest, true)).toBe(strict);
  }, 120_000);

  it('guest command lists with unrecorded commands, without their CMD_SYNC, cut short: the same rows; under --strict the same error', async () => {
    const qemu = capture('qemu-smmuv3-lazy.log.gz');
    const g = lines('guest-smmuv3-lazy.txt.gz');
    const lists = indexes(g, /cmdlist:.* n=1 sync=1 /);
    // n=6: the kprobe records 4 pairs (c0..c3), so c1..c3 (whatever memory follows the array) are
    // taken as commands and 2 more are unrecorded (nothing known of them: fixed commands).
    g[lists[10]!] = g[lists[10]!]!.replace(' n=1 ', ' n=6 ');
    g[lists[20]!] = g[lists[20]!]!.replace(' sync=1 ', ' sync=0 ');
    // the last recorded pair missing: fewer pairs than the first line's
    g[lists[30]!] = g[lists[30]!]!.replace(/ c3_0=\S+ c3_1=\S+$/, '');
    const p = put('smmu-guest-own.txt', g);
    const s = await both(qemu, p);
    expect(s.skipped!.malformed_lines).toBe(1);
    expect(s.agreement!.agree).toBe(false);
    const strict = await fault(qemu, p, false);
    expect(strict).toMatch(new RegExp(`smmu-guest-own\\.txt:${lists[30]! + 1}: .*cut short`));
    expect(await fault(qemu, p, true)).toBe(strict);
  }, 120_000);
});
