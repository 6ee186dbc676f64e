// QEMU VT-d events: the parser on the verbatim lines of samples/captures/README.md and older
// spellings, and, over the whole real logs, field-by-field agreement between QEMU's own decoding
// (the vtd_inv_desc_* detail lines) and the codec's decoding of the raw words QEMU printed.
import { describe, expect, it } from 'vitest';
import { capture, haveCaptures } from '../../test/helpers.js';
import { VTD } from '../codecs.js';
import { Diagnostics } from './events.js';
import { readQemuLog } from './qemu-log.js';
import { isEventError, parseVtdEvent } from './qemu-vtd.js';
import { VtdQemuQueue, type VtdQemuCmd } from './qemu-vtd-queue.js';

describe('parseVtdEvent', () => {
  it.each([
    [
      '16052@1795239932.296066:vtd_inv_desc invalidate desc type iotlb high 0xffff8000 low 0x600f2',
      { event: 'vtd_inv_desc', type: 'iotlb', hi: 0xffff8000n, lo: 0x600f2n },
    ],
    [
      '16052@1795239932.296067:vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x6 addr 0xffff8000 mask 0x0',
      { event: 'vtd_inv_desc_iotlb_pages', did: 6, addr: 0xffff8000n, mask: 0 },
    ],
    ['16072@1795239943.536860:vtd_inv_desc_iotlb_domain iotlb invalidate whole domain 0x6', { event: 'vtd_inv_desc_iotlb_domain', did: 6 }],
    ['16052@1795239931.376502:vtd_inv_desc_iotlb_global iotlb invalidate global', { event: 'vtd_inv_desc_iotlb_global' }],
    ['16052@1795239931.376426:vtd_inv_desc_cc_global context invalidate globally', { event: 'vtd_inv_desc_cc_global' }],
    [
      '16052@1795239931.388885:vtd_inv_desc_cc_devices context invalidate devices sid 0x8 fmask 0x0',
      { event: 'vtd_inv_desc_cc_devices', sid: 8, fmask: 0 },
    ],
    [
      '16052@1795239931.394205:vtd_inv_desc_cc_device context invalidate device 00:01.00',
      { event: 'vtd_inv_desc_cc_device', bus: 0, dev: 1, fn: 0 },
    ],
    [
      '16052@1795239932.296071:vtd_inv_desc_wait_sw wait invalidate status write addr 0x1046194 data 0x2',
      { event: 'vtd_inv_desc_wait_sw', addr: 0x1046194n, data: 2 },
    ],
    [
      '16052@1795239930.143062:vtd_inv_desc_iec granularity 0x1 index 0x1 mask 0x0',
      { event: 'vtd_inv_desc_iec', granularity: 1, index: 1, mask: 0 },
    ],
    ['16052@1795239932.296065:vtd_inv_qi_head read head 100', { event: 'vtd_inv_qi_head', head: 100 }],
    ['16052@1795239932.296064:vtd_inv_qi_tail write tail 102', { event: 'vtd_inv_qi_tail', tail: 102 }],
    ['16052@1795239932.296065:vtd_inv_qi_fetch ', { event: 'vtd_inv_qi_fetch' }],
    ['16052@1795239930.142098:vtd_inv_qi_setup addr 0x2206000 size 256', { event: 'vtd_inv_qi_setup', addr: 0x2206000n, size: 256 }],
    ['16052@1795239930.142097:vtd_inv_qi_enable enabled 1', { event: 'vtd_inv_qi_enable', enabled: true }],
    [
      '16052@1795239932.296149:vtd_reg_write addr 0x88 size 0x4 value 0x680',
      { event: 'vtd_reg_write', addr: 0x88, size: 4, value: 0x680n },
    ],
    ['16052@1795239930.142096:vtd_reg_write_gcmd status 0x0 value 0x4000000', { event: 'vtd_reg_write_gcmd', status: 0, value: 0x4000000 }],
    [
      '16052@1795239931.376274:vtd_reg_dmar_root addr 0x3e4a000 scalable 0',
      { event: 'vtd_reg_dmar_root', addr: 0x3e4a000n, scalable: false },
    ],
    ['16052@1795239930.142159:vtd_reg_ir_root addr 0x2300000 size 0x10000', { event: 'vtd_reg_ir_root', addr: 0x2300000n, size: 0x10000 }],
    [
      '16050@1795239927.254336:vtd_switch_address_space Device 00:00.0 switching address space (iommu enabled=0)',
      { event: 'vtd_switch_address_space', bus: 0, dev: 0, fn: 0, enabled: false },
    ],
    [
      '16070@1795239945.895075:vtd_iotlb_reset IOTLB reset (reason: iotlb exceeds size limit)',
      { event: 'vtd_iotlb_reset', reason: 'iotlb exceeds size limit' },
    ],
    // older spellings (spec/vtd.md §6.4, §6.5)
    [
      '719585@1608130130.441188:vtd_inv_desc invalidate desc type iotlb high 0x7ff00040 low 0x20032',
      { event: 'vtd_inv_desc', hi: 0x7ff00040n, lo: 0x20032n },
    ],
    ['vtd_reg_dmar_root addr 0x3e4a000 extended 1', { event: 'vtd_reg_dmar_root', extended: true }],
    [
      'vtd_inv_desc_iotlb_invalid invalid iotlb inv desc hi 0x1 lo 0x2',
      { event: 'vtd_inv_desc_invalid', spelling: 'vtd_inv_desc_iotlb_invalid', hi: 1n, lo: 2n },
    ],
  ])('%s', (line, want) => {
    expect(parseVtdEvent(line)).toMatchObject(want);
  });
  it('tells unknown events from malformed ones', () => {
    expect(parseVtdEvent('vtd_something_new 1 2 3')).toBeUndefined();
    expect(parseVtdEvent('smmuv3_cmdq_tlbi_nh ')).toBeUndefined();
    const e = parseVtdEvent('16052@1795239932.296066:vtd_inv_desc invalidate desc tyXXpe iotlb high 0xffff8000 low 0x600f2');
    expect(e && isEventError(e) && e.error).toMatch(/^expected "invalidate desc type <type> high 0x<hi> low 0x<lo>"$/);
    const big = parseVtdEvent('vtd_inv_desc invalidate desc type iotlb high 0x1ffffffffffffffff low 0x2');
    expect(big && isEventError(big) && big.error).toMatch(/does not fit in 64 bits/);
  });
});

// What QEMU printed about each descriptor, against the codec's decoding of the words it printed.
// `counts` are the descriptors of each QEMU type, from the captures README table.
const logs = [
  ['qemu-vtd-legacy-strict.log.gz', { wait: 14738, iotlb: 10413, device: 4266, iec: 51, 'context-cache': 8 }, 0],
  ['qemu-vtd-legacy-lazy.log.gz', { wait: 128, iec: 51, iotlb: 46, device: 30, 'context-cache': 1 }, 0],
  ['qemu-vtd-scalable-strict.log.gz', { wait: 17381, iotlb: 12165, device: 5142, iec: 51, 'context-cache': 8 }, 15],
] as const;

function check(c: VtdQemuCmd): string[] {
  const d = VTD.decode(c.words);
  const f = d.fields;
  const bad: string[] = [];
  const eq = (what: string, a: bigint | number | undefined, b: bigint | number) => {
    if (a === undefined || BigInt(a) !== BigInt(b)) bad.push(`${what}: codec ${a}, QEMU ${b}`);
  };
  if (VTD.lookup(c.detail.type!)?.def.code !== d.code) bad.push(`type: codec ${d.name}, QEMU ${c.detail.type}`);
  if (d.error) bad.push(`codec error ${d.error.message}`);
  const events = c.detail.events;
  for (const e of events) {
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- checks the detail events that carry a descriptor field; the others carry none
    switch (e.event) {
      case 'vtd_inv_desc_iotlb_pages':
        eq('G', f.G, 3);
        eq('DID', f.DID, e.did);
        eq('ADDR', f.ADDR, e.addr);
        eq('AM', f.AM, e.mask);
        break;
      case 'vtd_inv_desc_iotlb_domain':
        eq('G', f.G, 2);
        eq('DID', f.DID, e.did);
        break;
      case 'vtd_inv_desc_iotlb_global':
        eq('G', f.G, 1);
        break;
      case 'vtd_inv_desc_iec':
        eq('G', f.G, e.granularity);
        eq('IIDX', f.IIDX, e.index);
        eq('IM', f.IM, e.mask);
        break;
      // QEMU prints cc_domain and then falls through to cc_global (hw/i386/intel_iommu.c)
      case 'vtd_inv_desc_cc_domain':
        eq('G', f.G, 2);
        eq('DID', f.DID, e.did);
        break;
      case 'vtd_inv_desc_cc_global':
        if (!events.some((x) => x.event === 'vtd_inv_desc_cc_domain')) eq('G', f.G, 1);
        break;
      case 'vtd_inv_desc_cc_devices':
        eq('G', f.G, 3);
        eq('SID', f.SID, e.sid);
        eq('FM', f.FM, e.fmask);
        break;
      case 'vtd_inv_desc_cc_device': {
        // one line per device the function mask matched (FM 1/2/3 ignores SID bits 2, 2:1, 2:0)
        const ign = [0, 4, 6, 7][Number(f.FM)]!;
        eq('SID (masked)', Number(f.SID) & ~ign, ((e.bus << 8) | (e.dev << 3) | e.fn) & ~ign);
        break;
      }
      case 'vtd_inv_desc_wait_sw':
        eq('SW', f.SW, 1);
        eq('STATUS_ADDR', f.STATUS_ADDR, e.addr);
        eq('STATUS_DATA', f.STATUS_DATA, e.data);
        break;
      default:
    }
  }
  return bad;
}

it('the check sees a disagreement', () => {
  const c: VtdQemuCmd = {
    kind: 'cmd',
    slot: 0,
    wrap: 0,
    words: [0x600f2n, 0xffff8000n],
    at: { file: 'x', line: 1 },
    detail: { type: 'iotlb', events: [{ event: 'vtd_inv_desc_iotlb_pages', did: 7, addr: 0xffff8000n, mask: 1 }] },
  };
  expect(check(c)).toEqual(['DID: codec 6, QEMU 7', 'AM: codec 0, QEMU 1']);
});

describe.skipIf(!haveCaptures).each(logs)('%s', (file, counts, unknownType) => {
  it("QEMU's decoded fields agree with the codec on every descriptor", async () => {
    const diag = new Diagnostics(file);
    const q = new VtdQemuQueue(diag);
    const byType: Record<string, number> = {};
    const details: Record<string, number> = {};
    const disagreements: string[] = [];
    let unknown = 0;
    const visit = () => {
      for (const e of q.take()) {
        if (e.kind !== 'cmd') continue;
        const c = e as VtdQemuCmd;
        if (c.detail.type === undefined) {
          unknown++;
          continue;
        }
        byType[c.detail.type] = (byType[c.detail.type] ?? 0) + 1;
        for (const x of c.detail.events) details[x.event] = (details[x.event] ?? 0) + 1;
        for (const b of check(c)) disagreements.push(`${file}:${c.at.line}: ${b}`);
      }
    };
    for await (const l of readQemuLog(capture(file))) {
      q.feed(l, l.no);
      visit();
    }
    q.end();
    visit();
    expect(disagreements.slice(0, 5)).toEqual([]);
    expect(diag.malformed).toBe(0);
    expect(diag.unknown.size).toBe(0);
    expect(byType).toEqual(counts);
    expect(unknown).toBe(unknownType);
    // every wait, iotlb, iec and context-cache descriptor had its detail line compared
    const n = (k: string) => details[k] ?? 0;
    expect(n('vtd_inv_desc_wait_sw')).toBe(counts.wait);
    expect(n('vtd_inv_desc_iotlb_pages') + n('vtd_inv_desc_iotlb_domain') + n('vtd_inv_desc_iotlb_global')).toBe(counts.iotlb);
    expect(n('vtd_inv_desc_iec')).toBe(counts.iec);
    expect(n('vtd_inv_desc_cc_devices') + n('vtd_inv_desc_cc_global')).toBe(counts['context-cache']);
  }, 60_000);
});
