// Bare hardware's thread launched before `replay`/`compare` load the engine: launched exactly when
// runReplay would run one policy set in this thread with bare hardware beside it on its own thread
// (replay/bare-launch.ts: one input that is a trace file of PARALLEL_BYTES or more, the policies in
// one thread, two cores or more), and handed over only to a replay of that same file.
// The files are sparse: the choice reads only their size, and the thread, never told what to
// replay, is ended by each test.

import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PARALLEL_BYTES } from '../../replay/bare-launch.js';
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

  it('launches nothing where runReplay would not put bare hardware on a thread beside the policies', () => {
    // Each beside the case above: one byte less, nine policies (shares, with a thread of their own), --jobs 1,
    // two inputs, a folder-like name, several VMs.
    expect(bareEarly([small], { policy: 'per-command' })).toBeUndefined();
    expect(bareEarly([big], { policy: 'all' })).toBeUndefined();
    expect(bareEarly([big], { policy: 'per-command', jobs: 1 })).toBeUndefined();
    expect(bareEarly([big, big], { policy: 'per-command' })).toBeUndefined();
    expect(bareEarly([dir], { policy: 'per-command' })).toBeUndefined();
    expect(bareEarly([big], { policy: 'per-command', sharedHost: true })).toBeUndefined();
  });
});
