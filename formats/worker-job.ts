// One worker thread run as a job, the protocol every background job of invtrace speaks: the worker
// posts notes (progress, stages) and then exactly one `done` or `error`; the job is a promise that
// settles once. An `error` marked `input` is bad input (an InputFault: exit 2), any other an internal
// error; a thread that exits before settling fails the job. Used by replay's policy shares
// (replay/parallel.ts), ci's traces (analyzers/ci/run.ts) and the TUI's jobs (cli/tui/jobs/jobs.ts).

import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkerOptions } from 'node:worker_threads';
import { packageRoot } from './paths.js';
import { InputFault, type InputError } from './result.js';

/** A job's failure message: `input` marks bad input (true, or where it is). */
export interface JobError {
  readonly type: 'error';
  readonly message?: string;
  /** The worker's stack of an internal error: kept on the error, printed only with INVTRACE_DEBUG (cli/run.ts). */
  readonly stack?: string;
  readonly input?: boolean | InputError;
}

export interface WorkerJob<D> {
  /** The worker's `done` message, or the job's failure. */
  readonly done: Promise<D>;
  /** Ends the thread; a job not settled yet then fails with its exit message. */
  terminate(): Promise<number>;
}

export interface WorkerJobHandlers<N> {
  /** Every message other than `done` and `error`. */
  readonly note?: (m: N) => void;
  /** The failure of a thread that exited (or was terminated) before settling. */
  readonly exitMessage: (code: number) => string;
  /** The message of an internal error, from the worker's own (default: as it is). */
  readonly internal?: (message: string) => string;
}

/**
 * Every worker thread's module, as its path under dist/. The bundled CLI (rolldown.config.js) makes
 * each an entry of its own, named by `bundledWorker`.
 */
export const WORKER_SCRIPTS = [
  'replay/worker.js',
  'replay/bare-worker.js',
  'analyzers/ci/worker.js',
  'cli/tui/jobs/worker.js',
  'formats/ingest/qemu-worker.js',
] as const;
export type WorkerScript = (typeof WORKER_SCRIPTS)[number];

/** The bundle's file name for a worker module: its path with `-` for `/` (`replay-worker.js`). */
export const bundledWorker = (rel: WorkerScript): string => rel.replaceAll('/', '-');

/** The folder under dist/ that holds the bundled CLI: its entry, its workers and their shared chunks. */
export const BUNDLE_DIR = 'bin';

/**
 * The worker module for a caller at `callerUrl`: `rel` under dist/ when the caller runs as TypeScript
 * (vitest; `npm run build` comes first, since a worker thread cannot load TypeScript); the bundled
 * worker beside it when the caller is a chunk of the bundled CLI (dist/bin/); otherwise (tsc's
 * output, one module per file) the compiled module beside the caller.
 */
export function workerScript(callerUrl: string, rel: WorkerScript): string {
  const here = fileURLToPath(callerUrl);
  if (here.endsWith('.ts')) return join(packageRoot(), 'dist', rel);
  const dir = dirname(here);
  return basename(dir) === BUNDLE_DIR ? join(dir, bundledWorker(rel)) : join(dir, basename(rel));
}

export function workerJob<M extends { readonly type: string }>(
  script: string,
  options: WorkerOptions,
  on: WorkerJobHandlers<Exclude<M, { readonly type: 'done' | 'error' }>>,
): WorkerJob<Extract<M, { readonly type: 'done' }>> {
  type Done = Extract<M, { readonly type: 'done' }>;
  type Note = Exclude<M, { readonly type: 'done' | 'error' }>;
  // Loaded here, not at import: a command that makes no worker (a plain ingest) skips the module (~11 M
  // instructions). `workerJob` is synchronous, so it is required, not imported.
  const { Worker } = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
  const worker = new Worker(script, options);
  let settled = false;
  const done = new Promise<Done>((resolve, reject) => {
    worker.on('message', (m: M) => {
      if (m.type === 'done') {
        settled = true;
        resolve(m as Done);
      } else if (m.type === 'error') {
        settled = true;
        reject(jobFault(m as unknown as JobError, on.internal));
      } else on.note?.(m as Note);
    });
    worker.on('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(on.exitMessage(code)));
    });
  });
  return { done, terminate: () => worker.terminate() };
}

function jobFault(m: JobError, internal?: (message: string) => string): Error {
  const message = m.message ?? '';
  if (m.input === undefined || m.input === false) {
    const e = new Error(internal ? internal(message) : message);
    if (m.stack !== undefined) e.stack = m.stack;
    return e;
  }
  return new InputFault(m.input === true ? { message } : m.input);
}
