// The analyzer library's rules (STYLE.md §3) and the loader: every bundled module passes the lint,
// the lint catches each kind of break, comments arrive in DuckDB, and modules whose tables are
// absent are skipped while a new .sql file over a result table installs with nothing else to do.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Float64, Int32, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import { WasmEngine } from './sql-engine/wasm.js';
import {
  installModules,
  lintModule,
  loadModules,
  materializeSql,
  parseModule,
  splitStatements,
  sqlWords,
  tablesReadBy,
  traceViews,
} from './modules.js';
import { tableRows } from './rows.js';
import { BASE_RELATIONS, openSession } from './session.js';
import { scenarioTrace } from './testdata/fixtures.js';

const dir = tempDir();

describe('bundled modules', () => {
  const modules = loadModules();

  it('exist and pass the lint', () => {
    expect(modules.length).toBeGreaterThanOrEqual(6);
    for (const m of modules) expect(lintModule(m), m.file).toEqual([]);
  });

  it('give every public view at least one documented column', () => {
    for (const m of modules) {
      for (const o of m.objects.filter((x) => x.kind === 'view' && !x.name.startsWith('_'))) {
        expect(o.columns.length, o.name).toBeGreaterThan(0);
      }
    }
  });
});

describe('lintModule', () => {
  const lint = (name: string, text: string) => lintModule(parseModule(join(dir, `${name}.sql`), text));
  const HEAD = '-- Module demo: a demo.\n-- Requires: trace\n\n';

  it('accepts a well-formed module', () => {
    expect(
      lint(
        'demo',
        `${HEAD}-- Ops.\nCREATE OR REPLACE VIEW demo_ops(\n  -- The op.\n  op,\n  -- How many.\n  n\n) AS\nSELECT op AS op, count(*) AS n FROM trace GROUP BY op;\n`,
      ),
    ).toEqual([]);
  });

  it('reports a public name without the module prefix', () => {
    expect(lint('demo', `${HEAD}-- Ops.\nCREATE OR REPLACE VIEW ops(\n  -- The op.\n  op\n) AS SELECT op AS op FROM trace;\n`)).toEqual([
      'demo.sql:5: public view ops does not start with "demo_" (internal names start with "_")',
    ]);
  });

  it('reports a view without a comment above it', () => {
    expect(lint('demo', `${HEAD}CREATE OR REPLACE VIEW demo_ops(\n  -- The op.\n  op\n) AS SELECT op AS op FROM trace;\n`)).toEqual([
      'demo.sql:4: view demo_ops has no comment above it',
    ]);
  });

  it('reports a column without a comment and a view without a column list', () => {
    expect(
      lint(
        'demo',
        `${HEAD}-- Ops.\nCREATE OR REPLACE VIEW demo_ops(\n  -- The op.\n  op,\n  n\n) AS SELECT op AS op, 1 AS n FROM trace;\n\n-- All.\nCREATE OR REPLACE VIEW demo_all AS SELECT * FROM trace;\n`,
      ),
    ).toEqual([
      'demo.sql:5: column demo_ops.n has no comment above it',
      'demo.sql:12: public view demo_all lists no columns (write name(-- doc\\n col, ...) AS)',
    ]);
  });

  it('reports statements other than views and macros, and a missing header', () => {
    expect(lint('demo', 'CREATE TABLE demo_t AS SELECT 1;\n')).toEqual([
      'demo.sql:1: the module has no header comment',
      'demo.sql:1: the header has no "-- Requires: TABLE, ..." line',
      'demo.sql:1: only CREATE OR REPLACE VIEW|MACRO|TABLE statements belong in a module: CREATE TABLE demo_t AS SELECT 1;',
    ]);
  });

  it('needs a comment on internal views too, but not a column list', () => {
    expect(
      lint(
        'demo',
        `${HEAD}CREATE OR REPLACE VIEW _demo_x AS SELECT 1 AS x;\n\n-- Fine.\nCREATE OR REPLACE VIEW _demo_y AS SELECT 1 AS y;\n`,
      ),
    ).toEqual(['demo.sql:4: view _demo_x has no comment above it']);
  });
});

describe('module tables', () => {
  const lint = (text: string) => lintModule(parseModule(join(dir, 'demo.sql'), text));
  const HEAD = '-- Module demo: a demo.\n-- Requires: trace\n\n';

  it('must be internal and a CREATE OR REPLACE TABLE name AS SELECT', () => {
    expect(lint(`${HEAD}-- Ops.\nCREATE OR REPLACE TABLE _demo_ops AS\nSELECT op FROM trace;\n`)).toEqual([]);
    expect(lint(`${HEAD}-- Ops.\nCREATE OR REPLACE TABLE _demo_ops AS\nWITH t AS (SELECT op FROM trace) SELECT * FROM t;\n`)).toEqual([]);
    expect(lint(`${HEAD}-- Ops.\nCREATE OR REPLACE TABLE demo_ops AS\nSELECT op FROM trace;\n`)).toEqual([
      "demo.sql:5: table demo_ops is public (a module's tables are internal: name it _demo_ops)",
    ]);
    expect(lint(`${HEAD}-- Ops.\nCREATE OR REPLACE TABLE _demo_ops (op VARCHAR);\n`)).toEqual([
      'demo.sql:5: table _demo_ops is not CREATE OR REPLACE TABLE name AS SELECT|WITH ...',
    ]);
  });

  it('are found through the views that read them, and only those', () => {
    const modules = loadModules();
    const names = (sql: string) => tablesReadBy(sqlWords(sql), modules).map((o) => o.name);
    // wraps_summary reads the doorbells module's table through no view of its own module.
    expect(names('SELECT * FROM wraps_summary')).toEqual(['_doorbells']);
    expect(names('SELECT * FROM epochs_sizes JOIN fanout_summary USING (file)')).toEqual(['_epochs', '_fanout']);
    expect(names('SELECT * FROM commands_by_op')).toEqual([]);
    expect(names('SELECT * FROM duckdb_views()')).toEqual([]);
  });

  it('give the same rows computed once as the views over their query give', async () => {
    // A raw engine: the modules installed as the peer of `npm run bench -- sql` does, every table a view first.
    const traces = [await scenarioTrace(dir, 'smmuv3-views'), await scenarioTrace(dir, 'vtd-views')];
    const s = await openSession(traces, { views: false });
    try {
      const modules = loadModules();
      await installModules(s.engine, new Set(BASE_RELATIONS), modules);
      const all = async () => {
        const out: Record<string, unknown> = {};
        for (const v of traceViews(modules)) out[v] = tableRows(await s.query(`SELECT * FROM ${v} ORDER BY ALL`));
        return out;
      };
      const before = await all();
      const tables = modules.flatMap((m) => m.objects.filter((o) => o.kind === 'table'));
      expect(tables.map((o) => o.name).sort()).toEqual(['_doorbells', '_epochs', '_fanout', '_inv_sizes']);
      const rowsTables = "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name LIKE '\\_%\\_rows' ESCAPE '\\'";
      expect(tableRows(await s.query(rowsTables))).toEqual([{ n: 0 }]);
      for (const o of tables) await s.engine.exec(materializeSql(o));
      expect(tableRows(await s.query(rowsTables))).toEqual([{ n: 4 }]);
      const after = await all();
      expect(after).toEqual(before);
      // Not vacuous: every view has rows on these scenarios.
      for (const [v, rows] of Object.entries(after)) expect((rows as unknown[]).length, v).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });

  it('are computed by a session the first time a statement reads them, not when a catalog query creates the views', async () => {
    const s = await openSession([await scenarioTrace(dir, 'smmuv3-views')]);
    const computed = async () =>
      tableRows(
        await s.query("SELECT table_name AS t FROM duckdb_tables() WHERE table_name LIKE '\\_%\\_rows' ESCAPE '\\' ORDER BY t"),
      ).map((r) => r.t);
    try {
      expect(await computed()).toEqual([]); // every view is there (a catalog query), no table computed
      await s.query('SELECT * FROM wraps_summary');
      expect(await computed()).toEqual(['__doorbells_rows']);
      await s.query('SELECT * FROM doorbells_summary');
      expect(await computed()).toEqual(['__doorbells_rows']);
      await s.query('SELECT * FROM epochs_summary');
      expect(await computed()).toEqual(['__doorbells_rows', '__epochs_rows']);
    } finally {
      await s.close();
    }
  });
});

describe('splitStatements', () => {
  it('splits at semicolons outside strings and comments and keeps the comment above each', () => {
    const s = splitStatements('-- head\n\n-- first\nSELECT \';\' AS a; -- trailing; comment\n/* block; */ SELECT "x;" FROM t;\nSELECT 3');
    expect(s.map((x) => [x.doc, x.line])).toEqual([
      ['first', 4],
      ['', 5],
      ['', 6],
    ]);
    expect(s[0]!.sql).toContain("SELECT ';' AS a;");
    expect(s[2]!.sql).toBe('SELECT 3');
  });
});

describe('installModules through a session', () => {
  let trace: string;
  beforeAll(async () => {
    trace = await scenarioTrace(dir, 'smmuv3-views');
  });

  it('stores view and column comments with COMMENT ON', async () => {
    const s = await openSession([trace]);
    try {
      const v = tableRows(await s.query("SELECT comment FROM duckdb_views() WHERE view_name = 'doorbells_summary'"));
      expect(v[0]!.comment).toMatch(/^Per trace: doorbells and entries per doorbell/);
      const c = tableRows(
        await s.query(
          "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'doorbells_summary' AND column_name = 'max_entries'",
        ),
      );
      expect(c).toEqual([{ column_name: 'max_entries', comment: 'Most entries one doorbell published.' }]);
    } finally {
      await s.close();
    }
  });

  describe('with result tables', () => {
    let results: string;
    let modDir: string;
    beforeAll(() => {
      results = join(dir, 'results');
      modDir = join(dir, 'modules');
      for (const d of [results, modDir]) mkdirSync(d, { recursive: true });
      // A stand-in for the replay engine's output: one Arrow file per result table.
      const ops = new Table({
        policy: vectorFromArray(['per-command', 'per-command', 'linear-batch'], new Utf8()),
        seq: vectorFromArray([3, 7, 3], new Int32()),
        cost_us: vectorFromArray([1.5, 2.5, 4], new Float64()),
      });
      writeFileSync(join(results, 'host_ops.arrow'), tableToIPC(ops, 'file'));
      writeFileSync(
        join(modDir, 'policy_demo.sql'),
        [
          '-- Module policy_demo: host cost per policy (a stand-in for the views to come).',
          '-- Requires: host_ops',
          '',
          '-- Host operations and their modelled cost per policy.',
          'CREATE OR REPLACE VIEW policy_demo_cost(',
          '  -- Policy name.',
          '  policy,',
          '  -- Host operations.',
          '  ops,',
          '  -- Modelled µs, summed.',
          '  cost_us',
          ') AS',
          'SELECT policy AS policy, count(*) AS ops, sum(cost_us) AS cost_us FROM host_ops GROUP BY policy;',
          '',
        ].join('\n'),
      );
    });

    it('loads every .arrow of a folder as a table named after the file and installs the module that needs it', async () => {
      const modules = [...loadModules(), ...loadModules(modDir)];
      const s = await openSession([results], { modules });
      try {
        expect(s.files.map((f) => [f.table, f.rows])).toEqual([['host_ops', 3]]);
        expect(s.views.installed).toEqual(['policy_demo']);
        // No trace: every trace module is skipped, naming what it lacks.
        expect(s.views.skipped.find((x) => x.module === 'commands')).toEqual({ module: 'commands', missing: ['trace'] });
        expect(s.views.skipped.find((x) => x.module === 'wraps')?.missing).toEqual(['doorbells', 'trace', 'traces']);
        expect(tableRows(await s.query('SELECT * FROM policy_demo_cost ORDER BY policy'))).toEqual([
          { policy: 'linear-batch', ops: 1, cost_us: 4 },
          { policy: 'per-command', ops: 2, cost_us: 4 },
        ]);
      } finally {
        await s.close();
      }
    });

    it('loads a trace and result tables side by side', async () => {
      const engine = await WasmEngine.start();
      const s = await openSession([trace, results], { engine });
      try {
        expect(s.files.map((f) => f.table)).toEqual(['smmuv3_views', 'host_ops']);
        // Only modules that also need the other result tables are skipped.
        for (const x of s.views.skipped)
          expect(
            x.missing.every((t) => ['completions', 'violations', 'summary'].includes(t)),
            x.module,
          ).toBe(true);
        expect(s.views.installed).toContain('commands');
        const n = tableRows(await s.query('SELECT (SELECT count(*) FROM trace) AS t, (SELECT count(*) FROM host_ops) AS h'));
        expect(n).toEqual([{ t: 19, h: 3 }]);
      } finally {
        await s.close();
      }
    });
  });
});
