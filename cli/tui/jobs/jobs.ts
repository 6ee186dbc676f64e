// Starts a background job (jobs/worker.ts) in a worker thread: progress as a callback, the result
// as a promise, and `cancel()` that ends the thread. The worker runs the compiled module in dist/
// (under vitest too: `npm run build` comes first), since a worker thread cannot load TypeScript.

import { workerJob, workerScript } from '../../../formats/worker-job.js';

export type JobSpec =
  | { readonly kind: 'ingest'; readonly files: readonly string[]; readonly output: string }
  | {
      readonly kind: 'replay';
      readonly trace: string;
      readonly policies: readonly string[];
      readonly outDir: string;
      readonly topologyFile?: string;
      readonly costsFile?: string;
    };

export type JobMessage =
  | { readonly type: 'progress'; readonly done: number }
  | { readonly type: 'done'; readonly value: unknown }
  | { readonly type: 'error'; readonly message: string; readonly input: boolean };

export interface Job {
  readonly done: Promise<unknown>;
  cancel(): Promise<void>;
}

export function startJob(spec: JobSpec, onProgress?: (done: number) => void): Job {
  const job = workerJob<JobMessage>(
    workerScript(import.meta.url, 'cli/tui/jobs/worker.js'),
    { workerData: spec, stdout: true, stderr: true },
    {
      note: (m) => onProgress?.(m.done),
      exitMessage: (code) => (code === 1 ? 'cancelled' : `job ended with exit code ${code}`),
    },
  );
  const done = job.done.then((m) => m.value);
  done.catch(() => undefined); // the caller decides; no unhandled rejection when it only cancels
  return {
    done,
    async cancel() {
      await job.terminate();
    },
  };
}
