// Queue mechanics of the VT-d unit: IQA geometry, IQH/IQT byte offsets and wrap at every queue
// size (spec/vtd.md §1.1, §1.2), GCMD.QIE, and wait descriptors (§2.2 type 0x5).
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../memory.js';
import { VtdRing } from '../../formats/ring.js';
import { desc, QUEUE_BASE, rig, STATUS_BASE } from './testkit.js';
import { FSTS_IQE, GCMD_QIE, ICS_IWC, IQA_DW, IQEI, REG } from './regs.js';
import { VtdUnit } from './unit.js';

describe('IQH/IQT arithmetic (spec/vtd.md §1.1, §1.2)', () => {
  // Every power of two from 2 to 2^15 for 128-bit descriptors (IQH/IQT bits 18:4), and the
  // 256-bit sizes up to 2^14 (bits 18:5).
  const sizes: [number, 16 | 32][] = [];
  for (let k = 1; k <= 15; k++) sizes.push([2 ** k, 16]);
  for (let k = 1; k <= 14; k++) sizes.push([2 ** k, 32]);
  it.each(sizes)('%i entries of %i bytes: a lap and a wrap keep IQH = index << shift', (entries, descBytes) => {
    const r = rig({ entries, descBytes });
    const shift = descBytes === 32 ? 5 : 4;
    // Fill all but one slot (software keeps one free, §1.2), ring, then wrap by two more.
    const first = Array.from({ length: entries - 1 }, (_, i) => r.wait(i));
    r.submit(...first);
    expect(r.unit.readIQH()).toBe((entries - 1) << shift);
    expect(r.unit.consumer()).toEqual({ index: entries - 1, wrap: 0, error: undefined });
    // Slot entries-1 (tail wraps to 0), then slot 0 (tail 1): one doorbell each, so a queue of
    // two entries never holds more than one descriptor.
    const more = [...r.submit(r.wait(entries)), ...r.submit(r.wait(entries + 1))];
    expect(more).toEqual([entries - 1, 0]);
    expect(r.unit.readIQT()).toBe(1 << shift);
    expect(r.unit.readIQH()).toBe(1 << shift);
    const done = r.completed();
    expect(done.length).toBe(entries + 1);
    expect(done.slice(-2)).toEqual([entries - 1, 0]);
    expect(r.status(entries + 1)).toBe(2);
  });

  it.each([
    [0, 0],
    [1, 0],
    [2, 0],
    [3, 0],
    [4, 0],
    [5, 0],
    [6, 0],
    [7, 0],
    [0, 1],
    [1, 1],
    [4, 1],
    [7, 1],
  ] as const)('through IQA: QS=%i DW=%i gives 2^(QS+8-DW) entries and byte offsets shifted by 4+DW', (qs, dw) => {
    const entries = VtdRing.entriesOf(qs, dw);
    const descBytes = dw === 1 ? 32 : 16;
    const mem = new GuestMemory();
    mem.addRegion(QUEUE_BASE, entries * descBytes);
    const unit = new VtdUnit(mem);
    // Linux's order (§1.1): IQT = 0, IQA, then GCMD.QIE.
    unit.write(REG.IQT, 0);
    unit.write(REG.IQA, QUEUE_BASE | (dw === 1 ? IQA_DW : 0n) | BigInt(qs));
    unit.write(REG.GCMD, GCMD_QIE);
    expect(unit.readGSTS() & GCMD_QIE).toBe(GCMD_QIE);
    const words = dw === 1 ? 4 : 2;
    const wait = (k: number) => desc('inv_wait', { SW: 1, STATUS_DATA: 2, STATUS_ADDR: STATUS_BASE + BigInt(4 * k) }, words);
    // The last slot, then wrap to 0: write entries-1 waits, ring, then two more across the wrap.
    for (let i = 0; i < entries - 1; i++) mem.writeWords(QUEUE_BASE + BigInt(i * descBytes), wait(i));
    unit.write(REG.IQT, (entries - 1) << (4 + dw));
    expect(Number(unit.read(REG.IQH))).toBe((entries - 1) << (4 + dw));
    mem.writeWords(QUEUE_BASE + BigInt((entries - 1) * descBytes), wait(entries - 1));
    mem.writeWords(QUEUE_BASE, wait(entries));
    unit.write(REG.IQT, 1 << (4 + dw));
    expect(Number(unit.read(REG.IQH))).toBe(1 << (4 + dw));
    expect(mem.read32(STATUS_BASE + BigInt(4 * entries))).toBe(2);
    expect(unit.readFSTS()).toBe(0);
  });

  it('256-bit queue: IQT bit 4 set is an invalid tail, IQEI 1 (§1.1, §1.4)', () => {
    const r = rig({ descBytes: 32 });
    r.put(r.wait(0));
    r.unit.writeIQT((1 << 5) | (1 << 4));
    expect(r.unit.readFSTS() & FSTS_IQE).toBe(FSTS_IQE);
    expect(r.unit.readIQERCD() & 0xfn).toBe(BigInt(IQEI.INVALID_TAIL));
    expect(r.unit.readIQH()).toBe(0);
    expect(r.status(0)).toBe(0);
  });

  it('IQT beyond the queue is an invalid tail, IQEI 1 (§1.4, QEMU "invalid QI tail")', () => {
    const r = rig({ entries: 256 });
    r.unit.writeIQA(QUEUE_BASE); // QS=0: 256 entries
    r.unit.writeIQT((256 << 4) & 0x7fff0); // offset 0x1000: index 256 of a 256-entry queue
    expect(r.unit.consumer().error).toMatchObject({ code: 'IQE', value: IQEI.INVALID_TAIL, slot: 0 });
  });

  it('GCMD.QIE: no fetch while disabled; enabling with IQT != IQH fetches at once (§6.1); disable resets IQH', () => {
    const mem = new GuestMemory();
    mem.addRegion(QUEUE_BASE, 4096);
    const unit = new VtdUnit(mem);
    unit.writeIQA(QUEUE_BASE);
    mem.writeWords(QUEUE_BASE, desc('inv_wait', { SW: 1, STATUS_DATA: 7, STATUS_ADDR: STATUS_BASE }));
    unit.writeIQT(1 << 4);
    expect(unit.readIQH()).toBe(0);
    unit.writeGCMD(GCMD_QIE);
    expect(unit.readIQH()).toBe(1 << 4);
    expect(mem.read32(STATUS_BASE)).toBe(7);
    unit.writeGCMD(0);
    expect(unit.readGSTS() & GCMD_QIE).toBe(0);
    expect(unit.readIQH()).toBe(0);
  });
});

describe('invalidation wait (spec/vtd.md §2.2 type 0x5, §1.2)', () => {
  it('SW writes STATUS_DATA to STATUS_ADDR; IF sets ICS.IWC (write-1-to-clear); both complete', () => {
    const r = rig();
    const [a, b] = r.submit(r.wait(0), desc('inv_wait', { IF: 1 }));
    expect(r.status(0)).toBe(2);
    expect(r.unit.readICS()).toBe(ICS_IWC);
    r.unit.writeICS(ICS_IWC);
    expect(r.unit.readICS()).toBe(0);
    expect(r.completed()).toEqual([a, b]);
  });

  it('architecture: SW+IF both happen, PD is a no-op drain, neither SW nor IF completes silently', () => {
    const r = rig();
    r.submit(r.wait(0, { IF: 1 }), r.wait(1, { PD: 1 }), desc('inv_wait', { FN: 1 }));
    expect([r.status(0), r.status(1)]).toEqual([2, 2]);
    expect(r.unit.readICS()).toBe(ICS_IWC);
    expect(r.completed()).toEqual([0, 1, 2]);
    expect(r.unit.consumer().error).toBeUndefined();
  });

  it.each([
    ['PD (reserved in QEMU 7.2)', { SW: 1, PD: 1 }],
    ['both SW and IF (QEMU asserts)', { SW: 1, IF: 1 }],
    ['neither SW nor IF', {}],
  ])('QEMU 7.2 compat: a wait with %s is IQE; IQERCD reads 0 (§6.1, §6.2)', (_, fields) => {
    const r = rig({ unit: { compat: 'qemu-7.2' } });
    r.submit(r.wait(0), desc('inv_wait', { STATUS_ADDR: STATUS_BASE + 4n, STATUS_DATA: 2, ...fields }));
    expect(r.status(0)).toBe(2);
    expect(r.status(1)).toBe(0);
    expect(r.unit.consumer()).toMatchObject({ index: 1, error: { code: 'IQE', value: 0 } });
    expect(r.unit.readIQERCD()).toBe(0n);
  });

  it('a status write that aborts raises IQE on the wait (QEMU vtd_inv_desc_wait_write_fail)', () => {
    const r = rig();
    r.mem.addFault(STATUS_BASE, 4096n);
    r.submit(desc('iotlb_inv', { G: 1 }), r.wait(0));
    expect(r.unit.consumer()).toMatchObject({ index: 1, error: { code: 'IQE', value: IQEI.NOT_AVAILABLE } });
    expect(r.completed()).toEqual([]);
  });
});
