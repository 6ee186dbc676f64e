// The running counts the loader computes for `_trace` (derived-columns.ts): counted by hand on the
// SMMUv3 scenario and on a fan-out with a repeated SID, carried across batches (a fan-out's batch
// held until it is known, up to a bound), equal to DuckDB's windows on a generated multi-queue
// trace with wraps and faults and on a VT-d one with multi-device fan-outs, and, for a file whose
// rows are out of seq order, computed by DuckDB instead (the analyzer views' answers the same as
// for the ordered file) on both engines.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordBatch, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import { plan, generate } from '../../samples/gen/generate.js';
import { tempDir } from '../../test/helpers.js';
import { openArrow } from '../arrow-files.js';
import { loadModules, traceViews } from '../modules.js';
import { tableRows } from '../rows.js';
import { openSession } from '../session.js';
import { scenarioTrace } from '../testdata/fixtures.js';
import { derivedRelation } from './attach.js';
import { DERIVED_COLUMNS, DerivePass } from './derived-columns.js';
import { nativeInstalled } from './engine.js';

const dir = tempDir();
process.env.INVTRACE_CACHE_DIR = join(dir, 'cache');
const native = await nativeInstalled();

/** The derived columns of every row of a pass over `batches`, after its seq. */
async function derivedRows(batches: AsyncIterable<RecordBatch>, pass = new DerivePass()): Promise<(number | null)[][]> {
  const out: (number | null)[][] = [];
  for await (const b of pass.batches(batches)) {
    for (let i = 0; i < b.numRows; i++) out.push(['seq', ...DERIVED_COLUMNS].map((c) => (b.getChild(c)!.get(i) as number | null) ?? null));
  }
  return out;
}

async function* oneRowBatches(path: string): AsyncGenerator<RecordBatch> {
  for await (const b of (await openArrow(path)).batches()) for (let i = 0; i < b.numRows; i++) yield b.slice(i, i + 1);
}

describe('the derived columns of a pass', () => {
  let smmu: string;
  beforeAll(async () => {
    smmu = await scenarioTrace(dir, 'smmuv3-views');
  });

  it('count completion points, IOTLB invalidations and the previous doorbell, as the scenario says', async () => {
    // analyzers/testdata/smmuv3-views.jsonl, rows in order: CMD_SYNC at seq 1, 4, 8, 11, 15 (role
    // sync); invalidations at 0, 2, 3, 6, 7, 10, 13, 16 (the unknown opcode at 14 is role other), of
    // them IOTLB ones (TLBI_NH_VA, TLBI_NH_ASID) at 0, 6, 7, 16; doorbells at 5 (PROD 5, lap 0),
    // 9 (0, wrapped: wrap 1), 12 (2, 1), 17 (6, 1) and 18 (6, 1: publishes nothing).
    // _epoch: syncs before the row; _epoch_commands / _epoch_invalidations: non-sync commands and
    // invalidations since the last sync up to the row (a sync: those of the epoch it closes);
    // _iotlb_number: IOTLB invalidations up to the row, itself included; _fanout_devtlbs /
    // _fanout_devices: on an IOTLB invalidation, the ATC_INVs after it before the next one and
    // their distinct SIDs (0: ATC_INV 2 and 3, SIDs 0x10 and 0x11; 6: none, 7 follows; 7: ATC_INV
    // 10, SID 0x10; 16: none before the end), 0 elsewhere; _prev_slot/_prev_wrap: the doorbell
    // before, on a doorbell after the first.
    const n = null;
    const expected = [
      [0, 0, 1, 1, 1, 2, 2, n, n],
      [1, 0, 1, 1, 1, 0, 0, n, n], // closes epoch 0: one command, an invalidation
      [2, 1, 1, 1, 1, 0, 0, n, n],
      [3, 1, 2, 2, 1, 0, 0, n, n],
      [4, 1, 2, 2, 1, 0, 0, n, n],
      [5, 2, 0, 0, 1, 0, 0, n, n], // first doorbell: nothing before it
      [6, 2, 1, 1, 2, 0, 0, n, n],
      [7, 2, 2, 2, 3, 1, 1, n, n],
      [8, 2, 2, 2, 3, 0, 0, n, n],
      [9, 3, 0, 0, 3, 0, 0, 5, 0],
      [10, 3, 1, 1, 3, 0, 0, n, n],
      [11, 3, 1, 1, 3, 0, 0, n, n],
      [12, 4, 0, 0, 3, 0, 0, 0, 1],
      [13, 4, 1, 1, 3, 0, 0, n, n],
      [14, 4, 2, 1, 3, 0, 0, n, n], // the unknown opcode: a command, no invalidation
      [15, 4, 2, 1, 3, 0, 0, n, n],
      [16, 5, 1, 1, 4, 0, 0, n, n], // the open epoch: one invalidation never synced
      [17, 5, 1, 1, 4, 0, 0, 2, 1],
      [18, 5, 1, 1, 4, 0, 0, 6, 1],
    ];
    const pass = new DerivePass();
    expect(await derivedRows((await openArrow(smmu)).batches(), pass)).toEqual(expected);
    expect(pass.ordered).toBe(true);
    // One row per batch: the counts carry from batch to batch, and an IOTLB invalidation's batch
    // is held until its fan-out is known (row 0's is read when its batch comes out).
    expect(await derivedRows(oneRowBatches(smmu))).toEqual(expected);
  });

  it('count each device once in a fan-out, however many invalidations it gets', async () => {
    // An IOTLB invalidation followed by three ATC_INVs to two devices (0x10 twice), a sync, then
    // an IOTLB invalidation with none after it: 3 invalidations, 2 devices; then 0 and 0.
    const jsonl = join(dir, 'fanout-repeats.jsonl');
    writeFileSync(
      jsonl,
      [
        '{"invtrace": 1, "arch": "smmuv3", "queue_entries": 8, "desc_bytes": 16}',
        '{"cmd": {"op": "CMD_TLBI_NH_VA", "asid": 1, "addr": "0x10000"}}',
        '{"cmd": {"op": "CMD_ATC_INV", "sid": "0x10", "addr": "0x10000"}}',
        '{"cmd": {"op": "CMD_ATC_INV", "sid": "0x11", "addr": "0x10000"}}',
        '{"cmd": {"op": "CMD_ATC_INV", "sid": "0x10", "addr": "0x20000"}}',
        '{"cmd": {"op": "CMD_SYNC"}}',
        '{"cmd": {"op": "CMD_TLBI_NH_ASID", "asid": 2}}',
        '{"doorbell": true}',
      ].join('\n') + '\n',
    );
    const trace = join(dir, 'fanout-repeats.arrow');
    await ingest([jsonl], { output: trace });
    const fanout = (rows: (number | null)[][]) => rows.map((r) => [r[0], r[5], r[6]]);
    const expected = [
      [0, 3, 2],
      [1, 0, 0],
      [2, 0, 0],
      [3, 0, 0],
      [4, 0, 0],
      [5, 0, 0],
      [6, 0, 0],
    ];
    expect(fanout(await derivedRows((await openArrow(trace)).batches()))).toEqual(expected);
    expect(fanout(await derivedRows(oneRowBatches(trace)))).toEqual(expected);
  });

  it('hold batches for a fan-out up to a bound, and past it let them go and say the counts are not to be used', async () => {
    // One row per batch: the most rows waiting at once are 7 to 15 (the IOTLB invalidation at 7
    // waits for the next one, at 16): 9. Rows 0-5 wait for 6 (6 rows), 16-18 for the end (3).
    const fits = new DerivePass(9);
    expect(await derivedRows(oneRowBatches(smmu), fits)).toEqual(await derivedRows((await openArrow(smmu)).batches()));
    expect(fits.counted).toBe(true);
    const over = new DerivePass(8);
    const rows = await derivedRows(oneRowBatches(smmu), over);
    expect(over.ordered).toBe(true);
    expect(over.counted).toBe(false);
    // Why: row 7 went out before ATC_INV 10 was seen (its fan-out, 1, read as 0).
    expect(rows[7]!.slice(5, 7)).toEqual([0, 0]);
  });

  it('say when the rows are not in seq order, and only then', async () => {
    const reversed = async function* () {
      const rows: RecordBatch[] = [];
      for await (const b of oneRowBatches(smmu)) rows.unshift(b);
      yield* rows;
    };
    const back = new DerivePass();
    await derivedRows(reversed(), back);
    expect(back.ordered).toBe(false);
    expect(back.counted).toBe(false);
    const forth = new DerivePass();
    await derivedRows(oneRowBatches(smmu), forth);
    expect(forth.ordered).toBe(true);
    expect(forth.counted).toBe(true);
  });
});

describe('the derived columns in a session', () => {
  let gen: string;
  let vgen: string;
  beforeAll(async () => {
    // Three guest queues (one vSMMU per physical SMMU), a 128-slot ring that wraps, ATS devices, an
    // illegal command and a device that stops answering ATC invalidations.
    gen = join(dir, 'mq.arrow');
    const p = plan('smmuv3', {
      seed: '3',
      commands: '4000',
      iommus: '3',
      vsmmus: 'per-iommu',
      devices: '6',
      ats: '0.5',
      queue: '128',
      inject: 'ill@300,atc-timeout@900',
    });
    if (!p.ok) throw new Error(p.error.message);
    await generate(p.value, gen);
    // VT-d (Linux 6.12: up to 16 descriptors per wait; one queue, no queue column) with every device
    // in one domain: each IOTLB invalidation is followed by the device-TLB invalidations of all its
    // ATS devices.
    vgen = join(dir, 'vq.arrow');
    const v = plan('vtd', { seed: '3', commands: '4000', kernel: '6.12', devices: '6', ats: '0.5', domains: '1' });
    if (!v.ok) throw new Error(v.error.message);
    await generate(v.value, vgen);
  });

  for (const engine of ['wasm', 'native'] as const)
    it.skipIf(engine === 'native' && !native)(`${engine}: equal DuckDB's windows over the same rows, on every row`, async () => {
      const s = await openSession([gen, vgen], { engine });
      try {
        const cols = ['seq', ...DERIVED_COLUMNS].join(', ');
        // The windows as the views used to compute them, per queue for the doorbells, and the
        // commands of each epoch up to a row as a running count within the epoch.
        const windowsOf = (rel: string, queue = ', queue') => `SELECT seq, _epoch,
            sum((kind = 'cmd' AND NOT coalesce(role = 'sync', false))::INT) OVER e AS _epoch_commands,
            sum((kind = 'cmd' AND coalesce(role = 'invalidate', false))::INT) OVER e AS _epoch_invalidations,
            _iotlb_number,
            CASE WHEN kind = 'cmd' AND cache = 'iotlb' THEN count(*) FILTER (WHERE cache IN ('atc', 'devtlb')) OVER f ELSE 0 END,
            CASE WHEN kind = 'cmd' AND cache = 'iotlb' THEN count(DISTINCT sid) FILTER (WHERE cache IN ('atc', 'devtlb')) OVER f ELSE 0 END,
            _prev_slot, _prev_wrap
          FROM (SELECT *,
            (sum((kind = 'cmd' AND coalesce(role = 'sync', false))::INT) OVER w
              - (kind = 'cmd' AND coalesce(role = 'sync', false))::INT) AS _epoch,
            sum((kind = 'cmd' AND coalesce(cache = 'iotlb', false))::INT) OVER w AS _iotlb_number,
            CASE WHEN kind = 'doorbell' THEN lag(slot) OVER d END AS _prev_slot,
            CASE WHEN kind = 'doorbell' THEN lag(wrap) OVER d END AS _prev_wrap
          FROM ${rel} WINDOW w AS (ORDER BY seq ROWS UNBOUNDED PRECEDING), d AS (PARTITION BY kind = 'doorbell'${queue} ORDER BY seq))
          WINDOW e AS (PARTITION BY _epoch ORDER BY seq ROWS UNBOUNDED PRECEDING), f AS (PARTITION BY _iotlb_number)`;
        const windows = windowsOf('mq');
        const [stats] = tableRows(
          await s.query(`SELECT
              (SELECT count(*) FROM (SELECT ${cols} FROM ${derivedRelation('mq')} EXCEPT ALL ${windows})) AS missing,
              (SELECT count(*) FROM (${windows} EXCEPT ALL SELECT ${cols} FROM ${derivedRelation('mq')})) AS extra,
              (SELECT count(*) FROM mq) AS rows,
              (SELECT count(DISTINCT queue) FROM mq) AS queues,
              (SELECT count(*) FROM mq WHERE kind IN ('ack', 'atc_timeout')) AS faults,
              (SELECT count(*) FROM doorbells_published WHERE wrapped) AS wraps,
              (SELECT count(*) FROM ${derivedRelation('mq')} WHERE kind = 'doorbell' AND _prev_slot IS NULL) AS first_doorbells`),
        );
        expect(stats).toMatchObject({ missing: 0, extra: 0, queues: 3, first_doorbells: 3 });
        expect(Number(stats!.rows)).toBeGreaterThan(4000);
        const [vtd] = tableRows(
          await s.query(`SELECT
              (SELECT count(*) FROM (SELECT ${cols} FROM ${derivedRelation('vq')} EXCEPT ALL ${windowsOf('vq', '')})) AS missing,
              (SELECT count(*) FROM (${windowsOf('vq', '')} EXCEPT ALL SELECT ${cols} FROM ${derivedRelation('vq')})) AS extra,
              (SELECT count(*) FROM ${derivedRelation('vq')} WHERE _fanout_devices > 1) AS fanned_out`),
        );
        expect(vtd).toMatchObject({ missing: 0, extra: 0 });
        expect(Number(vtd!.fanned_out)).toBeGreaterThan(0);
        // The near miss of the fan-out: counts carried by the IOTLB invalidation after their own
        // (the one whose write ends the group) give other values.
        const [late] = tableRows(
          await s.query(`SELECT count(*) AS n FROM (SELECT seq, _fanout_devtlbs FROM ${derivedRelation('vq')} WHERE cache = 'iotlb'
            EXCEPT ALL SELECT seq, n FROM (SELECT seq, cache,
              count(*) FILTER (WHERE cache = 'devtlb') OVER (PARTITION BY _iotlb_number - (cache = 'iotlb')::INT) AS n
              FROM ${derivedRelation('vq')}) WHERE cache = 'iotlb')`),
        );
        expect(Number(late!.n)).toBeGreaterThan(0);
        expect(Number(stats!.faults)).toBeGreaterThan(0);
        expect(Number(stats!.wraps)).toBeGreaterThan(3);
        // The near miss: one doorbell window for all queues gives other producer values.
        const [naive] = tableRows(
          await s.query(`SELECT count(*) AS n FROM (SELECT seq, _prev_slot FROM ${derivedRelation('mq')} WHERE kind = 'doorbell'
            EXCEPT ALL SELECT seq, lag(slot) OVER (ORDER BY seq) FROM mq WHERE kind = 'doorbell')`),
        );
        expect(Number(naive!.n)).toBeGreaterThan(0);
        // The user-facing relations do not show them.
        for (const rel of ['trace', 'mq'])
          expect(tableRows(await s.query(`SELECT count(*) AS n FROM (DESCRIBE ${rel}) WHERE column_name LIKE '\\_%' ESCAPE '\\'`))).toEqual(
            [{ n: 0 }],
          );
      } finally {
        await s.close();
      }
    });

  for (const engine of ['wasm', 'native'] as const)
    it.skipIf(engine === 'native' && !native)(
      `${engine}: a trace out of seq order gets them from windows, and every view the same answers`,
      async () => {
        // The SMMUv3 scenario with its rows written last to first.
        const ordered = await scenarioTrace(dir, 'smmuv3-views', `ordered-${engine}.arrow`);
        const t = tableFromIPC(readFileSync(ordered));
        const rows = Array.from({ length: t.numRows }, (_, i) => t.slice(i, i + 1).batches[0]!).reverse();
        const reversed = join(dir, `reversed-${engine}.arrow`);
        writeFileSync(reversed, tableToIPC(new Table(t.schema, rows), 'file'));
        const views = traceViews(loadModules());
        const answers = async (file: string, table: string) => {
          const s = await openSession([file], { engine });
          try {
            const out: Record<string, unknown> = {};
            for (const v of views) out[v] = tableRows(await s.query(`SELECT * EXCLUDE (file) FROM ${v} ORDER BY ALL`));
            const [def] = tableRows(await s.query(`SELECT sql FROM duckdb_views() WHERE view_name = '${derivedRelation(table)}'`));
            return { out, windows: / OVER /.test(String(def!.sql)) };
          } finally {
            await s.close();
          }
        };
        const a = await answers(ordered, `ordered_${engine}`);
        const b = await answers(reversed, `reversed_${engine}`);
        expect(a.windows).toBe(false);
        expect(b.windows).toBe(true);
        expect(b.out).toEqual(a.out);
        // Not vacuous: 5 completion points in the scenario (views.test.ts).
        expect(a.out.epochs_summary).toMatchObject([{ completion_points: 5 }]);
      },
    );
});
