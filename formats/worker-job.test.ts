// workerJob: the protocol shared by replay's shares, ci's traces and the TUI's jobs, run on tiny
// eval'd workers so each rule is seen on its own: notes reach the caller, `done` settles, an `error`
// is an InputFault only when marked input, and a thread that exits unsettled fails with its message.

import { describe, expect, it } from 'vitest';
import { InputFault } from './result.js';
import { workerJob, workerScript } from './worker-job.js';

type Msg =
  | { readonly type: 'progress'; readonly n: number }
  | { readonly type: 'done'; readonly value: number }
  | { readonly type: 'error'; readonly message: string; readonly input?: boolean | { message: string; line: number } };

const run = (body: string, internal?: (m: string) => string) => {
  const notes: number[] = [];
  const job = workerJob<Msg>(
    `const { parentPort: p } = require('node:worker_threads'); ${body}`,
    { eval: true },
    {
      note: (m) => notes.push(m.n),
      exitMessage: (code) => `exited with ${code}`,
      ...(internal ? { internal } : {}),
    },
  );
  return { job, notes };
};

describe('workerJob', () => {
  it('passes notes on and resolves with the done message', async () => {
    const { job, notes } = run(
      `p.postMessage({ type: 'progress', n: 1 }); p.postMessage({ type: 'progress', n: 2 }); p.postMessage({ type: 'done', value: 42 });`,
    );
    await expect(job.done).resolves.toEqual({ type: 'done', value: 42 });
    expect(notes).toEqual([1, 2]);
  });

  it('an error marked input is an InputFault (with its position); unmarked, an internal error', async () => {
    const bad = run(`p.postMessage({ type: 'error', message: 'x', input: { message: 'bad line', line: 7 } });`);
    const e = await bad.job.done.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputFault);
    expect((e as InputFault).detail.line).toBe(7);
    const flag = run(`p.postMessage({ type: 'error', message: 'bad file', input: true });`);
    await expect(flag.job.done).rejects.toBeInstanceOf(InputFault);
    const bug = run(`p.postMessage({ type: 'error', message: 'boom' });`, (m) => `worker: ${m}`);
    const b = await bug.job.done.catch((x: unknown) => x);
    expect(b).not.toBeInstanceOf(InputFault);
    expect((b as Error).message).toBe('worker: boom');
  });

  it('a thread that exits before done or error fails with its exit message; one that settled does not', async () => {
    await expect(run(`process.exit(3);`).job.done).rejects.toThrow('exited with 3');
    await expect(run(`p.postMessage({ type: 'done', value: 1 }); process.exit(3);`).job.done).resolves.toEqual({ type: 'done', value: 1 });
  });

  it('terminate ends a running, unsettled job with the exit message (Node ends a terminated thread with 1)', async () => {
    const { job, notes } = run(`p.postMessage({ type: 'progress', n: 1 }); setInterval(() => {}, 1000);`);
    while (notes.length === 0) await new Promise((r) => setTimeout(r, 5));
    await job.terminate();
    await expect(job.done).rejects.toThrow(/^exited with 1$/);
  });

  it('finds the compiled worker beside a compiled caller, and under dist/ for a TypeScript one', () => {
    expect(workerScript('file:///x/dist/replay/parallel.js', 'replay/worker.js')).toBe('/x/dist/replay/worker.js');
    expect(workerScript('file:///x/replay/parallel.ts', 'replay/worker.js')).toMatch(/\/dist\/replay\/worker\.js$/);
  });

  it('finds the bundled worker beside a chunk of the bundled CLI (dist/bin/), by its path with - for /', () => {
    expect(workerScript('file:///x/dist/bin/parallel-a1b2.js', 'replay/worker.js')).toBe('/x/dist/bin/replay-worker.js');
    expect(workerScript('file:///x/dist/bin/invtrace.js', 'cli/tui/jobs/worker.js')).toBe('/x/dist/bin/cli-tui-jobs-worker.js');
    // A folder that only starts like the bundle's is tsc's layout: the worker's own name beside the caller.
    expect(workerScript('file:///x/dist/binx/run.js', 'analyzers/ci/worker.js')).toBe('/x/dist/binx/worker.js');
  });
});
