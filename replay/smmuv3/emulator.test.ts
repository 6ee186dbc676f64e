// The CMDQ consumer rules of spec/smmuv3.md §1 and §6.1, checked through the emulator's registers,
// with caches filled by translation probes proving what did and did not take effect.
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../memory.js';
import { Smmuv3 } from './emulator.js';
import { CERROR, GERROR, HOST_FEATURES, IDR0, IDR1, IDR3, REG, getField } from './regs.js';
import { GuestQueue, SYNC, cmd, type Words } from './testing.js';

const DEV = 0x8;
const ASID = 1;
const A = 0x1000_0000n;
const B = 0x2000_0000n;
const va = (addr: bigint, asid = ASID) => cmd('CMD_TLBI_NH_VA', { ASID: asid, ADDR: addr, LEAF: 1 });
const errActive = (q: GuestQueue) => getField(q.unit.GERROR ^ q.unit.GERRORN, GERROR.CMDQ_ERR) === 1;

function guestQueue(log2size = 4, opts: ConstructorParameters<typeof GuestQueue>[1] = {}): GuestQueue {
  const q = new GuestQueue(log2size, opts);
  q.unit.setSte(DEV, { cds: { 0: ASID }, ats: true });
  for (const a of [A, B]) expect(q.unit.translate(DEV, undefined, a).ok).toBe(true);
  return q;
}

describe('wrap, full and empty through CMDQ_BASE/PROD/CONS (spec/smmuv3.md §1.2)', () => {
  for (let n = 1; n <= 19; n++) {
    it(`LOG2SIZE ${n}`, () => {
      const q = new GuestQueue(n, { record: false });
      const entries = 1 << n;
      expect(q.unit.log2size).toBe(n);
      // Empty: PROD == CONS (index and wrap) publishes nothing.
      q.doorbell();
      expect(q.unit.executed).toBe(0);
      // Full: all 2^N slots published; PROD = CONS with the wrap bit flipped. The consumer must
      // take it as full (2^N commands), not as empty.
      for (let i = 0; i < entries; i++) q.place(SYNC);
      expect(q.prod).toBe(entries); // index 0, wrap 1
      q.doorbell();
      expect(q.unit.executed).toBe(entries);
      expect(q.cons()).toEqual({ index: 0, wrap: 1, err: 0 });
      // Across the end: CONS written (queue disabled) to the last slot of lap 1; two commands
      // at slots 2^N−1 and 0 leave CONS at index 1 of lap 0.
      q.unit.writeReg(REG.CR0, 0n);
      q.prod = entries + entries - 1;
      q.unit.writeReg(REG.CMDQ_CONS, BigInt(q.prod));
      q.doorbell(); // PROD = CONS: nothing consumed (and the queue is disabled anyway)
      q.unit.writeReg(REG.CR0, 0b1001n); // CMDQEN | SMMUEN
      expect(q.unit.executed).toBe(entries);
      q.push(SYNC, SYNC);
      expect(q.prod).toBe(1);
      expect(q.unit.executed).toBe(entries + 2);
      expect(q.cons()).toEqual({ index: 1, wrap: 0, err: 0 });
    });
  }

  it('caps LOG2SIZE at IDR1.CMDQS = 19 (QEMU) and aligns ADDR to the queue size (§1.1, §1.2)', () => {
    const u = new Smmuv3(new GuestMemory());
    expect(getField(u.IDR1, IDR1.CMDQS)).toBe(19);
    u.writeReg(REG.CMDQ_BASE, 0x4000_0010n | 25n);
    expect(u.log2size).toBe(19);
    expect(Number(u.readReg(REG.CMDQ_BASE) & 0x1fn)).toBe(25); // the register keeps what was written
  });

  it('configureQueue(start) leaves an empty queue at `start`, as if the entries before it had been consumed', () => {
    const q = new GuestQueue(3);
    q.unit.configureQueue(0x4000_0000n, 8, 16, 6);
    expect(q.unit.consumer()).toEqual({ index: 6, wrap: 0, error: undefined });
    q.prod = 6;
    q.push(SYNC, SYNC, SYNC); // slots 6, 7, 0
    expect(q.unit.consumer()).toEqual({ index: 1, wrap: 1, error: undefined });
    expect(q.unit.consumerNow()).toEqual({ index: 1, wrap: 1, error: undefined }); // the reused answer says the same
    expect(q.unit.executed).toBe(3);
  });

  it('page 1 aliases page 0 (QEMU, §1.1)', () => {
    const q = new GuestQueue(2);
    q.place(SYNC);
    q.unit.writeReg(0x10000 + REG.CMDQ_PROD, 1n);
    expect(q.unit.readReg(0x10000 + REG.CMDQ_CONS)).toBe(1n);
  });

  it('reports the ID-register bits that matter (§1.1)', () => {
    const u = new Smmuv3(new GuestMemory(), { features: HOST_FEATURES });
    for (const k of ['S1P', 'S2P', 'HYP', 'ATS', 'MSI', 'SEV'] as const) expect(getField(u.IDR0, IDR0[k])).toBe(1);
    expect(getField(u.IDR3, IDR3.RIL)).toBe(1);
    const g = new Smmuv3(new GuestMemory());
    expect([getField(g.IDR0, IDR0.S1P), getField(g.IDR0, IDR0.S2P), getField(g.IDR0, IDR0.MSI)]).toEqual([1, 0, 0]);
  });
});

describe('an illegal command stops the consumer exactly there (spec/smmuv3.md §1.3, §6.1, §9)', () => {
  const cases: [string, Words, ConstructorParameters<typeof GuestQueue>[1]?][] = [
    ["unknown opcode 0x07 (QEMU's CFGI_ALL enum slot, §2 row 1)", [0x07n, 0n]],
    ['opcode 0x00', [0n, 0n]],
    ['reserved bit in TLBI_NH_VA DW1 (§2: unclaimed bits are reserved)', [va(A)[0], va(A)[1] | 0x2n]],
    ['CMD_SYNC CS=0b11 (§2 row 7)', cmd('CMD_SYNC', { CS: 3 })],
    ['SSec=1 on CFGI_STE (§2 row 3)', cmd('CMD_CFGI_STE', { SID: DEV, SSEC: 1 })],
    ['SSec=1 on CFGI_CD_ALL (§2 row 3)', cmd('CMD_CFGI_CD_ALL', { SID: DEV, SSEC: 1 })],
    ['stage-2 TLBI without S2 (TLBI_S2_IPA, §6.1)', cmd('CMD_TLBI_S2_IPA', { VMID: 1, ADDR: A })],
    ['stage-2 TLBI without S2 (TLBI_S12_VMALL, §6.1)', cmd('CMD_TLBI_S12_VMALL', { VMID: 1 })],
    ['EL2 TLBI without IDR0.HYP', cmd('CMD_TLBI_EL2_ALL')],
    ['EL3 TLBI on the Non-secure queue', cmd('CMD_TLBI_EL3_ALL')],
    ['stage-1 TLBI without S1 (§6.1)', cmd('CMD_TLBI_NH_ASID', { ASID }), { features: { s1p: false, s2p: true } }],
    ['ATC_INV without IDR0.ATS', cmd('CMD_ATC_INV', { SID: DEV, SIZE: 52 }), { features: { ats: false } }],
  ];
  it.each(cases)('%s', (_what, bad, opts) => {
    const q = guestQueue(3, opts);
    const stage1 = opts?.features?.s1p !== false;
    const before = q.unit.GERROR;
    q.push(stage1 ? va(A) : SYNC, bad, va(B), SYNC);
    if (stage1) expect(q.unit.cached(DEV, undefined, A).iotlb).toBe(false); // slot 0 took effect
    expect(q.cons()).toEqual({ index: 1, wrap: 0, err: CERROR.ILL }); // CONS at the bad slot
    expect(q.unit.GERROR ^ before).toBe(1); // GERROR.CMDQ_ERR toggled
    expect(errActive(q)).toBe(true);
    if (stage1) expect(q.unit.cached(DEV, undefined, B).iotlb).toBe(true); // slot 2 did not run
    // Only slot 0 ran: no command, SYNC included, after the bad one.
    expect(q.events.filter((e) => e.kind === 'exec' || e.kind === 'complete').every((e) => 'slot' in e && e.slot === 0)).toBe(true);
    expect(q.unit.consumer()).toMatchObject({ index: 1, error: { code: 'CERROR_ILL', value: 1, slot: 1 } });
    expect(q.unit.consumerNow()).toEqual(q.unit.consumer());
    // A new doorbell while CMDQ_ERR is active consumes nothing (§1.3 item 2).
    q.push(SYNC);
    expect(q.cons().index).toBe(1);
  });

  it('resumes after the GERRORN acknowledgement, re-fetching the slot Linux rewrote as CMD_SYNC', () => {
    const q = guestQueue();
    q.push(va(A), [0x07n, 0n], va(B), SYNC);
    expect(q.cons().index).toBe(1);
    // Linux's skip routine (§1.3): overwrite the slot at CONS with a CMD_SYNC, then GERRORN := GERROR.
    q.write(1, SYNC);
    q.events.length = 0;
    q.unit.writeReg(REG.GERRORN, BigInt(q.unit.GERROR));
    expect(errActive(q)).toBe(false);
    expect(q.kinds()).toEqual(['resume', 'exec:CMD_SYNC', 'complete', 'exec:CMD_TLBI_NH_VA', 'exec:CMD_SYNC', 'complete']);
    expect(q.cons()).toEqual({ index: 4, wrap: 0, err: CERROR.ILL }); // QEMU leaves stale ERR bits (§1.3)
    expect(q.unit.cached(DEV, undefined, B).iotlb).toBe(false);
  });

  it('an acknowledgement without a rewrite re-fetches the same illegal command and stops again', () => {
    const q = guestQueue();
    q.push([0x07n, 0n], va(B), SYNC);
    const g1 = q.unit.GERROR;
    q.unit.acknowledge();
    expect(q.unit.GERROR).toBe(g1 ^ 1);
    expect(errActive(q)).toBe(true);
    expect(q.cons().index).toBe(0);
    expect(q.unit.cached(DEV, undefined, B).iotlb).toBe(true);
  });

  it('CERROR_ABT on a command fetch fault; the retry after the ack fetches again (§1.3)', () => {
    const q = guestQueue();
    q.mem.addFault(q.slotAddr(2), 16n);
    q.push(va(A), SYNC, va(B), SYNC);
    expect(q.cons()).toEqual({ index: 2, wrap: 0, err: CERROR.ABT });
    expect(q.unit.consumer().error).toMatchObject({ code: 'CERROR_ABT', value: 2, slot: 2 });
    expect(q.unit.cached(DEV, undefined, A).iotlb).toBe(false);
    expect(q.unit.cached(DEV, undefined, B).iotlb).toBe(true);
    expect(q.kinds().filter((k) => k === 'complete')).toHaveLength(1);
    q.unit.acknowledge(); // Linux: "retrying command fetch"; the memory still aborts
    expect(q.unit.consumer().error?.code).toBe('CERROR_ABT');
  });

  it('CERROR_ATC_INV_SYNC at the CMD_SYNC after an ATC invalidation of a timed-out device (§1.3)', () => {
    const q = guestQueue();
    expect(q.unit.cached(DEV, undefined, A).atc).toBe(true);
    q.unit.setAtcTimeout(DEV, true);
    q.push(cmd('CMD_ATC_INV', { SID: DEV, SIZE: 52 }), SYNC, va(B), SYNC);
    expect(q.cons()).toEqual({ index: 1, wrap: 0, err: CERROR.ATC_INV_SYNC });
    expect(q.unit.consumer().error).toMatchObject({ code: 'CERROR_ATC_INV_SYNC', value: 3, slot: 1, sid: DEV });
    expect(q.unit.cached(DEV, undefined, A).atc).toBe(true); // the device never invalidated
    expect(q.unit.cached(DEV, undefined, B).iotlb).toBe(true); // nothing after the SYNC ran
    // Linux's skip does nothing for ATC_INV_SYNC; the retried SYNC fails again while the device is silent.
    q.unit.acknowledge();
    expect(q.unit.consumer().error?.code).toBe('CERROR_ATC_INV_SYNC');
    // The device answers again: the invalidation is carried out, and the retried SYNC completes.
    q.unit.setAtcTimeout(DEV, false);
    expect(q.unit.cached(DEV, undefined, A).atc).toBe(false);
    q.events.length = 0;
    q.unit.acknowledge();
    expect(q.kinds()).toEqual(['resume', 'exec:CMD_SYNC', 'complete', 'exec:CMD_TLBI_NH_VA', 'exec:CMD_SYNC', 'complete']);
    expect(q.unit.cached(DEV, undefined, B).iotlb).toBe(false);
  });

  it('a CMD_SYNC completes when consumed and CS=IRQ writes the MSI when IDR0.MSI=1 (§2 CMD_SYNC)', () => {
    const q = new GuestQueue(2, { features: { msi: true } });
    const msi = 0x5000_0000n;
    q.mem.writeWords(msi, [0xffff_ffffn]);
    q.push(cmd('CMD_SYNC', { CS: 1, MSIADDR: msi, MSIDATA: 0 }));
    expect(q.kinds()).toEqual(['exec:CMD_SYNC', 'complete']);
    expect(q.mem.read32(msi)).toBe(0);
  });

  it('CMDQ_CONS is written only while CR0.CMDQEN=0 (§8 item 8); QEMU 7.2 takes it always', () => {
    const a = new GuestQueue(3);
    a.unit.writeReg(REG.CMDQ_CONS, 5n);
    expect(a.unit.CMDQ_CONS).toBe(0);
    const b = new GuestQueue(3, { compat: 'qemu-7.2' });
    b.unit.writeReg(REG.CMDQ_CONS, 5n);
    expect(b.unit.CMDQ_CONS).toBe(5);
  });
});

describe('QEMU 7.2 compatibility (spec/smmuv3.md §2 discrepancy table, §6.1)', () => {
  it('ignores reserved bits and CS=3, but still refuses 0x07 and SSec on CFGI', () => {
    const q = guestQueue(4, { compat: 'qemu-7.2' });
    q.push([va(A)[0], va(A)[1] | 0x2n], cmd('CMD_SYNC', { CS: 3 }));
    expect(q.cons()).toEqual({ index: 2, wrap: 0, err: 0 });
    expect(q.unit.cached(DEV, undefined, A).iotlb).toBe(false);
    q.push([0x07n, 0n]);
    expect(q.unit.consumer().error?.code).toBe('CERROR_ILL');
  });

  it('treats EL2/EL3, stage-2 TLBIs, ATC_INV, PRI_RESP, RESUME, STALL_TERM as unhandled no-ops', () => {
    const q = guestQueue(4, { compat: 'qemu-7.2' });
    q.push(
      cmd('CMD_TLBI_EL2_ALL'),
      cmd('CMD_TLBI_EL3_ALL'),
      cmd('CMD_TLBI_S12_VMALL'),
      cmd('CMD_TLBI_S2_IPA'),
      cmd('CMD_ATC_INV', { SID: DEV, SIZE: 52 }),
      cmd('CMD_PRI_RESP'),
      cmd('CMD_RESUME'),
      cmd('CMD_STALL_TERM'),
      SYNC,
    );
    expect(q.cons()).toEqual({ index: 9, wrap: 0, err: 0 });
    expect(q.unit.cached(DEV, undefined, A)).toEqual({ iotlb: true, walk: false, config: true, atc: true });
  });

  it("TLBI_NH_ALL flushes every entry; CFGI_CD drops the device's whole configuration", () => {
    const q = guestQueue(4, { compat: 'qemu-7.2' });
    q.unit.setSte(0x10, { cds: { 0: 7 } });
    q.unit.translate(0x10, undefined, A);
    q.push(cmd('CMD_CFGI_CD', { SID: DEV, SSID: 5 }), cmd('CMD_TLBI_NH_ALL', { VMID: 9 }));
    expect(q.unit.cached(DEV, undefined, A).config).toBe(false);
    expect(q.unit.cached(0x10, undefined, A)).toMatchObject({ iotlb: false, config: true });
  });
});

describe('events', () => {
  it('reports QEMU-comparable detail for range TLBIs: one aligned chunk per line (§3, §6.3)', () => {
    const q = new GuestQueue(2);
    // 3 pages at 0xffff5000: chunks are 1 page at 0xffff5000 (alignment 4K), then 2 at 0xffff6000.
    q.push(cmd('CMD_TLBI_NH_VA', { ASID: 1, ADDR: 0xffff5000n, TG: 1, NUM: 2, TTL: 3, LEAF: 1 }));
    const e = q.events[0]!;
    expect(e.kind === 'exec' && e.effects[0]!.detail).toBe(
      'smmuv3_s1_range_inval vmid=0 asid=1 addr=0xffff5000 tg=1 num_pages=0x1 ttl=3 leaf=1\n' +
        'smmuv3_s1_range_inval vmid=0 asid=1 addr=0xffff6000 tg=1 num_pages=0x2 ttl=3 leaf=1',
    );
  });
});

describe('caches (spec/smmuv3.md §6.2)', () => {
  it('the configuration cache keeps the STE/CD it fetched until CFGI: a changed CD stays stale', () => {
    const q = guestQueue();
    q.unit.setCd(DEV, 0, 9); // software re-points SSID 0 at ASID 9, without CFGI_CD yet
    q.push(cmd('CMD_TLBI_NH_ASID', { ASID: 9 }), SYNC);
    expect(q.unit.cached(DEV, undefined, A).iotlb).toBe(true); // still tagged with the cached ASID 1
    q.push(cmd('CMD_CFGI_CD', { SID: DEV, SSID: 0, LEAF: 1 }), SYNC);
    expect(q.unit.cached(DEV, undefined, A)).toMatchObject({ config: false, iotlb: false }); // ASID 9 now: no entry
    // The device's ATC still answers for A without asking the SMMU; a new address walks with ASID 9.
    expect(q.unit.cached(DEV, undefined, A).atc).toBe(true);
    const C = 0x3000_0000n;
    q.unit.translate(DEV, undefined, C);
    expect(q.unit.cached(DEV, undefined, C)).toMatchObject({ config: true, iotlb: true });
    q.push(cmd('CMD_TLBI_NH_ASID', { ASID: 9 }), SYNC);
    expect(q.unit.cached(DEV, undefined, C).iotlb).toBe(false);
  });

  it('a full IOTLB is flushed whole before an insertion (QEMU SMMU_IOTLB_MAX_SIZE rule)', () => {
    const q = new GuestQueue(2, { iotlbCapacity: 8, walkCache: false });
    q.unit.setSte(DEV, { cds: { 0: ASID } });
    for (let i = 0; i < 8; i++) q.unit.translate(DEV, undefined, BigInt(i) << 12n);
    expect([q.unit.tlb.size, q.unit.tlb.fullFlushes]).toEqual([8, 0]);
    q.unit.translate(DEV, undefined, 8n << 12n);
    expect([q.unit.tlb.size, q.unit.tlb.fullFlushes]).toEqual([1, 1]);
    expect(q.unit.cached(DEV, undefined, 0n).iotlb).toBe(false);
  });
});
