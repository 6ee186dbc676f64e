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
/** The scenarios' one guest queue: 8 slots from slot 0 (their headers). */
const EIGHT = [{ entries: 8, start: 0 }];

/** The derived columns of every row of a pass over `batches`, after its seq. */
async function derivedRows(batches: AsyncIterable<RecordBatch>, pass = new DerivePass(EIGHT)): Promise<(number | boolean | null)[][]> {
  const out: (number | boolean | null)[][] = [];
  for await (const b of pass.batches(batches)) {
    for (let i = 0; i < b.numRows; i++)
      out.push(['seq', ...DERIVED_COLUMNS].map((c) => (b.getChild(c)!.get(i) as number | boolean | null) ?? null));
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

  it("count completion points, IOTLB invalidations, each doorbell's entries and the wraps, as the scenario says", async () => {
    // analyzers/testdata/smmuv3-views.jsonl, rows in order: CMD_SYNC at seq 1, 4, 8, 11, 15 (role
    // sync); invalidations at 0, 2, 3, 6, 7, 10, 13, 16 (the unknown opcode at 14 is role other), of
    // them IOTLB ones (TLBI_NH_VA, TLBI_NH_ASID) at 0, 6, 7, 16; doorbells at 5 (PROD 5, lap 0),
    // 9 (0, wrapped: wrap 1), 12 (2, 1), 17 (6, 1) and 18 (6, 1: publishes nothing).
    // _epoch: syncs before the row; _epoch_commands / _epoch_invalidations: non-sync commands and
    // invalidations since the last sync up to the row (a sync: those of the epoch it closes);
    // _iotlb_number: IOTLB invalidations up to the row, itself included; _fanout_devtlbs /
    // _fanout_devices: on an IOTLB invalidation, the ATC_INVs after it before the next one and
    // their distinct SIDs (0: ATC_INV 2 and 3, SIDs 0x10 and 0x11; 6: none, 7 follows; 7: ATC_INV
    // 10, SID 0x10; 16: none before the end), 0 elsewhere.
    // The doorbell columns (8 slots, from slot 0; a ring of 16 positions with the wrap bit):
    // _prev_prod / _entries (and whether it wrapped): 5: from 0 (the start), (5 - 0) mod 16 = 5, 0 + 5 < 8;
    // 9: from 5 (lap 0), (8 + 0 - 5) mod 16 = 3, 5 + 3 = 8 >= 8: it wrapped; 12: from 0 (lap 1),
    // (10 - 8) = 2, 0 + 2 < 8; 17: from 2, (14 - 10) = 4, 6 < 8; 18: from 6, 0, 6 < 8; NULL on
    // the other rows. _lap_doorbells / _lap_entries: on 9, the trace's first wrap, 2 doorbells (5
    // and 9) publishing 5 + 3 = 8 entries; 0 elsewhere.
    const n = null;
    const expected = [
      [0, 0, 1, 1, 1, 2, 2],
      [1, 0, 1, 1, 1, 0, 0], // closes epoch 0: one command, an invalidation
      [2, 1, 1, 1, 1, 0, 0],
      [3, 1, 2, 2, 1, 0, 0],
      [4, 1, 2, 2, 1, 0, 0],
      [5, 2, 0, 0, 1, 0, 0], // first doorbell: nothing before it
      [6, 2, 1, 1, 2, 0, 0],
      [7, 2, 2, 2, 3, 1, 1],
      [8, 2, 2, 2, 3, 0, 0],
      [9, 3, 0, 0, 3, 0, 0],
      [10, 3, 1, 1, 3, 0, 0],
      [11, 3, 1, 1, 3, 0, 0],
      [12, 4, 0, 0, 3, 0, 0],
      [13, 4, 1, 1, 3, 0, 0],
      [14, 4, 2, 1, 3, 0, 0], // the unknown opcode: a command, no invalidation
      [15, 4, 2, 1, 3, 0, 0],
      [16, 5, 1, 1, 4, 0, 0], // the open epoch: one invalidation never synced
      [17, 5, 1, 1, 4, 0, 0],
      [18, 5, 1, 1, 4, 0, 0],
    ].map(([seq, ...r]) => {
      const doorbell: Record<number, number[]> = {
        5: [0, 5, 0, 0],
        9: [5, 3, 2, 8],
        12: [0, 2, 0, 0],
        17: [2, 4, 0, 0],
        18: [6, 0, 0, 0],
      };
      return [seq, ...r, ...(doorbell[seq!] ?? [n, n, 0, 0])];
    });
    const pass = new DerivePass(EIGHT);
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
    const fanout = (rows: (number | boolean | null)[][]) => rows.map((r) => [r[0], r[5], r[6]]);
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
    const fits = new DerivePass(EIGHT, 9);
    expect(await derivedRows(oneRowBatches(smmu), fits)).toEqual(await derivedRows((await openArrow(smmu)).batches()));
    expect(fits.counted).toBe(true);
    const over = new DerivePass(EIGHT, 8);
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
    const back = new DerivePass(EIGHT);
    await derivedRows(reversed(), back);
    expect(back.ordered).toBe(false);
    expect(back.counted).toBe(false);
    const forth = new DerivePass(EIGHT);
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

  it('give no producer value to a doorbell on a queue the header lacks', async () => {
    // The 3-queue trace counted as if its header listed queue 0 only (128 slots from 0): the
    // doorbells of queues 1 and 2 have no geometry, so no producer value, entries or wrap (the
    // join on `queues` the view used to make dropped them), and queue 0's keep theirs.
    const pass = new DerivePass([{ entries: 128, start: 0 }]);
    const seen = { queue0: 0, queue0Without: 0, others: 0, othersWith: 0 };
    for await (const b of pass.batches((await openArrow(gen)).batches()))
      for (let i = 0; i < b.numRows; i++) {
        if (b.getChild('kind')!.get(i) !== 'doorbell') continue;
        const known = b.getChild('_prev_prod')!.get(i) !== null || b.getChild('_entries')!.get(i) !== null;
        if (b.getChild('queue')!.get(i) === 0) {
          seen.queue0++;
          if (!known) seen.queue0Without++;
        } else {
          seen.others++;
          if (known) seen.othersWith++;
        }
      }
    expect(seen).toMatchObject({ queue0Without: 0, othersWith: 0 });
    expect(seen.queue0).toBeGreaterThan(0);
    expect(seen.others).toBeGreaterThan(0);
  });

  for (const engine of ['wasm', 'native'] as const)
    it.skipIf(engine === 'native' && !native)(`${engine}: equal DuckDB's windows over the same rows, on every row`, async () => {
      const s = await openSession([gen, vgen], { engine });
      try {
        const cols = ['seq', ...DERIVED_COLUMNS].join(', ');
        // The windows and joins as the views used to compute them: the commands of each epoch up to
        // a row as a running count within the epoch; each doorbell's producer value before it by a
        // window per queue and its queue's geometry joined from `queues` (doorbells.sql before the
        // loader counted it); the wraps numbered by row_number and each doorbell joined to the
        // first wrap at or after it (wraps.sql before).
        const windowsOf = (rel: string, file: string, queue = ', queue') => `SELECT * FROM (WITH r AS (SELECT seq, _epoch,
            sum((kind = 'cmd' AND NOT coalesce(role = 'sync', false))::INT) OVER e AS _epoch_commands,
            sum((kind = 'cmd' AND coalesce(role = 'invalidate', false))::INT) OVER e AS _epoch_invalidations,
            _iotlb_number,
            CASE WHEN kind = 'cmd' AND cache = 'iotlb' THEN count(*) FILTER (WHERE cache IN ('atc', 'devtlb')) OVER f ELSE 0 END AS _fanout_devtlbs,
            CASE WHEN kind = 'cmd' AND cache = 'iotlb' THEN count(DISTINCT sid) FILTER (WHERE cache IN ('atc', 'devtlb')) OVER f ELSE 0 END AS _fanout_devices,
            kind, ${queue === '' ? '0' : 'queue'} AS queue, slot, wrap, _prev_slot, _prev_wrap
          FROM (SELECT *,
            (sum((kind = 'cmd' AND coalesce(role = 'sync', false))::INT) OVER w
              - (kind = 'cmd' AND coalesce(role = 'sync', false))::INT) AS _epoch,
            sum((kind = 'cmd' AND coalesce(cache = 'iotlb', false))::INT) OVER w AS _iotlb_number,
            CASE WHEN kind = 'doorbell' THEN lag(slot) OVER d END AS _prev_slot,
            CASE WHEN kind = 'doorbell' THEN lag(wrap) OVER d END AS _prev_wrap
          FROM ${rel} WINDOW w AS (ORDER BY seq ROWS UNBOUNDED PRECEDING), d AS (PARTITION BY kind = 'doorbell'${queue} ORDER BY seq))
          WINDOW e AS (PARTITION BY _epoch ORDER BY seq ROWS UNBOUNDED PRECEDING), f AS (PARTITION BY _iotlb_number)),
          q AS (SELECT queue, queue_entries, start_slot FROM queues WHERE file = '${file}'),
          p AS (SELECT r.seq, slot::BIGINT AS prod, wrap::BIGINT AS wrap, queue_entries::BIGINT AS qe,
              coalesce(_prev_slot, start_slot)::BIGINT AS prev_prod, coalesce(_prev_wrap, 0)::BIGINT AS prev_wrap
            FROM r JOIN q ON q.queue = r.queue WHERE r.kind = 'doorbell'),
          d AS (SELECT *, prev_prod + entries >= qe AS wrapped
            FROM (SELECT *, (wrap * qe + prod - (prev_wrap * qe + prev_prod) + 2 * qe) % (2 * qe) AS entries FROM p)),
          w AS (SELECT seq, row_number() OVER (ORDER BY seq) AS wrap_number FROM d WHERE wrapped),
          l AS (SELECT w.seq, count(*) AS doorbells, sum(d.entries) AS entries
            FROM d ASOF JOIN w ON d.seq <= w.seq WHERE d.wrapped IS NOT NULL GROUP BY w.seq)
        SELECT r.seq, r._epoch, r._epoch_commands, r._epoch_invalidations, r._iotlb_number, r._fanout_devtlbs, r._fanout_devices,
          d.prev_prod, d.entries, coalesce(l.doorbells, 0), coalesce(l.entries, 0)
        FROM r LEFT JOIN d USING (seq) LEFT JOIN l USING (seq))`;
        const windows = windowsOf('mq', gen);
        const [stats] = tableRows(
          await s.query(`SELECT
              (SELECT count(*) FROM (SELECT ${cols} FROM ${derivedRelation('mq')} EXCEPT ALL ${windows})) AS missing,
              (SELECT count(*) FROM (${windows} EXCEPT ALL SELECT ${cols} FROM ${derivedRelation('mq')})) AS extra,
              (SELECT count(*) FROM mq) AS rows,
              (SELECT count(DISTINCT queue) FROM mq) AS queues,
              (SELECT count(*) FROM mq WHERE kind IN ('ack', 'atc_timeout')) AS faults,
              (SELECT count(*) FROM doorbells_published WHERE wrapped) AS wraps,
              (SELECT count(DISTINCT queue) FROM ${derivedRelation('mq')} WHERE _lap_doorbells > 0) AS wrapping_queues`),
        );
        expect(stats).toMatchObject({ missing: 0, extra: 0, queues: 3, wrapping_queues: 3 });
        expect(Number(stats!.rows)).toBeGreaterThan(4000);
        const [vtd] = tableRows(
          await s.query(`SELECT
              (SELECT count(*) FROM (SELECT ${cols} FROM ${derivedRelation('vq')} EXCEPT ALL ${windowsOf('vq', vgen, '')})) AS missing,
              (SELECT count(*) FROM (${windowsOf('vq', vgen, '')} EXCEPT ALL SELECT ${cols} FROM ${derivedRelation('vq')})) AS extra,
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
        // The near misses: one doorbell window for all queues gives other producer values, and
        // laps counted per queue (the trace's run from one wrap to the next, across its queues)
        // other doorbell counts.
        const [naive] = tableRows(
          await s.query(`SELECT count(*) AS n FROM (SELECT seq, _prev_prod FROM ${derivedRelation('mq')} WHERE kind = 'doorbell'
            EXCEPT ALL SELECT seq, coalesce(lag(slot) OVER (ORDER BY seq), 0) FROM mq WHERE kind = 'doorbell')`),
        );
        expect(Number(naive!.n)).toBeGreaterThan(0);
        const [perQueue] = tableRows(
          await s.query(`SELECT count(*) AS n FROM (SELECT seq, _lap_doorbells FROM ${derivedRelation('mq')} WHERE _lap_doorbells > 0
            EXCEPT ALL SELECT seq, n FROM (SELECT seq, wrapped, count(*) OVER (PARTITION BY queue, lap) AS n
              FROM (SELECT *, sum(wrapped::INT) OVER (PARTITION BY queue ORDER BY seq) - wrapped::INT AS lap
                FROM (SELECT *, _lap_doorbells > 0 AS wrapped FROM ${derivedRelation('mq')} WHERE _entries IS NOT NULL))) WHERE wrapped)`),
        );
        expect(Number(perQueue!.n)).toBeGreaterThan(0);
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
