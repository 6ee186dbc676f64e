// The QEMU queue readers around a queue error, which the bundled captures do not have: log lines
// as QEMU 7.2 prints them (formats of hw/i386 and hw/arm trace-events) for a descriptor/command
// that fails, the guest's acknowledgement and the re-fetch of the slot it rewrote.
import { describe, expect, it } from 'vitest';
import { Diagnostics, type CaptureEvent } from './events.js';
import { parseQemuLogLine } from './qemu-log.js';
import { Smmuv3QemuQueue } from './qemu-smmuv3-queue.js';
import { VtdQemuQueue } from './qemu-vtd-queue.js';

function run(q: VtdQemuQueue | Smmuv3QemuQueue, log: string): CaptureEvent[] {
  log
    .trim()
    .split('\n')
    .forEach((t, i) => q.feed(parseQemuLogLine(t.trim())!, i + 1));
  q.end();
  return q.take();
}

const brief = (e: CaptureEvent) =>
  e.kind === 'cmd'
    ? `cmd ${e.slot}/${e.wrap ?? '-'} ${e.words.map((w) => w.toString(16)).join(' ')}`
    : e.kind === 'doorbell'
      ? `doorbell ${e.slot}/${e.wrap}`
      : e.kind;

describe('VT-d', () => {
  it('IQE: the head stays, FSTS.IQE is cleared (ack), the rewritten slot is fetched again (no wrap bit)', () => {
    const d = new Diagnostics('vtd.log');
    const ev = run(
      new VtdQemuQueue(d),
      `
      1@1.000001:vtd_reg_write addr 0x90 size 0x8 value 0x2206000
      1@1.000002:vtd_inv_qi_setup addr 0x2206000 size 256
      1@1.000003:vtd_reg_write addr 0x88 size 0x4 value 0x20
      1@1.000004:vtd_inv_qi_tail write tail 2
      1@1.000005:vtd_inv_qi_fetch
      1@1.000006:vtd_inv_qi_head read head 0
      1@1.000007:vtd_inv_desc invalidate desc type iotlb high 0xffff8080 low 0x600f2
      1@1.000008:vtd_reg_write addr 0x34 size 0x4 value 0x10
      1@1.000009:vtd_reg_write addr 0x88 size 0x4 value 0x30
      1@1.000010:vtd_inv_qi_tail write tail 3
      1@1.000011:vtd_inv_qi_fetch
      1@1.000012:vtd_inv_qi_head read head 0
      1@1.000013:vtd_inv_desc invalidate desc type wait high 0x1046194 low 0x200000025
      1@1.000014:vtd_inv_desc_wait_sw wait invalidate status write addr 0x1046194 data 0x2
      1@1.000015:vtd_inv_qi_head read head 1
    `,
    );
    // the IQT write's descriptors come before its doorbell; the log ends after slot 1's head line,
    // so its descriptor is of unknown type
    expect(ev.filter((e) => e.kind !== 'geometry').map(brief)).toEqual([
      'cmd 0/0 600f2 ffff8080',
      'doorbell 2/0',
      'ack',
      'cmd 0/- 200000025 1046194',
      'cmd 1/0 0 0',
      'doorbell 3/0',
    ]);
    expect(ev.flatMap((g) => (g.kind === 'geometry' ? [[g.entries, g.descBytes, g.from]] : []))).toEqual([
      [256, 16, 'vtd_reg_write IQA'],
      [256, 16, 'vtd_inv_qi_setup'],
    ]);
    // QEMU 7.2 prints a vtd_inv_desc line for every descriptor of a 128-bit queue: its absence is reported
    expect(d.malformed).toBe(1);
    expect(d.messages).toEqual([expect.stringMatching(/^vtd.log:15: vtd_inv_qi_head: read head 1 has no vtd_inv_desc line/)]);
  });

  it('the tail laps: the doorbell wrap bit flips when the tail passes the end', () => {
    const q = new VtdQemuQueue(new Diagnostics('vtd.log'));
    const ev = run(
      q,
      `
      vtd_reg_write addr 0x90 size 0x8 value 0x2206000
      vtd_reg_write addr 0x88 size 0x4 value 0xfe0
      vtd_reg_write addr 0x88 size 0x4 value 0x10
      vtd_reg_write addr 0x88 size 0x4 value 0x30
    `,
    ).filter((e) => e.kind === 'doorbell');
    expect(ev.map(brief)).toEqual(['doorbell 254/0', 'doorbell 1/1', 'doorbell 3/1']);
  });
});

describe('SMMUv3', () => {
  it('CERROR_ILL: CONS stays, the guest rewrites the slot as CMD_SYNC and toggles GERRORN (ack)', () => {
    const d = new Diagnostics('smmu.log');
    const ev = run(
      new Smmuv3QemuQueue(d),
      `
      2@1.000001:smmuv3_write_mmio addr: 0x90 val:0x400000007ad00010 size: 0x8(0)
      2@1.000002:smmuv3_cmdq_consume prod=2 cons=0 prod.wrap=0 cons.wrap=0
      2@1.000003:smmuv3_cmdq_opcode <--- SMMU_CMD_CFGI_ALL
      2@1.000004:smmuv3_cmdq_consume_error Error on SMMU_CMD_CFGI_ALL command execution: 1
      2@1.000005:smmuv3_cmdq_consume_out prod:2, cons:0, prod_wrap:0, cons_wrap:0
      2@1.000006:smmuv3_write_mmio addr: 0x98 val:0x2 size: 0x4(0)
      2@1.000007:smmuv3_write_gerrorn acked=0x1, new GERRORN=0x1
      2@1.000008:smmuv3_cmdq_consume prod=2 cons=0 prod.wrap=0 cons.wrap=0
      2@1.000009:smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC
      2@1.000010:smmuv3_cmdq_consume prod=2 cons=1 prod.wrap=0 cons.wrap=0
      2@1.000011:smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC
      2@1.000012:smmuv3_cmdq_consume_out prod:2, cons:2, prod_wrap:0, cons_wrap:0
      2@1.000013:smmuv3_write_mmio addr: 0x64 val:0x1 size: 0x4(0)
      2@1.000014:smmuv3_write_mmio addr: 0x64 val:0x1 size: 0x4(0)
    `,
    );
    expect(ev.filter((e) => e.kind !== 'geometry').map(brief)).toEqual([
      // QEMU's SMMU_CMD_CFGI_ALL is its enum value 0x07 (spec/smmuv3.md §2 discrepancy 1)
      'cmd 0/0 7 0',
      'doorbell 2/0',
      'cmd 0/- 46 0',
      'cmd 1/0 46 0',
      'ack', // the second write toggles nothing
    ]);
    expect(d.malformed).toBe(0);
  });
});
