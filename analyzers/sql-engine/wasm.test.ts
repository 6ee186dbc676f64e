// The duckdb-wasm engine on real DuckDB: tables arrive from Arrow 21 IPC streams with their row
// counts and types, results come back as Arrow 21, errors are one line, and the main thread keeps
// running while a query does.

import { Dictionary, Int8, Table, Uint64, Uint8, Utf8, makeVector, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ipcStreams } from '../arrow-files.js';
import { expectTimersRunDuring } from '../testdata/fixtures.js';
import { SqlError } from './engine.js';
import { WasmEngine } from './wasm.js';

let engine: WasmEngine;
beforeAll(async () => {
  engine = await WasmEngine.start();
});
afterAll(async () => {
  await engine.close();
});

/** A table with a uint64 column (including 2^64-1), a dictionary-encoded string column and a nullable uint8. */
function sample(n: number, offset = 0): Table {
  const u64 = new BigUint64Array(n);
  for (let i = 0; i < n; i++) u64[i] = BigInt(i + offset);
  if (n > 0 && offset === 0) u64[0] = 0xffffffffffffffffn;
  const dict = vectorFromArray(
    Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'CMD_SYNC' : 'CMD_TLBI_NH_VA')),
    new Dictionary(new Utf8(), new Int8(), 7),
  );
  const small = vectorFromArray(
    Array.from({ length: n }, (_, i) => (i % 2 === 0 ? null : i % 256)),
    new Uint8(),
  );
  return new Table({ w0: makeVector({ type: new Uint64(), data: u64 }), op: dict, u8: small });
}

describe('WasmEngine', () => {
  it('makes no worker for a start stopped before it began, and says nothing about it', async () => {
    const warned: unknown[] = [];
    const warn = vi.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => warned.push(a));
    try {
      const stop = new AbortController();
      stop.abort();
      await expect(WasmEngine.start(stop.signal)).rejects.toThrow(/^duckdb-wasm start stopped$/);
      // A worker made and terminated would exit within this wait and warn "worker terminated with 1
      // pending requests"; stopping one already running (the case below) detaches it first.
      await new Promise((r) => setTimeout(r, 300));
      const running = new AbortController();
      const started = WasmEngine.start(running.signal);
      running.abort();
      await expect(started).rejects.toThrow(/^duckdb-wasm start stopped$/);
      await new Promise((r) => setTimeout(r, 300));
      expect(warned).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });

  it('creates a table from Arrow IPC stream bytes with every row', async () => {
    await engine.loadTable('t', [tableToIPC(sample(1000), 'stream')]);
    const r = await engine.query('SELECT count(*) AS n FROM t');
    expect(Number(r.get(0)!.n)).toBe(1000);
  });

  it('appends the streams after the first and replaces a table of the same name', async () => {
    const chunks = [tableToIPC(sample(10), 'stream'), tableToIPC(sample(20, 10), 'stream'), tableToIPC(sample(5, 30), 'stream')];
    await engine.loadTable('seg', chunks);
    expect(Number((await engine.query('SELECT count(*) AS n FROM seg')).get(0)!.n)).toBe(35);
    await engine.loadTable('seg', [tableToIPC(sample(3), 'stream')]);
    expect(Number((await engine.query('SELECT count(*) AS n FROM seg')).get(0)!.n)).toBe(3);
  });

  it('reads the next segment while the worker inserts one, and closes the source when either fails', async () => {
    // The source fails after its first segment: the load fails with its error, the source is closed.
    let closed = 0;
    async function* failing(): AsyncGenerator<Uint8Array> {
      try {
        yield tableToIPC(sample(10), 'stream');
        throw new Error('segment 2: disk gone');
      } finally {
        closed++;
      }
    }
    await expect(engine.loadTable('bad', failing())).rejects.toThrow('segment 2: disk gone');
    expect(closed).toBe(1);
    // DuckDB refuses the second segment (one column where the table has several) while the third
    // is being read: that error, the source closed.
    async function* refused(): AsyncGenerator<Uint8Array> {
      try {
        yield tableToIPC(sample(10), 'stream');
        yield tableToIPC(new Table({ x: vectorFromArray([1, 2, 3]) }), 'stream');
        yield tableToIPC(sample(10), 'stream');
      } finally {
        closed++;
      }
    }
    await expect(engine.loadTable('bad', refused())).rejects.toThrow(SqlError);
    expect(closed).toBe(2);
    // Its near twin, every segment readable, loads them all.
    await engine.loadTable('bad', [tableToIPC(sample(10), 'stream'), tableToIPC(sample(7, 10), 'stream')]);
    expect(Number((await engine.query('SELECT count(*) AS n FROM bad')).get(0)!.n)).toBe(17);
  });

  it('writes segments into two shared buffers, each reused only once the worker has read it', async () => {
    // Six segments of 100 rows, w0 = 1000 * (k + 1) + j for segment k, row j: 600 rows summing to
    // 100 * 1000 * (1 + ... + 6) + 6 * (0 + ... + 99) = 2,100,000 + 29,700. The next segment is
    // written while the worker inserts one (loadTable reads ahead), so a buffer reused before its
    // insert returned would change rows already handed over, and the sum with them.
    const used = new Set<ArrayBufferLike>();
    const into = (bytes: number) => {
      const b = engine.segmentBuffer(bytes);
      used.add(b.buffer);
      return b;
    };
    async function* batches() {
      for (let k = 0; k < 6; k++) yield* sample(100, 1000 * (k + 1)).batches;
    }
    await engine.loadTable('shared', ipcStreams(sample(0).schema, batches(), 100, into));
    const r = await engine.query('SELECT count(*) AS n, sum(w0)::BIGINT AS s FROM shared');
    expect(r.get(0)!.toJSON()).toEqual({ n: 600n, s: 2_129_700n });
    expect([...used].map((b) => b instanceof SharedArrayBuffer)).toEqual([true, true]);
  });

  it('creates an empty table from a schema-only stream (dictionary columns declared by value type)', async () => {
    await engine.loadTable('empty', ipcStreams(sample(0).schema, (async function* () {})()));
    const r = await engine.query(
      "SELECT count(*) AS n, (SELECT data_type FROM duckdb_columns() WHERE table_name = 'empty' AND column_name = 'op') AS t FROM empty",
    );
    expect(r.get(0)!.toJSON()).toEqual({ n: 0n, t: 'VARCHAR' });
  });

  it('reads dictionary strings as VARCHAR and uint64 as exact UBIGINT', async () => {
    const r = await engine.query(
      "SELECT typeof(w0) AS tw, typeof(op) AS top, typeof(u8) AS tu, max(w0) AS mx, count(*) FILTER (WHERE op = 'CMD_SYNC') AS syncs, count(u8) AS nn FROM t GROUP BY ALL",
    );
    const row = r.get(0)!.toJSON();
    expect(row).toMatchObject({ tw: 'UBIGINT', top: 'VARCHAR', tu: 'UTINYINT', mx: 0xffffffffffffffffn });
    expect(Number(row.syncs)).toBe(334); // i % 3 == 0 for i in 0..999
    expect(Number(row.nn)).toBe(500); // odd i only
  });

  it('returns the schema of an empty result', async () => {
    const r = await engine.query('SELECT w0, op FROM t WHERE false');
    expect(r.numRows).toBe(0);
    expect(r.schema.fields.map((f) => f.name)).toEqual(['w0', 'op']);
  });

  it('streams a result batch by batch', async () => {
    let rows = 0;
    for await (const b of engine.queryBatches('SELECT * FROM range(100000) t(i)')) rows += b.numRows;
    expect(rows).toBe(100000);
    // The connection is free again afterwards.
    expect(Number((await engine.query('SELECT 41 + 1 AS x')).get(0)!.x)).toBe(42);
  });

  it('runs statements issued together one after another, each with its own result', async () => {
    const streamed = (async () => {
      let n = 0;
      for await (const b of engine.queryBatches('SELECT * FROM range(300000) t(i)')) n += b.numRows;
      return n;
    })();
    const [rows, a, b] = await Promise.all([streamed, engine.query('SELECT 1 AS x'), engine.query('SELECT count(*) AS n FROM t')]);
    expect(rows).toBe(300000);
    expect(Number(a.get(0)!.x)).toBe(1);
    expect(Number(b.get(0)!.n)).toBe(1000);
  });

  it('refuses LOAD at once, and names the extension a statement needs instead of loading it', async () => {
    // Both would block forever in Node (duckdb/duckdb-wasm#2252); the engine has no exports to link one against.
    const refused = /^duckdb-wasm cannot load DuckDB extensions here: use --engine native$/;
    await expect(engine.query('LOAD icu')).rejects.toThrow(refused);
    await expect(engine.query('-- a comment\n  force load json;')).rejects.toThrow(refused);
    await expect(engine.exec('LOAD parquet')).rejects.toThrow(refused);
    // The same word elsewhere in a statement is no LOAD.
    expect((await engine.query("SELECT 'LOAD icu' AS load")).get(0)!.toJSON()).toEqual({ load: 'LOAD icu' });
    await expect(engine.query(`SELECT '{"a":1}'::JSON AS j`)).rejects.toThrow(/JSON.* exists in the json extension/);
    expect((await engine.query(`SELECT '{"a":1}'::VARCHAR AS j`)).get(0)!.toJSON()).toEqual({ j: '{"a":1}' });
  });

  it('reports bad SQL as one line', async () => {
    const e = await engine.query('SELEC 1').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SqlError);
    expect((e as Error).message).toMatch(/^Parser Error: syntax error at or near "SELEC"$/);
    const missing = await engine.query('SELECT * FROM no_such_table').catch((x: unknown) => x);
    expect((missing as Error).message).toMatch(/Catalog Error: Table with name no_such_table does not exist/);
    expect((missing as Error).message).not.toContain('\n');
  });

  it('keeps the main thread running timers during a long query', async () => {
    await expectTimersRunDuring(() => engine.query('SELECT count(*) AS n FROM range(150000000) t(i) WHERE i % 7 = 3'));
  });

  it('cancels a running query and stays usable', async () => {
    const running = engine.query('SELECT count(*) AS n FROM range(100000000000) t(i) WHERE i % 7 = 3');
    await new Promise((r) => setTimeout(r, 200));
    await engine.cancel();
    await expect(running).rejects.toThrow(/cancel/i);
    expect(Number((await engine.query('SELECT 7 AS x')).get(0)!.x)).toBe(7);
  });
});
