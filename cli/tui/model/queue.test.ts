// The queue at each doorbell, on the real captures: what a doorbell publishes is exactly the
// commands the guest wrote since the previous one, and the slots the view lists hold them.

import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../../../test/helpers.js';
import { join } from 'node:path';
import { captureTrace, traceRows, type Run } from '../test-utils/fixtures.js';
import { queueAt, ringCells, slotRows } from './queue.js';
import { FLAG_ERROR_STOP, FLAG_WRAPPED, kindName, loadTraceModel, type TraceModel } from './trace-model.js';

const dir = tempDir();
const RUNS: Run[] = ['smmuv3-strict', 'vtd-legacy-strict'];
const models = new Map<Run, TraceModel>();

beforeAll(async () => {
  for (const run of RUNS) models.set(run, await loadTraceModel(await captureTrace(dir, run)));
});

/** Command rows between two trace rows. */
function commandsBetween(m: TraceModel, from: number, to: number): number[] {
  const out: number[] = [];
  for (let r = from; r < to; r++) if (kindName(m, r) === 'cmd') out.push(r);
  return out;
}

describe('queue at a doorbell', () => {
  it.each(RUNS)('%s: each doorbell publishes the commands written since the previous one, at those slots', (run) => {
    const m = models.get(run)!;
    let prevRow = 0;
    for (let d = 0; d < m.doorbells.count; d++) {
      const q = queueAt(m, d);
      const written = commandsBetween(m, prevRow, q.row);
      expect(q.published, `doorbell ${d} at seq ${q.row}`).toBe(written.length);
      if (written.length > 0) {
        const slots = written.map((r) => m.slot[r]!);
        expect(slotRows(m, q.row, slots)).toEqual(Int32Array.from(written));
      }
      prevRow = q.row;
    }
  });

  it.each(RUNS)('%s: bare hardware consumes everything (no command in these captures raises an error)', (run) => {
    const m = models.get(run)!;
    for (let d = 0; d < m.doorbells.count; d++) {
      const q = queueAt(m, d);
      expect(q.consAfter).toBe(q.prod);
      expect(q.stopped).toBe(false);
      expect(q.consBefore).toBe(q.prevProd);
    }
  });

  it('draws CONS and PROD in the cells of their slots', () => {
    const m = models.get('vtd-legacy-strict')!; // a 256-entry ring: one cell a slot at width 256
    const d = Array.from({ length: m.doorbells.count }, (_, i) => i).find((i) => queueAt(m, i).published >= 2)!;
    const q = queueAt(m, d);
    const cells = ringCells(m, q, m.entries);
    expect(cells[q.consBefore % m.entries]).toBe('cons');
    expect(cells[q.prod % m.entries]).toBe('prod');
    expect(cells[(q.consBefore + 1) % m.entries]).toBe('published');
    expect(cells.filter((c) => c === 'published')).toHaveLength(q.published - 1);
  });
});

describe('queue after an illegal command (samples/generated/smmuv3-ill.arrow)', () => {
  it('stops CONS on the failing slot until the guest rewrites it and acknowledges, then resumes', async () => {
    const path = join(ROOT, 'samples/generated/smmuv3-ill.arrow');
    const m = await loadTraceModel(path);
    const rows = await traceRows(path);
    const bad = rows.findIndex((r) => r.error === 'CERROR_ILL');
    const ack = rows.findIndex((r, i) => i > bad && r.kind === 'ack');
    expect(bad).toBeGreaterThan(0);
    expect(ack).toBeGreaterThan(bad);
    const published = Array.from({ length: m.doorbells.count }, (_, d) => queueAt(m, d)).find((q) => q.row > bad)!;
    expect(published.stopped).toBe(true);
    expect(published.consAfter % m.entries).toBe(rows[bad]!.slot);
    expect(m.flags[bad]! & FLAG_ERROR_STOP).toBe(FLAG_ERROR_STOP);
    const after = Array.from({ length: m.doorbells.count }, (_, d) => queueAt(m, d)).find((q) => q.row > ack)!;
    expect(after.stopped).toBe(false);
    expect(after.consBefore).toBe(after.prevProd); // the acknowledgement let it run up to PROD
    // The guest's rewrite of the failing slot is not a ring wrap.
    const rewrite = rows.findIndex((r, i) => i > bad && r.kind === 'cmd' && r.slot === rows[bad]!.slot);
    expect(m.flags[rewrite]! & FLAG_WRAPPED).toBe(0);
  });
});
