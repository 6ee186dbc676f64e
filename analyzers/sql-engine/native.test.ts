// The optional native engine (@duckdb/node-api) against duckdb-wasm: the same tables, types and
// answers for every analyzer view, on the hand-written scenarios and real captures. Skipped, and
// said so, when the optional package is not installed.

import { join } from 'node:path';
import { Dictionary, Int8, Table, Uint64, Utf8, makeVector, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import { capture, haveCaptures, tempDir } from '../../test/helpers.js';
import { loadModules } from '../modules.js';
import { tableRows } from '../rows.js';
import { expectTimersRunDuring, replayedScenario, scenarioTrace } from '../testdata/fixtures.js';
import { openSession, type Session } from '../session.js';
import { SqlError } from './engine.js';
import { NativeEngine } from './native.js';

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- optional dependency: `as string` keeps tsc from resolving its types
const installed = await import('@duckdb/node-api' as string).then(
  () => true,
  () => false,
);
if (!installed) console.warn('native engine tests skipped: the optional dependency @duckdb/node-api is not installed');

describe.skipIf(!installed)('NativeEngine', () => {
  let engine: NativeEngine;
  beforeAll(async () => {
    engine = await NativeEngine.start();
  });
  afterAll(async () => {
    await (engine as NativeEngine | undefined)?.close(); // beforeAll may have failed before setting it
  });

  it('loads Arrow IPC streams (appending after the first) with VARCHAR and exact UBIGINT columns', async () => {
    const t = (n: number) =>
      new Table({
        w0: makeVector({
          type: new Uint64(),
          data: BigUint64Array.from({ length: n }, (_, i) => (i === 0 ? 0xffffffffffffffffn : BigInt(i))),
        }),
        op: vectorFromArray(
          Array.from({ length: n }, (_, i) => (i % 2 ? 'CMD_SYNC' : 'CMD_ATC_INV')),
          new Dictionary(new Utf8(), new Int8(), 3),
        ),
      });
    await engine.loadTable('t', [tableToIPC(t(100), 'stream'), tableToIPC(t(50), 'stream')]);
    expect(
      tableRows(
        await engine.query(
          "SELECT count(*) AS n, max(w0) AS mx, typeof(any_value(op)) AS top, typeof(any_value(w0)) AS tw, count(*) FILTER (WHERE op = 'CMD_SYNC') AS syncs FROM t",
        ),
      ),
    ).toEqual([{ n: 150, mx: 0xffffffffffffffffn, top: 'VARCHAR', tw: 'UBIGINT', syncs: 75 }]); // odd i: 50 in 0..99, 25 in 0..49
  });

  it('reports bad SQL as one line', async () => {
    const e = await engine.query('SELEC 1').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SqlError);
    expect((e as Error).message).toBe('Parser Error: syntax error at or near "SELEC"');
  });

  it('keeps the main thread running timers during a long query', async () => {
    await expectTimersRunDuring(() => engine.query('SELECT count(*) AS n FROM range(1000000000) t(i) WHERE hash(i) % 7 = 3'));
  });
});

describe.skipIf(!installed)('native and wasm engines give the same answers', () => {
  const dir = tempDir();
  // The native session's Parquet copies (analyzers/sql-engine/parquet-cache.ts) go to the test's folder.
  process.env.INVTRACE_CACHE_DIR = join(dir, 'cache');
  const files: string[] = [];
  const sessions: Session[] = [];
  beforeAll(async () => {
    files.push(await scenarioTrace(dir, 'smmuv3-views'), await scenarioTrace(dir, 'vtd-views'));
    // Replay result tables with findings, for the views over them.
    files.push((await replayedScenario(dir, 'd-smmuv3-illegal-then-vmm-command')).results);
    if (haveCaptures) {
      for (const c of ['guest-smmuv3-strict.txt.gz', 'qemu-vtd-scalable-strict.log.gz']) {
        files.push(join(dir, c.replace(/\.(txt|log)\.gz$/, '.arrow')));
        await ingest([capture(c)], { output: files.at(-1)! });
      }
    }
    sessions.push(await openSession(files, { engine: 'wasm' }), await openSession(files, { engine: 'native' }));
  }, 120_000);
  afterAll(async () => {
    for (const s of sessions) await s.close();
  });

  const views = loadModules().flatMap((m) => m.objects.filter((o) => o.kind === 'view' && !o.name.startsWith('_')).map((o) => o.name));
  it.each(views)('%s', async (v) => {
    const [wasm, native] = await Promise.all(sessions.map(async (s) => tableRows(await s.query(`SELECT * FROM ${v} ORDER BY ALL`))));
    expect(native!.length).toBeGreaterThan(0);
    expect(native).toEqual(wasm);
  });
});
