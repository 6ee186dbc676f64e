// Bare hardware's thread launched before `replay`/`compare` load the engine: launched exactly when
// runReplay would put bare hardware on a thread of its own (replay/bare-launch.ts: one input that is
// a trace file of PARALLEL_BYTES or more and two cores or more; one reader for the policies in this
// thread, one per share for a parallel run that leaves a core free), and handed over only to a
// replay of that same file.
// The files are sparse: the choice reads only their size, and the thread, never told what to
// replay, is ended by each test.

import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PARALLEL_BYTES } from '../../replay/bare-launch.js';
import { MAX_READERS } from '../../replay/fact-ring.js';
import { bareEarly, bareFor } from './replay-early.js';

const dir = mkdtempSync(join(tmpdir(), 'invtrace-replay-early-'));
const big = join(dir, 'big.arrow');
const small = join(dir, 'small.arrow');
writeFileSync(big, '');
truncateSync(big, PARALLEL_BYTES);
writeFileSync(small, '');
truncateSync(small, PARALLEL_BYTES - 1);
const cores = availableParallelism() >= 2;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bareEarly', () => {
  it('launches for one trace of PARALLEL_BYTES under one policy, and hands it to a replay of that file only', () => {
    const early = bareEarly([big], { policy: 'per-command' });
    expect(early !== undefined).toBe(cores);
    if (early === undefined) return;
    try {
      expect(bareFor(early, big)).toBe(early.launch);
      // Another file (captures ingested elsewhere): not handed over, and ended.
      expect(bareFor(early, join(dir, 'other.arrow'))).toBeUndefined();
      expect(() => early.launch.begin(big, { topology: { devices: [], iommus: [] } } as never)).toThrow(/after its end/);
    } finally {
      early.launch.stop();
    }
  });

  it('launches it for the shares of a parallel run with one reader per share, when a core is left for it', () => {
    // --policy all: nine policies over one thread per core (bare-launch.ts replayJobs): no core is
    // left, so each share replays bare hardware itself (sharesBareThread); with more cores than
    // policies, nine shares are more than the ring's readers (fact-ring.ts MAX_READERS).
    const n = availableParallelism();
    const all = bareEarly([big], { policy: 'all' });
    // --jobs 2: two shares, with a reader each when a third core is free.
    const two = bareEarly([big], { policy: 'all', jobs: 2 });
    expect(MAX_READERS).toBeLessThan(9);
    try {
      expect(all).toBeUndefined();
      expect(two?.launch.readers).toBe(n > 2 ? 2 : undefined);
      expect(bareEarly([big], { policy: 'all', jobs: 1 })).toBeUndefined();
    } finally {
      all?.launch.stop();
      two?.launch.stop();
    }
  });

  it('launches nothing where runReplay would not put bare hardware on a thread beside the policies', () => {
    // Each beside the case above: one byte less, --jobs 1, two inputs, a folder, several VMs.
    expect(bareEarly([small], { policy: 'per-command' })).toBeUndefined();
    expect(bareEarly([big], { policy: 'per-command', jobs: 1 })).toBeUndefined();
    expect(bareEarly([big, big], { policy: 'per-command' })).toBeUndefined();
    expect(bareEarly([dir], { policy: 'per-command' })).toBeUndefined();
    expect(bareEarly([big], { policy: 'per-command', sharedHost: true })).toBeUndefined();
  });
});
