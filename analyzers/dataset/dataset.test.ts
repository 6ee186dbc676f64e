// The Parquet result dataset: partition values escaped as Spark escapes them and back; a replay of
// scenario (a) under every policy written as table=NAME/trace=.../policy=.../part-0.parquet, read
// back as one table per result table (every row, every column, policy and trace restored from the
// path), and read by native DuckDB with hive_partitioning as one table (when the optional
// @duckdb/node-api is installed).

import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import { ALL_POLICIES } from '../../replay/policies/index.js';
import { runReplay } from '../../replay/run.js';
import { ROOT, tempDir } from '../../test/helpers.js';
import { escapePartition, partPath, unescapePartition } from './layout.js';
import { readDataset } from './read.js';
import { writeDataset } from './write.js';

const dir = tempDir();
const results = join(dir, 'replay');
const root = join(dir, 'dataset');
const TABLES = ['host_ops', 'completions', 'violations', 'summary'];

beforeAll(async () => {
  const trace = join(dir, 'a.arrow');
  await ingest([join(ROOT, 'samples/scenarios/a-vtd-shared-domain-devtlb.jsonl')], { output: trace });
  await runReplay(trace, { policies: ['all'], outDir: results });
  await writeDataset(root, [{ name: 'a-vtd-shared-domain-devtlb', dir: results }]);
});

const arrow = (t: string) => tableFromIPC(readFileSync(join(results, `${t}.arrow`)));

describe('partition values', () => {
  it('escape what a path or a hive reader would misread, and come back', () => {
    expect(escapePartition('linear-batch:split_on_wrap=true,vmm=prepass')).toBe('linear-batch%3Asplit_on_wrap%3Dtrue,vmm%3Dprepass');
    expect(escapePartition('./my policy/x.js')).toBe('.%2Fmy policy%2Fx.js');
    expect(escapePartition('per-command')).toBe('per-command');
    for (const v of ['a:b=c', '100%', 'x/y?z#w']) expect(unescapePartition(escapePartition(v))).toBe(v);
  });
});

describe('a replay written as a dataset', () => {
  it('has one part per table and policy, without the policy column', () => {
    for (const t of TABLES) {
      expect(readdirSync(join(root, `table=${t}`))).toEqual(['trace=a-vtd-shared-domain-devtlb']);
      for (const p of ALL_POLICIES) expect(existsSync(partPath(root, t, 'a-vtd-shared-domain-devtlb', p)), `${t} ${p}`).toBe(true);
    }
    expect(readdirSync(join(root, 'table=summary/trace=a-vtd-shared-domain-devtlb'))).toContain(
      'policy=linear-batch%3Asplit_on_wrap%3Dtrue',
    );
  });

  it('reads back as the same rows, with policy and trace from the path', async () => {
    const d = await readDataset(root);
    try {
      for (const t of TABLES) {
        const orig = arrow(t);
        const back = tableFromIPC(readFileSync(join(d.dir, `${t}.arrow`)));
        expect(back.numRows, t).toBe(orig.numRows);
        expect(back.schema.fields.map((f) => f.name)).toEqual([...orig.schema.fields.map((f) => f.name), 'trace']);
        // Same rows as multisets (the dataset groups them by policy).
        const rows = (x: typeof orig) =>
          x
            .toArray()
            .map((r) => JSON.stringify(Object.fromEntries(orig.schema.fields.map((f) => [f.name, String(r[f.name])]))))
            .sort();
        expect(rows(back)).toEqual(rows(orig));
        expect(new Set(back.getChild('trace')!.toArray() as string[])).toEqual(new Set(back.numRows ? ['a-vtd-shared-domain-devtlb'] : []));
      }
      expect(d.traces).toEqual(['a-vtd-shared-domain-devtlb']);
    } finally {
      rmSync(d.dir, { recursive: true, force: true });
    }
  });

  it('is one table to native DuckDB (hive partitioning)', async () => {
    let duck: typeof import('@duckdb/node-api');
    try {
      duck = await import('@duckdb/node-api');
    } catch {
      return; // the optional dependency is not installed
    }
    const db = await duck.DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const r = await c.runAndReadAll(
      `SELECT policy, trace, count(*)::INTEGER AS n, sum(cost_us)::DOUBLE AS us FROM read_parquet('${root}/table=host_ops/*/*/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY policy`,
    );
    const got = r.getRowObjectsJson() as { policy: string; trace: string; n: number; us: number }[];
    const h = arrow('host_ops');
    const want = new Map<string, { n: number; us: number }>();
    for (const row of h.toArray()) {
      const w = want.get(row.policy) ?? { n: 0, us: 0 };
      want.set(row.policy, { n: w.n + 1, us: w.us + (row.cost_us as number) });
    }
    expect(got.map((x) => x.policy)).toEqual([...want.keys()].sort());
    for (const x of got) {
      expect(x.trace).toBe('a-vtd-shared-domain-devtlb');
      expect(x.n).toBe(want.get(x.policy)!.n);
      expect(x.us).toBeCloseTo(want.get(x.policy)!.us, 6);
    }
    (c as { closeSync?: () => void }).closeSync?.(); // not in every @duckdb/node-api release
  });
});
