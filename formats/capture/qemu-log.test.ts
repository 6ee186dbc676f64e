// QEMU `log` backend lines: the three prefixes of spec/smmuv3.md §6.4 / spec/vtd.md §6.5, and every
// line of the real captures read as a trace line.
import { describe, expect, it } from 'vitest';
import { capture, haveCaptures } from '../../test/helpers.js';
import { readLines } from '../lines.js';
import { parseQemuLogLine, readQemuLog } from './qemu-log.js';

describe('parseQemuLogLine', () => {
  it('reads the tid@sec.usec: prefix (QEMU <= 10.0 with -msg timestamp=on)', () => {
    expect(parseQemuLogLine('16052@1795239932.296066:vtd_inv_desc invalidate desc type iotlb high 0xffff8000 low 0x600f2')).toEqual({
      event: 'vtd_inv_desc',
      args: 'invalidate desc type iotlb high 0xffff8000 low 0x600f2',
      tid: 16052,
      ts_ns: 1795239932_296066000n,
    });
    // an empty format, with the trailing blank QEMU prints
    expect(parseQemuLogLine('16052@1795239932.296065:vtd_inv_qi_fetch ')).toMatchObject({ event: 'vtd_inv_qi_fetch', args: '' });
  });
  it('reads the ISO-8601 prefix (QEMU >= 10.1)', () => {
    const l = parseQemuLogLine('2025-07-21T18:43:28.089797Z smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC');
    expect(l).toEqual({
      event: 'smmuv3_cmdq_opcode',
      args: '<--- SMMU_CMD_SYNC',
      ts_ns: BigInt(Date.UTC(2025, 6, 21, 18, 43, 28)) * 1_000_000n + 89_797_000n,
    });
  });
  it('reads lines without a prefix and with the newer context prefix', () => {
    expect(parseQemuLogLine('smmuv3_cmdq_tlbi_nh_asid asid=1')).toEqual({ event: 'smmuv3_cmdq_tlbi_nh_asid', args: 'asid=1' });
    expect(parseQemuLogLine('[workload] qemu-system-aarch64: (4711:CPU 0/TCG): smmuv3_cmdq_tlbi_nsnh')).toEqual({
      event: 'smmuv3_cmdq_tlbi_nsnh',
      args: '',
      tid: 4711,
    });
  });
  it.each(['', 'qemu-system-x86_64: warning: host does not support vmx', '16052@1795239932:vtd_x', '12 garbage'])(
    '%j is not a trace line',
    (t) => {
      expect(parseQemuLogLine(t)).toBeUndefined();
    },
  );
});

describe.skipIf(!haveCaptures).each(['qemu-vtd-legacy-lazy.log.gz', 'qemu-smmuv3-strict.log.gz'])('%s', (file) => {
  it('every line is a trace line with a timestamp and a thread id', async () => {
    let lines = 0;
    for await (const _ of readLines(capture(file))) lines++;
    let read = 0;
    const bad: number[] = [];
    for await (const l of readQemuLog(capture(file), { onMalformed: (x) => bad.push(x.no) })) {
      read++;
      expect(l.tid).toBeTypeOf('number');
      expect(l.ts_ns).toBeTypeOf('bigint');
    }
    expect(bad).toEqual([]);
    expect(read).toBe(lines);
  });
});
