// Policies in worker threads write the same bytes as one thread: every result table of a bundled
// scenario with findings of several kinds, under every policy, with 1, 2 and 3 threads (shares of
// 5+4 and 3+3+3 policies, so rows of one event come from several threads and must be merged in
// policy order). The worker runs from dist/ (npm test builds first).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../formats/ingest/ingest.js';
import { tempDir } from '../test/helpers.js';
import { shareFailure, shares } from './parallel.js';
import { replayShare, ShareStopped, type ShareSpec } from './share.js';
import { replayJobs, runReplay } from './run.js';
import { sharesBareThread } from './bare-launch.js';
import { MAX_READERS } from './fact-ring.js';

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

  const trace = join(dir, 'd.arrow');
  beforeAll(async () => {
    await ingest([scenario], { output: trace });
  });

  it("gives the shares bare hardware's thread only when a core is left for it, unless told", () => {
    const cores = availableParallelism();
    expect(sharesBareThread(cores, {})).toBe(false); // a share on every core: each replays bare hardware
    expect(sharesBareThread(cores - 1, {})).toBe(true); // a core left for it
    expect(sharesBareThread(cores + 1, {})).toBe(false);
    expect(sharesBareThread(cores, { bareThread: true })).toBe(true);
    expect(sharesBareThread(2, { bareThread: false })).toBe(false);
    expect(sharesBareThread(MAX_READERS + 1, { bareThread: true })).toBe(false); // the ring has MAX_READERS readers
  });

  it('writes byte-identical tables with 1, 2 and 3 threads, bare hardware in each share or on its thread', async () => {
    const bytes: Record<string, Buffer[]> = {};
    const runs: [string, number, boolean | undefined][] = [
      ['1', 1, undefined],
      ['2', 2, false],
      ['3', 3, false],
      ['2 bare thread', 2, true],
      ['3 bare thread', 3, true],
    ];
    for (const [name, jobs, bareThread] of runs) {
      const out = join(dir, `out-${name.replace(/ /g, '-')}`);
      const r = await runReplay(trace, { policies: ['all'], outDir: out, jobs, ...(bareThread !== undefined ? { bareThread } : {}) });
      expect(r.policies.length).toBe(9);
      // The scenario has findings (raw-ring's prepass runs a VMM command past the illegal one).
      expect(r.policies.some((p) => p.violations > 0)).toBe(true);
      bytes[name] = TABLES.map((t) => readFileSync(join(out, t)));
    }
    for (const [name] of runs.slice(1))
      TABLES.forEach((t, i) => expect(bytes[name]![i]!.equals(bytes['1']![i]!), `${t} with ${name} threads`).toBe(true));
  });

  // A user policy module that passes resolvePolicies' validation call (the first) and fails when
  // the replay makes its instance (every later call): a share that fails as a plugin's bug would.
  const planted = join(dir, 'planted-failure.mjs');
  writeFileSync(
    planted,
    'let calls = 0;\nexport default function planted(variant, name) {\n  if (++calls > 1) throw new Error(`planted failure in ${name}`);\n  return {};\n}\n',
  );
  const share = (index: number, policies: string[], stop: SharedArrayBuffer): ShareSpec => {
    const scratch = join(dir, `share-${index}-${policies.length}`);
    mkdirSync(scratch, { recursive: true });
    return { index, trace, policies, scratch, tables: false, progress: false, stop };
  };

  it('stops a share once another has failed, and records the first failure only', async () => {
    // A share finding the flag set stops after its first trace batch; one finding it clear runs to
    // the end.
    const set = new SharedArrayBuffer(4);
    Atomics.store(new Int32Array(set), 0, 2);
    await expect(replayShare(share(0, ['per-command'], set))).rejects.toBeInstanceOf(ShareStopped);
    expect(Atomics.load(new Int32Array(set), 0)).toBe(2); // a stopped share records nothing
    const clear = new SharedArrayBuffer(4);
    expect((await replayShare(share(0, ['per-command'], clear))).summaries.length).toBe(1);
    expect(Atomics.load(new Int32Array(clear), 0)).toBe(0);
    // A failing share (index 3) records index + 1, unless a failure is recorded already.
    await expect(replayShare(share(3, [planted], clear))).rejects.toThrow(/planted failure/);
    expect(Atomics.load(new Int32Array(clear), 0)).toBe(4);
    await expect(replayShare(share(1, [planted], clear))).rejects.toThrow(/planted failure/);
    expect(Atomics.load(new Int32Array(clear), 0)).toBe(4);
  });

  it('picks the recorded failure over the shares it stopped', () => {
    const stopped = { status: 'rejected', reason: new ShareStopped() } as const;
    const failed = { status: 'rejected', reason: new Error('planted') } as const;
    const ok = { status: 'fulfilled', value: 1 } as const;
    // Share 2 failed first (flag 3) and stopped shares 0 and 1: its error, not share 0's stop.
    expect(shareFailure([stopped, stopped, failed], 3)).toBe(failed);
    // Nothing recorded (a thread that died without a word): the first rejection.
    expect(shareFailure([ok, failed, stopped], 0)).toBe(failed);
    expect(shareFailure([ok, ok], 0)).toBeUndefined();
  });

  it("reports the failing share's error, whichever thread it ran in", async () => {
    // In a worker (share 1 of 2), in the main thread (share 0 of 2), and in the last of 3 shares,
    // the one whose failure stops the other two: never their ShareStopped.
    for (const policies of [
      ['per-command', planted],
      [planted, 'per-command'],
      ['per-command', 'linear-batch', planted],
    ]) {
      const r = runReplay(trace, { policies, jobs: policies.length });
      await expect(r).rejects.toThrow(/planted failure/);
      await expect(r).rejects.not.toThrow(/stopped/);
    }
  });

  it("gives a worker's internal error as one line, its stack kept apart for INVTRACE_DEBUG", async () => {
    // The failing policy is in the worker's share (share 1 of 2). cli/run.ts prints the message
    // and prints the stack only when debugging: a stack inside the message would always be printed.
    // A copy under a name of its own, so this thread's validation call is its first (the tests
    // above have called `planted` here already).
    const fresh = join(dir, 'planted-failure-fresh.mjs');
    copyFileSync(planted, fresh);
    const e = await runReplay(trace, { policies: ['per-command', fresh], jobs: 2 }).then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    expect(e?.message).toMatch(/^replay worker: planted failure in .*planted-failure-fresh\.mjs$/);
    expect(e?.stack).toMatch(/at planted \(.*planted-failure-fresh\.mjs/);
  });
});
