// QEMU SMMUv3 events: the parser on the verbatim lines of samples/captures/README.md and older
// spellings; the rebuild of command words from decoded fields (known masks); and, over the whole
// real logs, field-by-field agreement between what QEMU printed about each command and the codec's
// decoding of the raw words the guest driver wrote (the guest's smmu:cmdlist kprobe). The two
// sides agree by count and order in these captures (README "The two sides agree"), so the n-th
// command of one side is the n-th of the other.
import { describe, expect, it } from 'vitest';
import { capture, haveCaptures } from '../../test/helpers.js';
import { SMMUV3 } from '../codecs.js';
import { readLines } from '../lines.js';
import { tlbiRange } from '../smmuv3/scope.js';
import { Diagnostics, type CmdEvent } from './events.js';
import { GuestSmmuv3Queue } from './guest-smmuv3.js';
import { readGuestTrace } from './guest-trace.js';
import { readQemuLog } from './qemu-log.js';
import { isEventError, parseSmmuv3Event } from './qemu-smmuv3.js';
import { Smmuv3QemuQueue, type Smmuv3QemuCmd } from './qemu-smmuv3-queue.js';
import { numScaleCandidates, QEMU_SMMU_OPCODES, rebuildSmmuv3 } from './smmuv3-rebuild.js';

describe('parseSmmuv3Event', () => {
  it.each([
    [
      '16202@1795239968.321765:smmuv3_cmdq_consume prod=15 cons=13 prod.wrap=0 cons.wrap=0',
      { event: 'smmuv3_cmdq_consume', prod: 15, cons: 13, prodWrap: 0, consWrap: 0 },
    ],
    ['16202@1795239968.321786:smmuv3_cmdq_opcode <--- SMMU_CMD_TLBI_NH_VA', { event: 'smmuv3_cmdq_opcode', name: 'SMMU_CMD_TLBI_NH_VA' }],
    [
      '16202@1795239968.321788:smmuv3_s1_range_inval vmid=0 asid=1 addr=0xffff6000 tg=1 num_pages=0x1 ttl=3 leaf=1',
      {
        event: 'smmuv3_range_inval',
        spelling: 'smmuv3_s1_range_inval',
        vmid: 0,
        asid: 1,
        addr: 0xffff6000n,
        tg: 1,
        numPages: 1n,
        ttl: 3,
        leaf: true,
      },
    ],
    [
      '16202@1795239968.321795:smmuv3_cmdq_consume_out prod:15, cons:15, prod_wrap:0, cons_wrap:0 ',
      { event: 'smmuv3_cmdq_consume_out', prod: 15, cons: 15, prodWrap: 0, consWrap: 0 },
    ],
    [
      '16202@1795239968.321796:smmuv3_write_mmio addr: 0x98 val:0xf size: 0x4(0)',
      { event: 'smmuv3_write_mmio', addr: 0x98, val: 0xfn, size: 4, result: 0 },
    ],
    [
      '16202@1795239967.668225:smmuv3_write_mmio addr: 0x90 val:0x400000007ad00010 size: 0x8(0)',
      { event: 'smmuv3_write_mmio', addr: 0x90, val: 0x400000007ad00010n },
    ],
    [
      '16202@1795239967.669886:smmuv3_cmdq_cfgi_ste_range start=0x0 - end=0xffffffff',
      { event: 'smmuv3_cmdq_cfgi_ste_range', start: 0, end: 0xffffffff },
    ],
    ['16202@1795239968.278719:smmuv3_cmdq_cfgi_ste streamid= 0x8', { event: 'smmuv3_cmdq_cfgi_ste', streamid: 8 }],
    ['16202@1795239968.279221:smmuv3_cmdq_tlbi_nh_asid asid=1', { event: 'smmuv3_cmdq_tlbi_nh_asid', asid: 1 }],
    ['16202@1795239967.670075:smmuv3_cmdq_tlbi_nh ', { event: 'smmuv3_cmdq_tlbi_nh' }],
    ['16229@1795239974.923492:smmuv3_config_cache_inv Config cache INV for sid=0x8', { event: 'smmuv3_config_cache_inv', sid: 8 }],
    ['16202@1795239968.279222:smmu_iotlb_inv_asid IOTLB invalidate asid=1', { event: 'smmu_iotlb_inv_asid', asid: 1 }],
    [
      'smmuv3_cmdq_consume_error Error on SMMU_CMD_CFGI_ALL command execution: 1',
      { event: 'smmuv3_cmdq_consume_error', name: 'SMMU_CMD_CFGI_ALL', cmdError: 1 },
    ],
    ['smmuv3_write_gerrorn acked=0x1, new GERRORN=0x1', { event: 'smmuv3_write_gerrorn', acked: 1, gerrorn: 1 }],
    // newer and older spellings (spec/smmuv3.md §6.3)
    [
      'smmuv3_range_inval vmid=-1 asid=1 addr=0x1000 tg=1 num_pages=0x2 ttl=0 leaf=0 stage=1',
      { event: 'smmuv3_range_inval', vmid: -1, stage: 1, numPages: 2n },
    ],
    [
      'smmuv3_s1_range_inval vmid =0 asid =1 addr=0xffff6000 tg=1 num_pages=0x1 ttl=3 leaf=1',
      { event: 'smmuv3_range_inval', asid: 1, tg: 1 },
    ],
    [
      'smmuv3_cmdq_tlbi_nh_va vmid =0 asid =1 addr=0xffff6000 leaf=1',
      { event: 'smmuv3_range_inval', spelling: 'smmuv3_cmdq_tlbi_nh_va', leaf: true },
    ],
    ['smmuv3_cmdq_tlbi_nh_vaa vmid =0 addr=0xffff6000', { event: 'smmuv3_range_inval', addr: 0xffff6000n }],
    ['smmuv3_cmdq_cfgi_ste streamid =8', { event: 'smmuv3_cmdq_cfgi_ste', streamid: 8 }],
    ['smmuv3_config_cache_inv Config cache INV for sid 8', { event: 'smmuv3_config_cache_inv', sid: 8 }],
    ['smmuv3_cmdq_tlbi_nh vmid=3', { event: 'smmuv3_cmdq_tlbi_nh', vmid: 3 }],
  ])('%s', (line, want) => {
    expect(parseSmmuv3Event(line)).toMatchObject(want);
  });
  it('tells unknown events from malformed ones', () => {
    expect(parseSmmuv3Event('smmuv3_brand_new x=1')).toBeUndefined();
    const e = parseSmmuv3Event('smmuv3_cmdq_consume prod=15 cons=x prod.wrap=0 cons.wrap=0');
    expect(e && isEventError(e) && e.error).toMatch(/^expected "prod=<prod> cons=<cons>/);
  });
});

const ev = (line: string) => ({ ev: parseSmmuv3Event(line) as never, line: 1 });

describe('rebuildSmmuv3: words from decoded fields, with what the log cannot tell unknown', () => {
  it('TLBI_NH_VA from one chunk: every field known (one page: NUM 0, SCALE 0)', () => {
    const r = rebuildSmmuv3('SMMU_CMD_TLBI_NH_VA', [
      ev('smmuv3_s1_range_inval vmid=0 asid=1 addr=0xffff6000 tg=1 num_pages=0x1 ttl=3 leaf=1'),
    ]);
    expect(r.words).toEqual([0x1000000000012n, 0xffff6701n]); // what the guest wrote (README)
    const d = SMMUV3.decode(r.words);
    expect(d.fields).toMatchObject({ ASID: 1n, VMID: 0n, ADDR: 0xffff6000n, TG: 1n, TTL: 3n, LEAF: 1n, NUM: 0n, SCALE: 0n });
    expect(r.known[1]).toBe(0xfffffffffffff000n | 0xf01n); // ADDR, TG, TTL, LEAF; DW1 reserved bits unknown
  });
  it('a range split into chunks: ADDR from the first, pages summed, an ambiguous (NUM, SCALE) left unknown', () => {
    // 8 pages at 0x3000: QEMU splits 0x3000+1, 0x4000+4, 0x8000+2, 0xa000+1
    const chunks = ['0x3000 tg=1 num_pages=0x1', '0x4000 tg=1 num_pages=0x4', '0x8000 tg=1 num_pages=0x2', '0xa000 tg=1 num_pages=0x1'].map(
      (c) => ev(`smmuv3_s1_range_inval vmid=0 asid=2 addr=${c} ttl=0 leaf=0`),
    );
    const r = rebuildSmmuv3('SMMU_CMD_TLBI_NH_VA', chunks);
    expect(r.problems).toEqual([]);
    expect(tlbiRange(SMMUV3.decode(r.words).fields).range).toEqual({ base: 0x3000n, bytes: 8n * 4096n });
    expect(numScaleCandidates(8n)).toEqual([
      { num: 7, scale: 0 },
      { num: 3, scale: 1 },
      { num: 1, scale: 2 },
      { num: 0, scale: 3 },
    ]);
    expect(r.known[0] & 0x1ff000n).toBe(0n); // NUM [16:12], SCALE [24:20]
  });
  it('CMD_SYNC: only the opcode; CFGI_STE: SID but not LEAF; CFGI_ALL: RANGE 31 and no SID bit', () => {
    expect(rebuildSmmuv3('SMMU_CMD_SYNC', [])).toMatchObject({ words: [0x46n, 0n], known: [0xffn, 0n] });
    const ste = rebuildSmmuv3('SMMU_CMD_CFGI_STE', [ev('smmuv3_cmdq_cfgi_ste streamid= 0x8')]);
    expect(ste).toMatchObject({ words: [0x800000003n, 0n], known: [0xffffffff000000ffn, 0n] });
    const all = rebuildSmmuv3('SMMU_CMD_CFGI_STE_RANGE', [ev('smmuv3_cmdq_cfgi_ste_range start=0x0 - end=0xffffffff')]);
    expect(all).toMatchObject({ words: [0x4n, 0x1fn], known: [0xffn, 0x1fn] });
  });
  it("QEMU's SMMU_CMD_CFGI_ALL is opcode 0x07, which the architecture does not define", () => {
    expect(QEMU_SMMU_OPCODES.SMMU_CMD_CFGI_ALL).toBe(7);
    expect(SMMUV3.decode(rebuildSmmuv3('SMMU_CMD_CFGI_ALL', []).words).error?.code).toBe('CERROR_ILL');
    expect(rebuildSmmuv3('UNKNOWN', [])).toMatchObject({ code: undefined, known: [0n, 0n] });
  });
  it('reports an impossible value and keeps only the opcode', () => {
    const r = rebuildSmmuv3('SMMU_CMD_TLBI_NH_VA', [
      ev('smmuv3_s1_range_inval vmid=0 asid=1 addr=0xffff6000 tg=7 num_pages=0x1 ttl=3 leaf=1'),
    ]);
    expect(r.problems[0]?.message).toMatch(/TG: 0x7 does not fit in 2 bits/);
    expect(r.known).toEqual([0xffn, 0n]);
  });
});

// Commands QEMU printed decoded fields for, per op, from the captures README tables.
const runs = [
  [
    'smmuv3-strict',
    {
      CMD_SYNC: 5796,
      CMD_TLBI_NH_VA: 5784,
      CMD_CFGI_STE: 4,
      CMD_TLBI_NH_ASID: 2,
      CMD_PREFETCH_CONFIG: 2,
      CMD_CFGI_STE_RANGE: 1,
      CMD_TLBI_NSNH_ALL: 1,
    },
  ],
  [
    'smmuv3-lazy',
    { CMD_SYNC: 73, CMD_TLBI_NH_ASID: 63, CMD_CFGI_STE: 4, CMD_PREFETCH_CONFIG: 2, CMD_CFGI_STE_RANGE: 1, CMD_TLBI_NSNH_ALL: 1 },
  ],
] as const;

async function qemuCommands(file: string): Promise<Smmuv3QemuCmd[]> {
  const q = new Smmuv3QemuQueue(new Diagnostics(file));
  const out: Smmuv3QemuCmd[] = [];
  const take = () => {
    for (const e of q.take()) if (e.kind === 'cmd') out.push(e as Smmuv3QemuCmd);
  };
  for await (const l of readQemuLog(file)) {
    q.feed(l, l.no);
    take();
  }
  q.end();
  take();
  return out;
}

async function guestCommands(file: string): Promise<CmdEvent[]> {
  const diag = new Diagnostics(file);
  const q = new GuestSmmuv3Queue(diag, { entries: 1 << 16 });
  const out: CmdEvent[] = [];
  for await (const g of readGuestTrace(file, 'ftrace', diag, {})) {
    q.feed(g);
    for (const e of q.take()) if (e.kind === 'cmd') out.push(e);
  }
  return out;
}

/** What QEMU printed about a command against the codec's decoding of the guest's raw words. */
function compare(q: Smmuv3QemuCmd, g: CmdEvent): string[] {
  const bad: string[] = [];
  const d = SMMUV3.decode(g.words);
  const f = d.fields;
  const eq = (what: string, a: bigint | undefined, b: bigint | number | boolean) => {
    const bb = typeof b === 'boolean' ? (b ? 1n : 0n) : BigInt(b);
    if (a !== bb) bad.push(`${what}: codec ${a}, QEMU ${bb}`);
  };
  eq('opcode', BigInt(d.code), QEMU_SMMU_OPCODES[q.detail.name] ?? -1);
  if (g.inferred) return bad; // the appended CMD_SYNC: only its opcode is known on both sides
  if (d.error) bad.push(`codec error ${d.error.message}`);
  const chunks = q.detail.events.filter((e) => e.event === 'smmuv3_range_inval');
  if (chunks.length > 0) {
    // QEMU prints one line per naturally aligned chunk: their union is the command's range.
    const c0 = chunks[0]!;
    const granule = 1n << BigInt(2 * (c0.tg ?? 0) + 10);
    let next = c0.addr;
    for (const c of chunks) {
      eq('chunk contiguous', c.addr, next);
      eq('VMID', f.VMID, c.vmid);
      eq('ASID', f.ASID, c.asid!);
      eq('TG', f.TG, c.tg!);
      eq('TTL', f.TTL, c.ttl!);
      eq('LEAF', f.LEAF, c.leaf!);
      next = c.addr + (c.tg === 0 ? 4096n : c.numPages! * granule);
    }
    const { range } = tlbiRange(f);
    eq('range base', range.base, c0.addr);
    eq('range bytes', range.bytes, next - c0.addr);
  }
  for (const e of q.detail.events) {
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- checks the detail events that carry a command field; the others carry none
    switch (e.event) {
      case 'smmuv3_cmdq_cfgi_ste':
        eq('SID', f.SID, e.streamid);
        break;
      case 'smmuv3_cmdq_cfgi_ste_range': {
        const mask = Number((1n << ((f.RANGE ?? 0n) + 1n)) - 1n) >>> 0;
        eq('SID range start', BigInt((Number(f.SID) & ~mask) >>> 0), e.start);
        eq('SID range end', BigInt(((Number(f.SID) & ~mask) >>> 0) + mask), e.end);
        break;
      }
      case 'smmuv3_cmdq_cfgi_cd':
        eq('SID', f.SID, e.sid);
        break;
      case 'smmuv3_cmdq_tlbi_nh_asid':
        eq('ASID', f.ASID, e.asid);
        break;
      case 'smmuv3_cmdq_tlbi_s12_vmid':
        eq('VMID', f.VMID, e.vmid);
        break;
      case 'smmuv3_unhandled_cmd':
        eq('opcode', BigInt(d.code), e.type);
        break;
      default:
    }
  }
  return bad;
}

describe.skipIf(!haveCaptures).each(runs)('%s', (run, byOp) => {
  it("QEMU's decoded fields agree with the codec on the guest's raw words, command by command", async () => {
    const q = await qemuCommands(capture(`qemu-${run}.log.gz`));
    const g = await guestCommands(capture(`guest-${run}.txt.gz`));
    const total = Object.values(byOp).reduce((a, b) => a + b, 0);
    expect(q.length).toBe(total);
    expect(g.length).toBe(total);
    const disagreements: string[] = [];
    const compared: Record<string, number> = {};
    q.forEach((qc, i) => {
      const gc = g[i]!;
      for (const b of compare(qc, gc)) disagreements.push(`qemu line ${qc.at.line} / guest line ${gc.at.line}: ${b}`);
      const name = SMMUV3.decode(gc.words).name;
      compared[name] = (compared[name] ?? 0) + 1;
    });
    expect(disagreements.slice(0, 5)).toEqual([]);
    expect(compared).toEqual(byOp);
  }, 60_000);

  it("the rebuilt words agree with the guest's on every bit QEMU told", async () => {
    const q = await qemuCommands(capture(`qemu-${run}.log.gz`));
    const g = await guestCommands(capture(`guest-${run}.txt.gz`));
    const off = q.flatMap((qc, i) => {
      const gc = g[i]!;
      const k = qc.known!;
      const mask = gc.known ? [k[0] & gc.known[0], k[1] & gc.known[1]] : k;
      return [0, 1].some((w) => (qc.words[w]! & mask[w]!) !== (gc.words[w]! & mask[w]!)) ? [qc.at.line] : [];
    });
    expect(off).toEqual([]);
    // and QEMU's log told the opcode of every command
    expect(q.every((c) => (c.known![0] & 0xffn) === 0xffn)).toBe(true);
  }, 60_000);
});

describe.skipIf(!haveCaptures)('smmu_iotlb_inv_* and config_cache_inv follow the commands', () => {
  it('every line of the SMMUv3 logs parses', async () => {
    for (const file of ['qemu-smmuv3-strict.log.gz', 'qemu-smmuv3-lazy.log.gz']) {
      for await (const l of readLines(capture(file))) {
        const e = parseSmmuv3Event(l.text);
        expect(e !== undefined && !isEventError(e), `${file}:${l.no}: ${l.text}`).toBe(true);
      }
    }
  }, 60_000);
});
