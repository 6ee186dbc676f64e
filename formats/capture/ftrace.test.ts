// Guest ftrace parsing on the shared captures: every raw command the Linux drivers wrote decodes
// without a validation error (issue 2 acceptance), and the counts match the captures README.
import { describe, expect, it } from 'vitest';
import { capture, haveCaptures } from '../../test/helpers.js';
import { SMMUV3, VTD } from '../codecs.js';
import { readLines } from '../lines.js';
import { parseCmdList, parseFtraceLine, parseQiSubmit } from './ftrace.js';

describe('ftrace line prefix', () => {
  it('parses task names with dashes and spaces, flags and timestamps', () => {
    const l = parseFtraceLine('       swapper/0-1       [001] d..1.     1.348579: qi_submit: pc_inv dmar0: 0x37 0x0 0x0 0x0');
    expect(l).toMatchObject({ task: 'swapper/0', pid: 1, cpu: 1, flags: 'd..1.', ts_ns: 1_348_579_000n, event: 'qi_submit' });
    expect(parseFtraceLine('  kworker/u4:2-45 [000] ....  12.5: cmdlist: (x) n=0 sync=1')?.task).toBe('kworker/u4:2');
    expect(parseFtraceLine('# tracer: nop')).toBeUndefined();
  });
  it('rejects a qi_submit whose type name disagrees with qw0', () => {
    expect(parseQiSubmit('iotlb_inv dmar0: 0x600f3 0x0 0x0 0x0')).toMatch(/does not match/);
  });
});

const guest = [
  ['guest-vtd-legacy-strict.txt.gz', 'vtd', 14729, { iotlb_inv: 10413, dev_tlb_inv: 4266, iec_inv: 42, cc_inv: 8 }],
  ['guest-vtd-legacy-lazy.txt.gz', 'vtd', 119, { iotlb_inv: 46, iec_inv: 42, dev_tlb_inv: 30, cc_inv: 1 }],
  [
    'guest-vtd-scalable-strict.txt.gz',
    'vtd',
    17372,
    { iotlb_inv: 12165, dev_tlb_inv: 5142, iec_inv: 42, cc_inv: 8, pc_inv: 8, p_iotlb_inv: 7 },
  ],
  [
    'guest-smmuv3-strict.txt.gz',
    'smmuv3',
    5794,
    { CMD_TLBI_NH_VA: 5784, CMD_CFGI_STE: 4, CMD_TLBI_NH_ASID: 2, CMD_PREFETCH_CONFIG: 2, CMD_CFGI_STE_RANGE: 1, CMD_TLBI_NSNH_ALL: 1 },
  ],
  [
    'guest-smmuv3-lazy.txt.gz',
    'smmuv3',
    71,
    { CMD_TLBI_NH_ASID: 63, CMD_CFGI_STE: 4, CMD_PREFETCH_CONFIG: 2, CMD_CFGI_STE_RANGE: 1, CMD_TLBI_NSNH_ALL: 1 },
  ],
] as const;

describe.skipIf(!haveCaptures).each(guest)('%s', (file, arch, total, counts) => {
  it('every real command decodes with no validation error; counts match the README', async () => {
    const byOp: Record<string, number> = {};
    let n = 0;
    for await (const line of readLines(capture(file))) {
      const l = parseFtraceLine(line.text);
      if (l === undefined) continue;
      const cmds: bigint[][] = [];
      if (l.event === 'qi_submit') {
        const q = parseQiSubmit(l.text);
        if (typeof q === 'string') throw new Error(`${file}:${line.no}: ${q}`);
        // scalable mode has a 256-bit queue: all four qwords are real
        cmds.push(file.includes('scalable') ? [...q.words] : [q.words[0], q.words[1]]);
        expect(q.words[2] === 0n && q.words[3] === 0n, `${file}:${line.no} qw2/qw3`).toBe(true);
      } else if (l.event === 'cmdlist') {
        const c = parseCmdList(l.text);
        if (typeof c === 'string') throw new Error(`${file}:${line.no}: ${c}`);
        expect(c.missing).toBe(0);
        for (const cmd of c.cmds) cmds.push([...cmd]);
      }
      for (const words of cmds) {
        const d = (arch === 'vtd' ? VTD : SMMUV3).decode(words);
        expect(d.error, `${file}:${line.no}: ${d.name} ${d.error?.message}`).toBeUndefined();
        byOp[d.name] = (byOp[d.name] ?? 0) + 1;
        n++;
      }
    }
    expect(n).toBe(total);
    expect(byOp).toEqual(counts);
  });
});
