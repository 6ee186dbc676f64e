// Spilled rows come back as written, past a buffer's worth of records (8,192): host_ops rows with
// the event ordinal -1 (before the first event), a VMM row's iommu -1, bytes beyond 2^32, a
// fractional cost, row by row and as the blocks of columns the merge copies runs from;
// completion rows with a null latency. A kind outside the dictionary is an Error,
// as it was when the merge looked its name up.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import { CompletionsSpill, HostOpsSpill } from './spill.js';

const dir = tempDir();
const KINDS = ['trap', 'vmm_cmd', 'ioctl'];
const N = 20_000;

describe('typed spills', () => {
  it('reads host_ops records back in order', () => {
    const path = join(dir, 'ops.bin');
    const s = new HostOpsSpill(path, KINDS);
    for (let i = 0; i < N; i++) s.push(i - 1, i % 5, i * 3, KINDS[i % 3]!, (i % 4) - 1, i + 1, i % 7, i * 2 ** 33, i / 8);
    s.close();
    expect(s.records).toBe(N);
    const r = HostOpsSpill.read(path, N);
    for (let i = 0; i < N; i++) {
      expect(r.next()).toBe(true);
      const got = [r.key, r.policy, r.seq, r.kind, r.iommu, r.count, r.entries, r.bytes, r.cost];
      if (i % 997 === 0 || i === N - 1) expect(got).toEqual([i, i % 5, i * 3, i % 3, (i % 4) - 1, i + 1, i % 7, i * 2 ** 33, i / 8]);
      else if (r.key !== i || r.bytes !== i * 2 ** 33) throw new Error(`record ${i}: ${got.join(',')}`);
    }
    expect(r.next()).toBe(false);
    r.close();
  });

  it('hands host_ops rows over a block at a time, column by column, the last block short', () => {
    // 20,000 rows: blocks of 8,192, 8,192 and 3,616. Runs of 1,000 rows cross the first two
    // blocks' ends, as the merge's runs do.
    const path = join(dir, 'ops-blocks.bin');
    const s = new HostOpsSpill(path, KINDS);
    for (let i = 0; i < N; i++) s.push(i - 1, i % 5, i * 3, KINDS[i % 3]!, (i % 4) - 1, i + 1, i % 7, i * 2 ** 33, i / 8);
    s.close();
    const r = HostOpsSpill.read(path, N);
    const lengths: number[] = [];
    let row = 0;
    while (r.live) {
      if (r.at === 0) lengths.push(r.length);
      const b = r.block;
      const n = Math.min(1000, r.length - r.at);
      for (let k = r.at; k < r.at + n; k++, row++) {
        const got = [b.key[k], b.policy[k], b.seq[k], b.kind[k], b.iommu[k], b.count[k], b.entries[k], b.bytes[k], b.cost[k]];
        if (got.join() !== [row, row % 5, row * 3, row % 3, (row % 4) - 1, row + 1, row % 7, row * 2 ** 33, row / 8].join())
          throw new Error(`row ${row}: ${got.join(',')}`);
      }
      r.take(n);
    }
    expect(row).toBe(N);
    expect(lengths).toEqual([8192, 8192, 20_000 - 2 * 8192]);
    r.close();
  });

  it('refuses a kind outside its dictionary', () => {
    const s = new HostOpsSpill(join(dir, 'bad.bin'), KINDS);
    expect(() => s.push(0, 0, 0, 'pin', 0, 1, 0, 0, 0)).toThrow(/pin/);
    s.close();
  });

  it('reads completion records back in order, a null latency as NaN', () => {
    const path = join(dir, 'comps.bin');
    const s = new CompletionsSpill(path);
    for (let i = 0; i < N; i++) s.push(i % 9, i, i % 256, i - (i % 4), i % 2 === 0, i % 3 === 0, i % 5 === 0 ? null : i * 0.5, i % 11);
    s.close();
    const r = CompletionsSpill.read(path, N);
    for (let i = 0; i < N; i++) {
      expect(r.next()).toBe(true);
      const got = [r.policy, r.seq, r.slot, r.doorbellSeq, r.completed, r.refCompleted, r.latency, r.commands];
      const want = [i % 9, i, i % 256, i - (i % 4), i % 2 === 0 ? 1 : 0, i % 3 === 0 ? 1 : 0, i % 5 === 0 ? NaN : i * 0.5, i % 11];
      if (i % 997 === 0) expect(got).toEqual(want);
      else if (!Object.is(got[6], want[6]) || got[1] !== i) throw new Error(`record ${i}: ${got.join(',')}`);
    }
    expect(r.next()).toBe(false);
    r.close();
  });
});
