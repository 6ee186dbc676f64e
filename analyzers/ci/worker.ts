// One CI trace in a worker thread (run.ts, `ci --jobs N`): ingest or generate it, replay it, and
// post back the stages, progress and the trace's run (or one error message).

import { parentPort, workerData } from 'node:worker_threads';
import { InputFault } from '../../formats/result.js';
import { runTrace, type TraceJob, type WorkerMessage } from './run.js';

const port = parentPort!;
const post = (m: WorkerMessage) => port.postMessage(m);
let last = 0;

// In a function: the bundled CLI is CommonJS (rolldown.config.js), which has no top-level await.
void (async () => {
  try {
    const run = await runTrace(workerData as TraceJob, {
      onStage: (_i, _n, _t, stage) => post({ type: 'stage', stage }),
      onProgress: (rows) => {
        const now = Date.now();
        if (now - last < 100) return;
        last = now;
        post({ type: 'progress', rows });
      },
    });
    post({ type: 'done', run });
  } catch (e) {
    post({ type: 'error', message: (e as Error).message, input: e instanceof InputFault });
  }
})();
