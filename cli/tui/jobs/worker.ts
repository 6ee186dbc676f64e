// The TUI's background jobs, one per worker thread: ingesting a capture and replaying a trace under
// the policies are CPU-bound for seconds, so they run here while the UI thread keeps drawing. The
// parent (jobs.ts) gets progress, then the result or one error message, as messages.

import { parentPort, workerData } from 'node:worker_threads';
import { ingest } from '../../../formats/ingest/ingest.js';
import { InputFault } from '../../../formats/result.js';
import { runReplay } from '../../../replay/run.js';
import type { JobMessage, JobSpec } from './jobs.js';

const port = parentPort!;
const post = (m: JobMessage) => port.postMessage(m);

async function run(job: JobSpec): Promise<unknown> {
  switch (job.kind) {
    case 'ingest':
      return ingest(job.files, { output: job.output });
    case 'replay': {
      let last = 0;
      const out = await runReplay(job.trace, {
        policies: job.policies,
        outDir: job.outDir,
        ...(job.topologyFile ? { topologyFile: job.topologyFile } : {}),
        ...(job.costsFile ? { costsFile: job.costsFile } : {}),
        onProgress: (rows) => {
          const now = Date.now();
          if (now - last < 100) return;
          last = now;
          post({ type: 'progress', done: rows });
        },
      });
      return { policies: out.policies.length };
    }
  }
}

// In a function: the bundled CLI is CommonJS (rolldown.config.js), which has no top-level await.
void (async () => {
  try {
    post({ type: 'done', value: await run(workerData as JobSpec) });
  } catch (e) {
    post({ type: 'error', message: (e as Error).message, input: e instanceof InputFault });
  }
})();
