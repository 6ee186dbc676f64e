// Starts a background job (jobs/worker.ts) in a worker thread: progress as a callback, the result
// as a promise, and `cancel()` that ends the thread. The worker runs the compiled module in dist/
// (under vitest too: `npm run build` comes first), since a worker thread cannot load TypeScript.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../../../formats/paths.js';
import { InputFault } from '../../../formats/result.js';

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

function workerPath(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? join(packageRoot(), 'dist/cli/tui/jobs/worker.js') : join(here, '../worker.js');
}

export function startJob(spec: JobSpec, onProgress?: (done: number) => void): Job {
  const worker = new Worker(workerPath(), { workerData: spec, stdout: true, stderr: true });
  let settled = false;
  const done = new Promise<unknown>((resolve, reject) => {
    worker.on('message', (m: JobMessage) => {
      if (m.type === 'progress') onProgress?.(m.done);
      else if (m.type === 'done') {
        settled = true;
        resolve(m.value);
      } else {
        settled = true;
        reject(m.input ? new InputFault({ message: m.message }) : new Error(m.message));
      }
    });
    worker.on('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(code === 1 ? 'cancelled' : `job ended with exit code ${code}`));
    });
  });
  done.catch(() => undefined); // the caller decides; no unhandled rejection when it only cancels
  return {
    done,
    async cancel() {
      await worker.terminate();
    },
  };
}
