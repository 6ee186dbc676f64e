// Policies in worker threads write the same bytes as one thread: every result table of a bundled
// scenario with findings of several kinds, under every policy, with 1, 2 and 3 threads (shares of
// 5+4 and 3+3+3 policies, so rows of one event come from several threads and must be merged in
// policy order). The worker runs from dist/ (npm test builds first).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ingest } from '../formats/ingest/ingest.js';
import { tempDir } from '../test/helpers.js';
import { shares } from './parallel.js';
import { replayJobs, runReplay } from './run.js';

const dir = tempDir();
const scenario = fileURLToPath(new URL('../samples/scenarios/d-smmuv3-illegal-then-vmm-command.jsonl', import.meta.url));
const TABLES = ['host_ops.arrow', 'completions.arrow', 'violations.arrow', 'summary.arrow', 'replay.json'];

describe('parallel replay', () => {
  it('cuts the policies into contiguous shares, as even as can be', () => {
    expect(shares([1, 2, 3, 4, 5, 6, 7, 8, 9], 2)).toEqual([
      [1, 2, 3, 4, 5],
      [6, 7, 8, 9],
    ]);
    expect(shares([1, 2, 3], 5)).toEqual([[1], [2], [3]]);
    expect(shares([1, 2], 1)).toEqual([[1, 2]]);
  });

  it('picks one thread for a small trace or one policy, as asked otherwise', () => {
    expect(replayJobs(scenario, 9)).toBe(1); // a few hundred bytes: below PARALLEL_BYTES
    expect(replayJobs(scenario, 9, 4)).toBe(4);
    expect(replayJobs(scenario, 2, 4)).toBe(2); // never more threads than policies
    expect(replayJobs(scenario, 1, 4)).toBe(1);
  });

  it('writes byte-identical tables with 1, 2 and 3 threads', async () => {
    const trace = join(dir, 'd.arrow');
    await ingest([scenario], { output: trace });
    const bytes: Record<number, Buffer[]> = {};
    for (const jobs of [1, 2, 3]) {
      const out = join(dir, `out-${jobs}`);
      const r = await runReplay(trace, { policies: ['all'], outDir: out, jobs });
      expect(r.policies.length).toBe(9);
      // The scenario has findings (raw-ring's prepass runs a VMM command past the illegal one).
      expect(r.policies.some((p) => p.violations > 0)).toBe(true);
      bytes[jobs] = TABLES.map((t) => readFileSync(join(out, t)));
    }
    for (const jobs of [2, 3])
      TABLES.forEach((t, i) => expect(bytes[jobs]![i]!.equals(bytes[1]![i]!), `${t} with ${jobs} threads`).toBe(true));
  });
});
