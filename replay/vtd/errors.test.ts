// Queue errors of the VT-d unit (spec/vtd.md §1.3, §1.4): IQE stops IQH on the offending
// descriptor with IQERCD.IQEI telling why, nothing after it takes effect (the caches prove it),
// fetching resumes after FSTS.IQE is cleared; ITE on a device-TLB time-out aborts pending waits.
import { describe, expect, it } from 'vitest';
import { BLK, desc, NVME, QUEUE_BASE, rig, type Rig } from './testkit.js';
import { FSTS_ICE, FSTS_IQE, FSTS_ITE, IQA_DW, IQEI } from './regs.js';

const PAGE_A = 0x7ff00000n;
const PAGE_B = 0x7ff01000n;
const PAGE_C = 0x7ff02000n;
/** Page-selective IOTLB invalidation of one 4 KiB page of DID 7 (the nvme device's domain). */
const psi = (addr: bigint, words: 2 | 4 = 2) => desc('iotlb_inv', { G: 3, DID: 7, ADDR: addr, AM: 0 }, words);

function fill(r: Rig): void {
  for (const a of [PAGE_A, PAGE_B, PAGE_C]) expect(r.unit.translate(NVME, undefined, a).ok).toBe(true);
}
const hit = (r: Rig, a: bigint) => r.unit.cached(NVME, undefined, a).iotlb;

/**
 * Queue: PSI(A) · wait(0) · BAD · PSI(C) · wait(1). The bad descriptor sits in slot 2: IQH must stop
 * there, A is gone (before the error), C is still cached and wait 1 never completes (after it).
 */
function middle(r: Rig, bad: bigint[] | 'fault'): void {
  fill(r);
  const badWords = bad === 'fault' ? r.wait(9) : bad;
  r.put(psi(PAGE_A), r.wait(0));
  const [slot] = r.put(badWords);
  if (bad === 'fault') r.mem.addFault(QUEUE_BASE + BigInt(slot! * r.descBytes), BigInt(r.descBytes));
  r.submit(psi(PAGE_C), r.wait(1));
}

function expectStoppedAt2(r: Rig, iqei: number): void {
  expect(r.unit.readFSTS() & FSTS_IQE).toBe(FSTS_IQE);
  expect(Number(r.unit.readIQERCD() & 0xfn)).toBe(iqei);
  expect(r.unit.readIQH()).toBe(2 << (r.descBytes === 32 ? 5 : 4));
  expect(r.unit.consumer().error).toMatchObject({ code: 'IQE', value: iqei, slot: 2 });
  expect(r.unit.consumerNow()).toEqual(r.unit.consumer()); // the reused answer bare hardware reads says the same
  expect(hit(r, PAGE_A)).toBe(false);
  expect(hit(r, PAGE_B)).toBe(true);
  expect(hit(r, PAGE_C)).toBe(true);
  expect(r.status(0)).toBe(2);
  expect(r.status(1)).toBe(0);
  expect(r.completed()).toEqual([1]);
}

describe('IQE in the middle of a queue (spec/vtd.md §1.3, §1.4)', () => {
  it('IQEI 2: the fetch of slot 2 aborts (GuestMemory fault range)', () => {
    const r = rig();
    middle(r, 'fault');
    expectStoppedAt2(r, IQEI.FETCH_ERROR);
  });

  it.each([
    ['an unknown type (0xf)', [0xfn, 0n]],
    ['high type bits qw0[11:9] (QEMU folds them into the type, §2.3 item 1)', [0x202n, 0n]],
    ['a PASID-based type in a 128-bit queue (QEMU "256-bit desc in 128-bit queue", §2.2)', desc('p_iotlb_inv', { G: 2, DID: 7 })],
    ['a page group response (no PRS)', desc('page_grp_resp', {})],
  ])('IQEI 3: %s', (_, bad) => {
    const r = rig();
    middle(r, bad);
    expectStoppedAt2(r, IQEI.INVALID_TYPE);
  });

  it.each([
    ['a reserved qw0 bit of an IOTLB descriptor', [desc('iotlb_inv', { G: 3, DID: 7, ADDR: PAGE_B })[0]! | (1n << 8n), PAGE_B]],
    ['a reserved qw1 bit of a context-cache descriptor', [desc('cc_inv', { G: 1 })[0]!, 1n]],
    ['IOTLB granularity 0 (reserved encoding)', desc('iotlb_inv', { G: 0, DID: 7 })],
    ['AM 19 above CAP.MAMV 18 (QEMU rejects it too, §3)', desc('iotlb_inv', { G: 3, DID: 7, AM: 19 })],
    ['wait STATUS_ADDR bits 1:0', [desc('inv_wait', { SW: 1 })[0]!, 0x1046002n]],
  ])('IQEI 4: %s', (_, bad) => {
    const r = rig();
    middle(r, bad);
    expectStoppedAt2(r, IQEI.RESERVED_FIELD);
  });

  it('IQEI 4 in a 256-bit queue: a nonzero qw2 of an otherwise valid descriptor', () => {
    const r = rig({ descBytes: 32 });
    fill(r);
    r.put(psi(PAGE_A, 4), r.wait(0));
    r.put([...psi(PAGE_B, 4).slice(0, 2), 1n, 0n]);
    r.submit(psi(PAGE_C, 4), r.wait(1));
    expectStoppedAt2(r, IQEI.RESERVED_FIELD);
  });

  it('IQEI 5: IQA.DW=1 without ECAP.SMTS; and DW=0 in scalable mode', () => {
    const a = rig({ unit: { smts: false } });
    a.unit.writeIQA(QUEUE_BASE | IQA_DW | 1n);
    a.put(a.wait(0));
    a.unit.writeIQT(1 << 5);
    expect(a.unit.consumer().error).toMatchObject({ code: 'IQE', value: IQEI.INVALID_WIDTH, slot: 0 });
    expect(a.status(0)).toBe(0);
    const b = rig({ unit: { scalableMode: true } });
    b.submit(b.wait(0));
    expect(b.unit.consumer().error).toMatchObject({ code: 'IQE', value: IQEI.INVALID_WIDTH, slot: 0 });
  });

  it('no fetch while IQE is set: a later doorbell does nothing', () => {
    const r = rig();
    middle(r, [0xfn, 0n]);
    r.submit(r.wait(2));
    expect(r.unit.readIQH()).toBe(2 << 4);
    expect(r.status(2)).toBe(0);
  });
});

describe('resume after acknowledgement (spec/vtd.md §1.3, §1.5, §6.1)', () => {
  it('architecture: clearing FSTS.IQE resumes at once from IQH (Linux rewrites the slot as a wait first)', () => {
    const r = rig();
    middle(r, [0xfn, 0n]);
    r.rewrite(2, r.wait(2)); // qi_check_fault: copy of our wait over the bad descriptor at IQH
    r.unit.writeFSTS(FSTS_IQE);
    expect(r.events.some((e) => e.kind === 'resume')).toBe(true);
    expect(r.unit.readFSTS()).toBe(0);
    expect(r.unit.consumer()).toEqual({ index: 5, wrap: 0, error: undefined });
    expect(r.unit.consumerNow()).toEqual({ index: 5, wrap: 0, error: undefined });
    expect(hit(r, PAGE_C)).toBe(false);
    expect([r.status(2), r.status(1)]).toEqual([2, 2]);
  });

  it('QEMU 7.2: clearing FSTS.IQE does not fetch; the next IQT write does', () => {
    const r = rig({ unit: { compat: 'qemu-7.2' } });
    middle(r, [0xfn, 0n]);
    r.rewrite(2, r.wait(2));
    r.unit.acknowledge();
    expect(r.unit.consumer()).toEqual({ index: 2, wrap: 0, error: undefined });
    expect(hit(r, PAGE_C)).toBe(true);
    r.unit.writeProducer(r.tail, 0);
    expect(r.unit.consumer().index).toBe(5);
    expect(hit(r, PAGE_C)).toBe(false);
  });

  it('restart can be chosen on its own: architecture rules with restart on the next IQT write', () => {
    const r = rig({ unit: { restart: 'on-iqt-write' } });
    middle(r, [0xfn, 0n]);
    r.rewrite(2, r.wait(2));
    r.unit.acknowledge();
    expect(r.unit.consumer().index).toBe(2);
    expect(Number(r.unit.readIQERCD() & 0xfn)).toBe(IQEI.INVALID_TYPE); // IQERCD kept in architecture mode
  });
});

describe('ITE: device-TLB invalidation time-out (spec/vtd.md §1.3)', () => {
  const devtlb = (addr: bigint) => desc('dev_tlb_inv', { SID: BLK, ADDR: addr });

  it('every wait fetched after the timed-out invalidation is aborted; ITESID names the device', () => {
    const r = rig();
    for (const a of [PAGE_A, PAGE_C]) r.unit.translate(BLK, undefined, a);
    r.unit.setAtcTimeout(BLK, true);
    r.submit(r.wait(0), devtlb(PAGE_A), r.wait(1), psi(PAGE_C), r.wait(2));
    expect(r.unit.readFSTS() & FSTS_ITE).toBe(FSTS_ITE);
    expect((r.unit.readIQERCD() >> 32n) & 0xffffn).toBe(BigInt(BLK));
    expect(r.completed()).toEqual([0]);
    expect(r.aborted()).toEqual([2, 4]);
    expect([r.status(0), r.status(1), r.status(2)]).toEqual([2, 0, 0]);
    // No fence: the IOTLB descriptor after the pending wait ran; the device kept its entry.
    expect(r.unit.cached(BLK, undefined, PAGE_A).atc).toBe(true);
    expect(r.unit.consumer()).toMatchObject({ index: 5, error: { code: 'ITE', sid: BLK, slot: 5 } });
    expect(r.unit.consumerNow()).toEqual(r.unit.consumer());
  });

  it('a fenced wait (FN=1) stops fetching behind it until the time-out; clearing ITE resumes', () => {
    const r = rig();
    fill(r);
    r.unit.setAtcTimeout(BLK, true);
    r.submit(devtlb(PAGE_A), r.wait(0, { FN: 1 }), psi(PAGE_C), r.wait(1));
    expect(r.aborted()).toEqual([1]);
    expect(r.unit.consumer()).toMatchObject({ index: 2, error: { code: 'ITE' } });
    expect(hit(r, PAGE_C)).toBe(true);
    r.unit.setAtcTimeout(BLK, false);
    r.unit.writeFSTS(FSTS_ITE);
    expect(r.unit.consumer()).toEqual({ index: 4, wrap: 0, error: undefined });
    expect(hit(r, PAGE_C)).toBe(false);
    expect(r.status(1)).toBe(2);
  });

  it('QEMU 7.2 never raises ITE: device-TLB invalidations complete synchronously (§6.1)', () => {
    const r = rig({ unit: { compat: 'qemu-7.2' } });
    r.unit.translate(BLK, undefined, PAGE_A);
    r.unit.setAtcTimeout(BLK, true);
    r.submit(devtlb(PAGE_A), r.wait(0));
    expect(r.unit.readFSTS()).toBe(0);
    expect(r.status(0)).toBe(2);
    expect(r.unit.cached(BLK, undefined, PAGE_A).atc).toBe(false);
  });

  it('ICE: an invalid completion sets FSTS.ICE and ICESID, and fetching goes on (§1.3)', () => {
    const r = rig();
    r.unit.injectInvalidCompletion(BLK);
    r.submit(r.wait(0));
    expect(r.unit.readFSTS()).toBe(FSTS_ICE);
    expect(r.unit.readIQERCD() >> 48n).toBe(BigInt(BLK));
    expect(r.status(0)).toBe(2);
  });
});
