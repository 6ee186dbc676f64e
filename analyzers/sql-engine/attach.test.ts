// How rows reach the engine (attach.ts, parquet-cache.ts): duckdb-wasm copies in only the columns
// statements read, and a statement reaching a column not copied yet gets it and the same answer;
// native DuckDB reads a cached Parquet copy that a changed trace replaces; `auto` picks by size;
// a wasm statement past the memory ceiling fails in one line naming --engine native.

import { statSync, utimesSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { Dictionary, Int16, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { openArrow, type ArrowSource } from '../arrow-files.js';
import { tableRows } from '../rows.js';
import { openSession, type Session } from '../session.js';
import { scenarioTrace } from '../testdata/fixtures.js';
import { AUTO_NATIVE_BYTES, chooseEngine, nativeInstalled, SqlError } from './engine.js';
import { attachFile } from './attach.js';
import { DERIVED_COLUMNS } from './derived-columns.js';
import { parquetOf } from './parquet-cache.js';
import { WasmEngine } from './wasm.js';

const dir = tempDir();
process.env.INVTRACE_CACHE_DIR = join(dir, 'cache');
const native = await nativeInstalled();

/** Columns of the wasm table holding a file's copied columns. */
const copied = async (raw: WasmEngine, table: string) =>
  tableRows(await raw.query(`SELECT column_name FROM duckdb_columns() WHERE table_name = '_${table}_data' ORDER BY column_index`)).map(
    (r) => r.column_name,
  );

describe('duckdb-wasm: columns copied on demand', () => {
  let trace: string;
  let raw: WasmEngine;
  let s: Session;
  beforeAll(async () => {
    trace = await scenarioTrace(dir, 'smmuv3-views');
    raw = await WasmEngine.start();
    s = await openSession([trace], { engine: raw, statements: ['SELECT count(*) AS n FROM trace'] });
  });
  afterAll(async () => {
    await (s as Session | undefined)?.close(); // beforeAll may have failed before setting it
  });

  it('copies no column for a statement that reads none: the rows come from the file footer', async () => {
    expect(await copied(raw, 'smmuv3_views')).toEqual([]);
    // The scenario's 19 rows (session.test.ts: 19 events).
    expect(tableRows(await s.query('SELECT count(*) AS n FROM trace'))).toEqual([{ n: 19 }]);
  });

  it('a column not copied raises the marker on the engine itself, and the session copies it first', async () => {
    const e = await raw.query('SELECT count(asid) AS n FROM smmuv3_views').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SqlError);
    expect((e as Error).message).toMatch(/invtrace-not-loaded:smmuv3_views:asid/);
    // Four commands carry an ASID: the three TLBI_NH_VA and the TLBI_NH_ASID (session.test.ts).
    expect(tableRows(await s.query('SELECT count(asid) AS n FROM smmuv3_views'))).toEqual([{ n: 4 }]);
    // With it, the columns the analyzer views read (a statement not known at open asks for more
    // soon): op, for one; not msiaddr, which no view reads.
    const now = await copied(raw, 'smmuv3_views');
    expect(now).toEqual(expect.arrayContaining(['seq', 'asid', 'op']));
    expect(now).not.toContain('msiaddr');
  });

  it('stores a fixed-dictionary string column as an ENUM and reads it back as VARCHAR', async () => {
    // op was copied with asid above (every analyzer column comes along).
    const types = async (table: string) =>
      tableRows(
        await raw.query(
          `SELECT data_type AS t FROM duckdb_columns() WHERE table_name = '${table}' AND column_name IN ('op', 'seq') ORDER BY column_name`,
        ),
      ).map((r) => String(r.t));
    const [op, seq] = await types('_smmuv3_views_data');
    expect(op).toMatch(/^ENUM\('UNKNOWN_0x00', 'CMD_PREFETCH_CONFIG'/);
    expect(seq).toBe('UINTEGER'); // a plain column stays as it is
    expect(await types('smmuv3_views')).toEqual(['VARCHAR', 'UINTEGER']);
  });

  it('a statement naming no column (a row as a struct) is run again after the columns it reached are copied', async () => {
    // `t` is the whole row: no column name appears in the text, so only the marker can ask.
    const lazy = tableRows(await s.query('SELECT t::VARCHAR AS row FROM smmuv3_views t ORDER BY seq'));
    const all = await openSession([trace], { engine: 'wasm', statements: ['SELECT * FROM trace'] });
    try {
      expect(lazy).toEqual(tableRows(await all.query('SELECT t::VARCHAR AS row FROM smmuv3_views t ORDER BY seq')));
      expect(lazy).toHaveLength(19);
    } finally {
      await all.close();
    }
    // Every column: the file's own and the 4 derived ones of a trace (derived-columns.ts).
    expect((await copied(raw, 'smmuv3_views')).length).toBe((await openArrow(trace)).schema.fields.length + DERIVED_COLUMNS.length);
  });
});

describe('duckdb-wasm: string columns as ENUMs', () => {
  /** A source whose batches carry dictionary string columns with these dictionaries, one batch each. */
  const source = (batches: readonly (readonly string[])[]): ArrowSource => {
    const tables = batches.map((vals) => new Table({ s: vectorFromArray([...vals], new Dictionary(new Utf8(), new Int16())) }));
    return {
      path: join(dir, 'no-such.arrow'), // no footer to read: the first column is copied to count rows
      schema: tables[0]!.schema,
      async *batches() {
        for (const t of tables) yield* t.batches;
      },
    };
  };
  /** `segmentRows`: 1 puts each row in its own IPC segment; a large one puts every batch in one. */
  const attached = async (batches: readonly (readonly string[])[], segmentRows = 1) => {
    const raw = await WasmEngine.start();
    try {
      await attachFile(raw, source(batches), 'd', { columns: 'all', segmentRows });
      const rows = tableRows(await raw.query('SELECT s FROM d ORDER BY s')).map((r) => r.s);
      const [stored] = tableRows(await raw.query("SELECT data_type AS t FROM duckdb_columns() WHERE table_name = '_d_data'")).map((r) =>
        String(r.t),
      );
      return { rows, stored, view: String((await raw.query('SELECT typeof(s) AS t FROM d LIMIT 1')).get(0)!.t) };
    } finally {
      await raw.close();
    }
  };

  it("stores an ENUM when every batch has the first batch's dictionary", async () => {
    expect(
      await attached([
        ['x', 'y', 'x'],
        ['y', 'x'],
      ]),
    ).toEqual({ rows: ['x', 'x', 'x', 'y', 'y'], stored: "ENUM('x', 'y')", view: 'VARCHAR' });
  });

  it('falls back to strings, same rows, when a later dictionary has a value the ENUM lacks', async () => {
    expect(
      await attached([
        ['x', 'y', 'x'],
        ['z', 'x'],
      ]),
    ).toEqual({ rows: ['x', 'x', 'x', 'y', 'z'], stored: 'VARCHAR', view: 'VARCHAR' });
  });

  it('does the same when both batches would share one IPC segment (the second batch starts its own)', async () => {
    const batches = [
      ['x', 'y', 'x'],
      ['z', 'x'],
    ];
    expect(await attached(batches, 1024)).toEqual({ rows: ['x', 'x', 'x', 'y', 'z'], stored: 'VARCHAR', view: 'VARCHAR' });
    // Its near twin: the same dictionary in both batches of the one segment stays an ENUM.
    expect(
      await attached(
        [
          ['x', 'y', 'x'],
          ['y', 'x'],
        ],
        1024,
      ),
    ).toEqual({ rows: ['x', 'x', 'x', 'y', 'y'], stored: "ENUM('x', 'y')", view: 'VARCHAR' });
  });
});

describe('duckdb-wasm memory ceiling', () => {
  let raw: WasmEngine;
  beforeAll(async () => {
    raw = await WasmEngine.start();
    // The same ceiling DuckDB keeps at about 3.1 GiB in WebAssembly, made small enough to reach.
    await raw.exec("SET memory_limit = '32MB'");
  });
  afterAll(async () => {
    await (raw as WasmEngine | undefined)?.close(); // beforeAll may have failed before setting it
  });

  it('fails a statement past it with one line naming --engine native, and keeps the engine usable', async () => {
    // 10M distinct BIGINTs in a hash table: far more than 32 MB.
    const e = await raw.query('SELECT count(DISTINCT range) AS n FROM range(10000000)').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SqlError);
    expect((e as Error).message).toMatch(
      /^Out of Memory Error: the statement needs more than duckdb-wasm's memory \(.+\); run it with --engine native/,
    );
    expect((e as Error).message).not.toContain('\n');
    // The same statement over 1000 rows fits.
    expect(tableRows(await raw.query('SELECT count(DISTINCT range) AS n FROM range(1000)'))).toEqual([{ n: 1000 }]);
  });
});

describe('Parquet copies for native DuckDB', () => {
  it('writes a copy once, reuses it, and replaces it when the trace changes', async () => {
    const trace = await scenarioTrace(dir, 'vtd-views', 'cached.arrow');
    const first = await parquetOf(await openArrow(trace));
    expect(first.written).toBe(true);
    expect(readFileSync(first.path).subarray(0, 4).toString()).toBe('PAR1');
    const again = await parquetOf(await openArrow(trace));
    expect(again).toEqual({ path: first.path, written: false });
    // The trace rewritten (same bytes, new modification time): a new copy, the old one gone.
    writeFileSync(trace, readFileSync(trace));
    const later = new Date(statSync(trace).mtimeMs + 5000);
    utimesSync(trace, later, later);
    const changed = await parquetOf(await openArrow(trace));
    expect(changed.written).toBe(true);
    expect(changed.path).not.toBe(first.path);
    expect(existsSync(first.path)).toBe(false);
  });

  it.skipIf(!native)('native sessions read the copy: the rows of the trace, column types as from Arrow', async () => {
    const trace = await scenarioTrace(dir, 'smmuv3-views', 'native.arrow');
    const s = await openSession([trace], { engine: 'native' });
    try {
      expect(
        tableRows(
          await s.query('SELECT count(*) AS n, count(asid) AS asids, typeof(any_value(op)) AS op, typeof(any_value(w0)) AS w0 FROM trace'),
        ),
      ).toEqual([{ n: 19, asids: 4, op: 'VARCHAR', w0: 'UBIGINT' }]);
      expect(
        tableRows(await s.query("SELECT sql LIKE '%read_parquet%' AS in_place FROM duckdb_views() WHERE view_name = 'native'")),
      ).toEqual([{ in_place: true }]);
    } finally {
      await s.close();
    }
  });
});

describe('--engine auto', () => {
  it('keeps duckdb-wasm under the size bound and names explicit engines without a note', async () => {
    expect(await chooseEngine('auto', [1000, AUTO_NATIVE_BYTES - 1001])).toEqual({
      kind: 'wasm',
      note: expect.stringMatching(/^--engine auto: duckdb-wasm \(inputs .* MiB, under 64 MiB\)$/),
    });
    expect(await chooseEngine('wasm', [AUTO_NATIVE_BYTES * 4])).toEqual({ kind: 'wasm' });
    expect(await chooseEngine('native', [1])).toEqual({ kind: 'native' });
  });

  it('picks native DuckDB from the bound on when it is installed', async () => {
    const c = await chooseEngine('auto', [AUTO_NATIVE_BYTES - 1000, 1000]);
    expect(c.kind).toBe(native ? 'native' : 'wasm');
    expect(c.note).toMatch(native ? /^--engine auto: native DuckDB \(inputs 64 MiB, 64 MiB or more\)$/ : /not installed/);
  });
});
