// `invtrace sql`, `invtrace views` and `invtrace export -o .parquet|.csv` through the built CLI
// (npm run build first): SQL counts agree with `info --json` on ingested traces, errors are one
// line with exit 2, exports read back, the REPL survives bad SQL, and --help loads no DuckDB.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readParquet } from 'parquet-wasm';
import { tableFromIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import { CAPTURES, CLI, cli, cliBuiltins, ROOT, tempDir } from '../../test/helpers.js';

const dir = tempDir();

/** Scenarios to ingest: ours (hand-counted) and the shared ones. */
const SCENARIOS = [
  ...readdirSync(join(ROOT, 'analyzers/testdata'))
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => join(ROOT, 'analyzers/testdata', f)),
  ...(existsSync(join(ROOT, 'samples/scenarios'))
    ? readdirSync(join(ROOT, 'samples/scenarios'))
        .filter((f) => f.endsWith('.jsonl'))
        .map((f) => join(ROOT, 'samples/scenarios', f))
    : []),
];
/** The real captures: each side on its own, and both sides of each run aligned into one trace. */
const CAPTURE_FILES = existsSync(CAPTURES)
  ? readdirSync(CAPTURES)
      .filter((f) => /^(guest|qemu)-.*\.gz$/.test(f))
      .sort()
  : [];
const RUNS = [...new Set(CAPTURE_FILES.map((f) => f.replace(/^(guest|qemu)-/, '').replace(/\.(txt|log)\.gz$/, '')))].filter(
  (r) => CAPTURE_FILES.includes(`qemu-${r}.log.gz`) && CAPTURE_FILES.includes(`guest-${r}.txt.gz`),
);

const traces: string[] = [];

beforeAll(async () => {
  for (const f of SCENARIOS) {
    const out = join(dir, `${basename(f, '.jsonl')}.arrow`);
    await ingest([f], { output: out });
    traces.push(out);
  }
  for (const f of CAPTURE_FILES) {
    const out = join(dir, `${f.replace(/\.(txt|log)\.gz$/, '')}.arrow`);
    await ingest([join(CAPTURES, f)], { output: out });
    traces.push(out);
  }
  for (const r of RUNS) {
    const out = join(dir, `run-${r}.arrow`);
    await ingest([join(CAPTURES, `qemu-${r}.log.gz`), join(CAPTURES, `guest-${r}.txt.gz`)], { output: out });
    traces.push(out);
  }
}, 300_000);

interface Info {
  events: number;
  commands: number;
  doorbells: number;
  acks: number;
  faults: number;
  inferred: number;
  wraps: number;
  by_op: Record<string, number>;
  by_role: Record<string, number>;
  errors: Record<string, number>;
  by_origin: Record<string, number>;
  entries_per_doorbell: { min: number; mean: number; max: number } | null;
}

const COUNTS = `
SELECT
  t.file,
  (SELECT count(*) FROM trace x WHERE x.file = t.file) AS events,
  (SELECT count(*) FROM trace x WHERE x.file = t.file AND kind = 'cmd') AS commands,
  (SELECT count(*) FROM trace x WHERE x.file = t.file AND kind = 'doorbell') AS doorbells,
  (SELECT count(*) FROM trace x WHERE x.file = t.file AND kind = 'ack') AS acks,
  (SELECT count(*) FROM trace x WHERE x.file = t.file AND kind IN ('atc_timeout', 'atc_recover')) AS faults,
  (SELECT count(*) FROM trace x WHERE x.file = t.file AND inferred = 1) AS inferred,
  (SELECT list({'k': op, 'n': commands}) FROM commands_by_op x WHERE x.file = t.file) AS by_op,
  (SELECT list({'k': role, 'n': n}) FROM (SELECT role, sum(commands) AS n FROM commands_by_op x WHERE x.file = t.file GROUP BY role)) AS by_role,
  (SELECT list({'k': error, 'n': n}) FROM (SELECT error, count(*) AS n FROM trace x WHERE x.file = t.file AND error IS NOT NULL GROUP BY error)) AS errors,
  (SELECT list({'k': origin, 'n': n}) FROM (SELECT origin, count(*) AS n FROM trace x WHERE x.file = t.file GROUP BY origin)) AS by_origin,
  w.wraps, d.doorbells AS summary_doorbells, d.min_entries, d.mean_entries, d.max_entries
FROM traces t
JOIN wraps_summary w USING (file)
JOIN doorbells_summary d USING (file)
ORDER BY t.file`;

type Pairs = { k: string; n: number }[] | null;
/** Pairs summed per key (commands_by_op has one row per op and role: a refused iotlb_inv has role 'other'). */
const asMap = (p: Pairs) => {
  const out: Record<string, number> = {};
  for (const x of p ?? []) out[x.k] = (out[x.k] ?? 0) + x.n;
  return out;
};

describe('invtrace sql agrees with invtrace info', () => {
  it('counts events, commands per op and role, errors, doorbells, entries per doorbell and wraps', () => {
    expect(traces.length).toBe(SCENARIOS.length + CAPTURE_FILES.length + RUNS.length);
    expect(CAPTURE_FILES.length).toBeGreaterThan(0);
    const r = cli('sql', ...traces, '-e', COUNTS, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(rows.map((x) => x.file)).toEqual([...traces].sort());
    for (const row of rows) {
      const file = row.file as string;
      const i = cli('info', file, '--json');
      expect(i.code).toBe(0);
      const info = JSON.parse(i.stdout) as Info;
      const ctx = basename(file);
      for (const k of ['events', 'commands', 'doorbells', 'acks', 'faults', 'inferred', 'wraps'] as const)
        expect(row[k], `${ctx} ${k}`).toBe(info[k]);
      expect(asMap(row.by_op as Pairs), ctx).toEqual(info.by_op);
      expect(asMap(row.by_role as Pairs), ctx).toEqual(info.by_role);
      expect(asMap(row.errors as Pairs), ctx).toEqual(info.errors);
      expect(asMap(row.by_origin as Pairs), ctx).toEqual(info.by_origin);
      if (info.entries_per_doorbell === null) expect(row.summary_doorbells).toBe(0);
      else {
        expect(row.min_entries, ctx).toBe(info.entries_per_doorbell.min);
        expect(row.max_entries, ctx).toBe(info.entries_per_doorbell.max);
        expect(row.mean_entries as number, ctx).toBeCloseTo(info.entries_per_doorbell.mean, 2);
      }
    }
  }, 120_000);
});

describe('invtrace sql one-shot', () => {
  let smmu: string;
  beforeAll(() => {
    smmu = traces.find((t) => basename(t) === 'smmuv3-views.arrow')!;
  });

  it('prints bad SQL as one line and exits 2', () => {
    const r = cli('sql', smmu, '-e', 'SELEC 1');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('invtrace: Parser Error: syntax error at or near "SELEC"\n');
  });

  it('names a missing input file', () => {
    const r = cli('sql', join(dir, 'nope.arrow'), '-e', 'SELECT 1');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`invtrace: ${join(dir, 'nope.arrow')}: no such file or folder\n`);
  });

  it('runs a file of statements, then -e, printing each result', () => {
    const f = join(dir, 'q.sql');
    writeFileSync(
      f,
      "-- a view of my own\nCREATE VIEW my_syncs AS SELECT * FROM trace WHERE role = 'sync';\nSELECT count(*) AS syncs FROM my_syncs",
    );
    const r = cli('sql', smmu, '-f', f, '-e', 'SELECT 6 * 7 AS answer;', '--csv');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('syncs\n5\nanswer\n42\n'); // the scenario has 5 CMD_SYNC
  });

  it('exports a query to Parquet with -o and a table to CSV with COPY', () => {
    const pq = join(dir, 'ops.parquet');
    const r = cli('sql', smmu, '-e', "SELECT seq, op, w0 FROM trace WHERE kind = 'cmd' ORDER BY seq", '-o', pq);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`wrote 14 rows to ${pq}\n`);
    const t = tableFromIPC(readParquet(readFileSync(pq)).intoIPCStream());
    expect(t.numRows).toBe(14);
    expect(t.get(0)!.toJSON()).toEqual({ seq: 0, op: 'CMD_TLBI_NH_VA', w0: 0x1000000000012n }); // ASID 1 in DW0[63:48]
    const csv = join(dir, "door's.csv");
    const c = cli('sql', smmu, '-e', `COPY doorbells_batch_sizes TO '${csv.replaceAll("'", "''")}' (FORMAT csv)`);
    expect(c.code).toBe(0);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('file,entries,doorbells');
    expect(lines).toHaveLength(6); // five batch sizes: 0, 2, 3, 4, 5
  });

  it('refuses a COPY to another format in one line', () => {
    const r = cli('sql', smmu, '-e', `COPY trace TO '${join(dir, 'x.json')}'`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^invtrace: COPY exports Parquet or CSV: .*\n$/);
  });
});

describe('invtrace sql REPL', () => {
  it('runs multi-line statements, dot-commands, keeps going after an error and writes history', () => {
    const smmu = traces.find((t) => basename(t) === 'smmuv3-views.arrow')!;
    const hist = join(dir, 'history');
    const input = [
      'SELECT count(*) AS cmds',
      "FROM trace WHERE kind = 'cmd';",
      '.tables',
      'SELEC 1;',
      '.schema doorbells_summary',
      'SELECT 40 + 2 AS answer;',
      '.quit',
      'SELECT 99 AS never;',
      '',
    ].join('\n');
    const r = spawnSync(process.execPath, [CLI, 'sql', smmu], {
      input,
      encoding: 'utf8',
      cwd: ROOT,
      env: { ...process.env, INVTRACE_SQL_HISTORY: hist },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/cmds\n-+\n\s*14\n\(1 row\)/);
    expect(r.stdout).toContain('     ...> '); // the continuation prompt
    expect(r.stdout).toMatch(/smmuv3_views\s+table/);
    expect(r.stdout).toMatch(/doorbells_summary\s+view\s+Per trace: doorbells/);
    expect(r.stdout).toContain('error: Parser Error: syntax error at or near "SELEC"');
    expect(r.stdout).toMatch(/max_entries\s+BIGINT\s+Most entries one doorbell published\./);
    expect(r.stdout).toMatch(/answer\n-+\n\s*42/);
    expect(r.stdout).not.toContain('99');
    expect(readFileSync(hist, 'utf8')).toContain("SELECT count(*) AS cmds FROM trace WHERE kind = 'cmd';\n");
  });
});

describe('invtrace views', () => {
  it('lists every public view with its comment', () => {
    const r = cli('views');
    expect(r.code).toBe(0);
    for (const v of [
      'commands_by_op',
      'commands_by_domain',
      'doorbells_batch_sizes',
      'wraps_summary',
      'epochs_by_completion',
      'fanout_by_iotlb',
      'inv_sizes_histogram',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^  ${v}\\s+\\S`, 'm'));
    }
  });

  it('shows one view with its columns, and JSON', () => {
    const r = cli('views', 'epochs_summary');
    expect(r.stdout).toMatch(/open_commands\s+Commands after the last completion point/);
    const j = JSON.parse(cli('views', 'fanout', '--json').stdout) as { module: string; requires: string[]; views: { name: string }[] };
    expect(j.module).toBe('fanout');
    expect(j.requires).toEqual(['trace']);
    expect(j.views.map((v) => v.name)).toEqual(['fanout_by_iotlb', 'fanout_histogram', 'fanout_summary']);
    expect(cli('views', 'nope').code).toBe(2);
  });
});

describe('invtrace export to Parquet and CSV', () => {
  it('writes every row and column of a trace, uint64 words and dictionary strings intact', () => {
    const vtd = traces.find((t) => basename(t) === 'vtd-views.arrow')!;
    const pq = join(dir, 'vtd.parquet');
    expect(cli('export', vtd, '-o', pq).code).toBe(0);
    const t = tableFromIPC(readParquet(readFileSync(pq)).intoIPCStream());
    expect(t.numRows).toBe(15);
    expect(t.schema.fields.map((f) => f.name).slice(0, 3)).toEqual(['seq', 'kind', 'ts_ns']);
    const first = t.get(3)!.toJSON(); // the PSI iotlb_inv of DID 6 at 0x10000
    expect(first).toMatchObject({ op: 'iotlb_inv', did: 6, range_base: 0x10000n, range_bytes: 4096n });
    const csv = join(dir, 'vtd.csv');
    expect(cli('export', vtd, '-o', csv).code).toBe(0);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(16);
    expect(lines[0]!.startsWith('seq,kind,ts_ns,slot,wrap,w0')).toBe(true);
    expect(lines[4]!.split(',').slice(0, 2)).toEqual(['3', 'cmd']);
  });
});

describe('start-up', () => {
  /**
   * The files and bare packages a module loads before any of its code runs, transitively: the static
   * imports of tsc's ES modules, and the `require`s at the start of a line in the bundle's CommonJS
   * chunks and stubs (a dynamic import there is `Promise.resolve().then(() => require(...))`, inside a line).
   */
  const staticImports = (entry: string) => {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      const esm = text.matchAll(/^\s*import\s+(?!type\b)(?:[^'"]*?from\s+)?['"]([^'"]+)['"]/gm);
      const cjs = text.matchAll(/^(?:(?:const|let|var)\s+[\w$]+\s*=\s*)?require\((['"])([^'"]+)\1\)/gm);
      for (const spec of [...[...esm].map((m) => m[1]!), ...[...cjs].map((m) => m[2]!)]) {
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
        else bare.add(spec);
      }
    };
    visit(entry);
    return { files: [...seen].map((f) => basename(f)), bare: [...bare] };
  };
  const heavy = /duckdb|parquet|apache-arrow|^ink(\/|$)|^react(\/|$)|^react-/;

  it('loads nothing DuckDB-, Arrow-, Parquet-, Ink- or React-related for --help (static imports of tsc output)', () => {
    const { bare } = staticImports(join(ROOT, 'dist/cli/main.js'));
    expect(bare.filter((b) => heavy.test(b))).toEqual([]);
    expect(bare).toContain('commander'); // the walk reached the imports
  });

  it('and neither does the bundled CLI: Arrow is a chunk of its own (rolldown.config.js) that --help never reaches', () => {
    const { files, bare } = staticImports(CLI);
    expect(bare.filter((b) => heavy.test(b))).toEqual([]);
    expect(files.filter((f) => heavy.test(f))).toEqual([]);
    expect(files.length).toBeGreaterThan(3); // the stub, the loader, the entry and its shared chunks: the walk followed them
    expect(bare).toContain('node:module'); // and read the chunks' requires
    // The same walk from the bundled replay worker, which decodes Arrow at once, does reach the chunk.
    expect(staticImports(join(dirname(CLI), 'replay-worker.js')).files.some((f) => /^apache-arrow-.*\.js$/.test(f))).toBe(true);
  });

  it("loads no child_process for --version: commander's require of it is made lazy (rolldown.config.js)", () => {
    const loaded = cliBuiltins('--version');
    expect(loaded).toContain('NativeModule path'); // the list is the one the CLI ran with
    // Nor net or stream: the version goes to the pipe through write(2) (cli/stdio.ts).
    expect(loaded.filter((m) => /child_process|dgram|NativeModule (net|stream)$/.test(m))).toEqual([]);
  });
});
