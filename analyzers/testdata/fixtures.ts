// Shared by the analyzer tests: the hand-written scenarios ingested into traces, and a check that
// the main thread keeps running while an engine works.

import { join } from 'node:path';
import { expect } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import { ROOT } from '../../test/helpers.js';

/** Ingests analyzers/testdata/NAME.jsonl into DIR/FILE (default NAME.arrow); returns the trace path. */
export async function scenarioTrace(dir: string, name: 'smmuv3-views' | 'vtd-views', file = `${name}.arrow`): Promise<string> {
  const out = join(dir, file);
  await ingest([join(ROOT, 'analyzers/testdata', `${name}.jsonl`)], { output: out });
  return out;
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
