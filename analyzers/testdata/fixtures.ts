// Shared by the analyzer tests: the hand-written scenarios ingested into traces (and replayed
// into result tables), and a check that the main thread keeps running while an engine works.

import { join } from 'node:path';
import { expect } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import type { ReplayOutput } from '../../replay/replayer.js';
import { runReplay } from '../../replay/run.js';
import { ROOT } from '../../test/helpers.js';

/** Ingests analyzers/testdata/NAME.jsonl into DIR/FILE (default NAME.arrow); returns the trace path. */
export async function scenarioTrace(dir: string, name: 'smmuv3-views' | 'vtd-views', file = `${name}.arrow`): Promise<string> {
  const out = join(dir, file);
  await ingest([join(ROOT, 'analyzers/testdata', `${name}.jsonl`)], { output: out });
  return out;
}

/** A mediation scenario (samples/scenarios/NAME.jsonl) ingested into DIR/NAME.arrow and replayed under every policy into DIR/NAME/. */
export async function replayedScenario(dir: string, name: string): Promise<{ trace: string; results: string; replay: ReplayOutput }> {
  const trace = join(dir, `${name}.arrow`);
  const results = join(dir, name);
  await ingest([join(ROOT, 'samples/scenarios', `${name}.jsonl`)], { output: trace });
  const replay = await runReplay(trace, { policies: ['all'], outDir: results });
  return { trace, results, replay };
}

/**
 * Runs `work` with a 10 ms interval timer and checks the timer kept firing: a blocked event loop
 * would fire it at most once or twice, however long the work took.
 */
export async function expectTimersRunDuring(work: () => Promise<unknown>): Promise<void> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const t0 = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const ms = performance.now() - t0;
  expect(ms).toBeGreaterThan(200); // the work is long enough to matter
  expect(ticks).toBeGreaterThan(ms / 10 / 4);
}
