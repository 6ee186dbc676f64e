// Every analyzer view on two hand-written scenarios (analyzers/testdata/*-views.jsonl). The
// expected numbers are counted by hand from the scenarios' comments, never copied from output.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import { loadModules } from './modules.js';
import { tableRows, type Cell } from './rows.js';
import { openSession, type Session } from './session.js';
import { scenarioTrace } from './testdata/fixtures.js';

const dir = tempDir();
let SMMU: string;
let VTD: string;
let s: Session;

beforeAll(async () => {
  SMMU = await scenarioTrace(dir, 'smmuv3-views');
  VTD = await scenarioTrace(dir, 'vtd-views');
  s = await openSession([SMMU, VTD]);
});
afterAll(async () => {
  await (s as Session | undefined)?.close(); // beforeAll may have failed before setting it
});

/** Rows of a view for one trace, `file` dropped, ordered by the given columns. */
async function rows(view: string, file: string, orderBy: string): Promise<Record<string, Cell>[]> {
  const r = tableRows(await s.query(`SELECT * EXCLUDE (file) FROM ${view} WHERE file = '${file}' ORDER BY ${orderBy}`));
  return r;
}

describe('analyzer views on the hand-written scenarios', () => {
  it('installs every trace module when traces are loaded, and skips those over replay results', () => {
    // Modules over replay results (host_ops, completions, violations, summary) need those tables.
    const results = new Set(['host_ops', 'completions', 'violations', 'summary']);
    const overResults = loadModules()
      .filter((m) => m.requires.some((r) => results.has(r)))
      .map((m) => m.name);
    expect(overResults.length).toBeGreaterThan(0);
    expect([...s.views.installed].sort()).toEqual(
      loadModules()
        .map((m) => m.name)
        .filter((m) => !overResults.includes(m))
        .sort(),
    );
    expect(s.views.skipped.map((x) => x.module).sort()).toEqual([...overResults].sort());
    for (const x of s.views.skipped)
      expect(
        x.missing.every((t) => results.has(t)),
        x.module,
      ).toBe(true);
  });

  it('commands_by_op counts commands per op', async () => {
    expect(await rows('commands_by_op', SMMU, 'op')).toEqual([
      { arch: 'smmuv3', op: 'CMD_ATC_INV', role: 'invalidate', cache: 'atc', commands: 3, refused: 0 },
      { arch: 'smmuv3', op: 'CMD_CFGI_STE', role: 'invalidate', cache: 'ste', commands: 1, refused: 0 },
      { arch: 'smmuv3', op: 'CMD_SYNC', role: 'sync', cache: null, commands: 5, refused: 0 },
      { arch: 'smmuv3', op: 'CMD_TLBI_NH_ASID', role: 'invalidate', cache: 'iotlb', commands: 1, refused: 0 },
      { arch: 'smmuv3', op: 'CMD_TLBI_NH_VA', role: 'invalidate', cache: 'iotlb', commands: 3, refused: 0 },
      { arch: 'smmuv3', op: 'UNKNOWN_0x07', role: 'other', cache: null, commands: 1, refused: 1 },
    ]);
    expect(await rows('commands_by_op', VTD, 'op')).toEqual([
      { arch: 'vtd', op: 'cc_inv', role: 'invalidate', cache: 'context', commands: 1, refused: 0 },
      { arch: 'vtd', op: 'dev_tlb_inv', role: 'invalidate', cache: 'devtlb', commands: 4, refused: 0 },
      { arch: 'vtd', op: 'inv_wait', role: 'sync', cache: null, commands: 3, refused: 0 },
      { arch: 'vtd', op: 'iotlb_inv', role: 'invalidate', cache: 'iotlb', commands: 4, refused: 0 },
    ]);
  });

  it('commands_by_domain counts per ASID / DID, leaving out global and untagged commands', async () => {
    // ASID 1: three TLBI_NH_VA of 1, 2 and 4 pages; ASID 2: one TLBI_NH_ASID (no range).
    expect(await rows('commands_by_domain', SMMU, 'domain')).toEqual([
      { arch: 'smmuv3', tag: 'asid', vmid: 0, domain: 1, commands: 3, iotlb: 3, ranged: 3, bytes: 7 * 4096 },
      { arch: 'smmuv3', tag: 'asid', vmid: 0, domain: 2, commands: 1, iotlb: 1, ranged: 0, bytes: 0 },
    ]);
    // DID 6: PSI of 1 and 4 pages; DID 7: domain-selective. Global cc_inv / iotlb_inv name no domain.
    expect(await rows('commands_by_domain', VTD, 'domain')).toEqual([
      { arch: 'vtd', tag: 'did', vmid: null, domain: 6, commands: 2, iotlb: 2, ranged: 2, bytes: 5 * 4096 },
      { arch: 'vtd', tag: 'did', vmid: null, domain: 7, commands: 1, iotlb: 1, ranged: 0, bytes: 0 },
    ]);
  });

  it('doorbells_published gives each doorbell the entries it published and whether it wrapped', async () => {
    const smmu = await rows('doorbells_published', SMMU, 'seq');
    expect(smmu.map((r) => [r.seq, r.prod, r.wrap, r.prev_prod, r.entries, r.wrapped])).toEqual([
      [5, 5, 0, 0, 5, false],
      [9, 0, 1, 5, 3, true],
      [12, 2, 1, 0, 2, false],
      [17, 6, 1, 2, 4, false],
      [18, 6, 1, 6, 0, false],
    ]);
    const vtd = await rows('doorbells_published', VTD, 'seq');
    expect(vtd.map((r) => [r.seq, r.prod, r.wrap, r.entries, r.wrapped])).toEqual([
      [2, 2, 0, 2, false],
      [7, 6, 0, 4, false],
      [14, 4, 1, 6, true],
    ]);
  });

  it('doorbells_batch_sizes and doorbells_summary', async () => {
    expect((await rows('doorbells_batch_sizes', SMMU, 'entries')).map((r) => [r.entries, r.doorbells])).toEqual([
      [0, 1],
      [2, 1],
      [3, 1],
      [4, 1],
      [5, 1],
    ]);
    expect(await rows('doorbells_summary', SMMU, 'doorbells')).toEqual([
      { doorbells: 5, entries: 14, min_entries: 0, mean_entries: 2.8, max_entries: 5 },
    ]);
    expect(await rows('doorbells_summary', VTD, 'doorbells')).toEqual([
      { doorbells: 3, entries: 12, min_entries: 2, mean_entries: 4, max_entries: 6 },
    ]);
  });

  it('wraps_events and wraps_summary', async () => {
    expect(await rows('wraps_events', SMMU, 'seq')).toEqual([
      { wrap_number: 1, seq: 9, ts_ns: 3000, prod: 0, wrap: 1, doorbells: 2, entries: 8 },
    ]);
    expect(await rows('wraps_events', VTD, 'seq')).toEqual([
      { wrap_number: 1, seq: 14, ts_ns: 400, prod: 4, wrap: 1, doorbells: 3, entries: 12 },
    ]);
    // Doorbells from 2000 to 6000 ns: 4 µs, one wrap.
    const [sm] = await rows('wraps_summary', SMMU, 'file');
    expect(sm).toMatchObject({ queue_entries: 8, doorbells: 5, wraps: 1, doorbells_per_wrap: 5, entries_per_wrap: 14 });
    expect(sm!.seconds).toBeCloseTo(4e-6, 12);
    expect(sm!.wraps_per_second).toBeCloseTo(250_000, 3);
  });

  it('epochs_by_completion, epochs_sizes and epochs_summary', async () => {
    // Syncs at seq 1, 4, 8, 11, 15; the TLBI_NH_VA at seq 16 is never synced.
    expect(
      (await rows('epochs_by_completion', SMMU, 'epoch')).map((r) => [
        r.epoch,
        r.completion_seq,
        r.completion_op,
        r.commands,
        r.invalidations,
      ]),
    ).toEqual([
      [0, 1, 'CMD_SYNC', 1, 1],
      [1, 4, 'CMD_SYNC', 2, 2],
      [2, 8, 'CMD_SYNC', 2, 2],
      [3, 11, 'CMD_SYNC', 1, 1],
      [4, 15, 'CMD_SYNC', 2, 1], // CFGI_STE and the unknown opcode (role other)
      [5, null, null, 1, 1],
    ]);
    expect((await rows('epochs_sizes', SMMU, 'commands')).map((r) => [r.commands, r.epochs])).toEqual([
      [1, 2],
      [2, 3],
    ]);
    expect(await rows('epochs_summary', SMMU, 'file')).toEqual([
      { completion_points: 5, min_commands: 1, mean_commands: 1.6, max_commands: 2, open_commands: 1 },
    ]);
    expect((await rows('epochs_by_completion', VTD, 'epoch')).map((r) => [r.epoch, r.completion_seq, r.completion_op, r.commands])).toEqual(
      [
        [0, 1, 'inv_wait', 1],
        [1, 6, 'inv_wait', 3],
        [2, 13, 'inv_wait', 5],
      ],
    );
    expect(await rows('epochs_summary', VTD, 'file')).toEqual([
      { completion_points: 3, min_commands: 1, mean_commands: 3, max_commands: 5, open_commands: 0 },
    ]);
  });

  it('fanout_by_iotlb, fanout_histogram and fanout_summary', async () => {
    // TLBI at 0 is followed by ATC_INV 2 and 3 (two devices); 6 by none; 7 by 10; 16 by none.
    expect((await rows('fanout_by_iotlb', SMMU, 'iotlb_seq')).map((r) => [r.iotlb_seq, r.op, r.devtlb_invalidations, r.devices])).toEqual([
      [0, 'CMD_TLBI_NH_VA', 2, 2],
      [6, 'CMD_TLBI_NH_ASID', 0, 0],
      [7, 'CMD_TLBI_NH_VA', 1, 1],
      [16, 'CMD_TLBI_NH_VA', 0, 0],
    ]);
    expect((await rows('fanout_histogram', SMMU, 'fanout')).map((r) => [r.fanout, r.iotlb_invalidations])).toEqual([
      [0, 2],
      [1, 1],
      [2, 1],
    ]);
    expect(await rows('fanout_summary', SMMU, 'file')).toEqual([
      { iotlb_invalidations: 4, devtlb_invalidations: 3, unpaired: 0, mean_fanout: 0.75, max_fanout: 2 },
    ]);
    // The dev_tlb_inv at seq 0 comes before any IOTLB invalidation: unpaired.
    expect((await rows('fanout_by_iotlb', VTD, 'iotlb_seq')).map((r) => [r.iotlb_seq, r.devtlb_invalidations, r.devices])).toEqual([
      [3, 2, 2],
      [8, 0, 0],
      [10, 0, 0],
      [11, 1, 1],
    ]);
    expect(await rows('fanout_summary', VTD, 'file')).toEqual([
      { iotlb_invalidations: 4, devtlb_invalidations: 4, unpaired: 1, mean_fanout: 0.75, max_fanout: 2 },
    ]);
  });

  it('inv_sizes_by_op and inv_sizes_histogram', async () => {
    expect(
      (await rows('inv_sizes_by_op', SMMU, 'op')).map((r) => [
        r.op,
        r.invalidations,
        r.ranged,
        r.whole,
        r.min_bytes,
        r.max_bytes,
        r.total_bytes,
      ]),
    ).toEqual([
      ['CMD_ATC_INV', 3, 3, 0, 4096, 8192, 4 * 4096],
      ['CMD_CFGI_STE', 1, 0, 1, null, null, 0],
      ['CMD_TLBI_NH_ASID', 1, 0, 1, null, null, 0],
      ['CMD_TLBI_NH_VA', 3, 3, 0, 4096, 16384, 7 * 4096],
    ]);
    expect(
      (await rows('inv_sizes_histogram', SMMU, 'cache, bucket_bytes NULLS LAST')).map((r) => [
        r.cache,
        r.bucket_bytes,
        r.invalidations,
        r.bytes,
      ]),
    ).toEqual([
      ['atc', 4096, 2, 8192],
      ['atc', 8192, 1, 8192],
      ['iotlb', 4096, 1, 4096],
      ['iotlb', 8192, 1, 8192],
      ['iotlb', 16384, 1, 16384],
      ['iotlb', null, 1, 0],
      ['ste', null, 1, 0],
    ]);
    expect(
      (await rows('inv_sizes_by_op', VTD, 'op')).map((r) => [
        r.op,
        r.invalidations,
        r.ranged,
        r.whole,
        r.min_bytes,
        r.max_bytes,
        r.total_bytes,
      ]),
    ).toEqual([
      ['cc_inv', 1, 0, 1, null, null, 0],
      ['dev_tlb_inv', 4, 4, 0, 4096, 8192, 5 * 4096],
      ['iotlb_inv', 4, 2, 2, 4096, 16384, 5 * 4096],
    ]);
    expect(
      (await rows('inv_sizes_histogram', VTD, 'cache, bucket_bytes NULLS LAST')).map((r) => [r.cache, r.bucket_bytes, r.invalidations]),
    ).toEqual([
      ['context', null, 1],
      ['devtlb', 4096, 3],
      ['devtlb', 8192, 1],
      ['iotlb', 4096, 1],
      ['iotlb', 16384, 1],
      ['iotlb', null, 2],
    ]);
  });
});
