// One worker thread of a parallel replay (parallel.ts): replays its share of the policies
// (share.ts) and posts progress and the summaries back as messages.

import { parentPort, workerData } from 'node:worker_threads';
import { InputFault } from '../formats/result.js';
import { replayShare, type ShareMessage, type ShareSpec } from './share.js';

const port = parentPort!;
const post = (m: ShareMessage) => port.postMessage(m);

// In a function: the bundled CLI is CommonJS (rolldown.config.js), which has no top-level await.
void (async () => {
  try {
    const spec = workerData as ShareSpec;
    post(await replayShare(spec, spec.progress ? (rows) => post({ type: 'progress', rows }) : undefined));
  } catch (e) {
    // The message alone is what users see; the stack rides along for INVTRACE_DEBUG (cli/run.ts).
    const err = e as Error | null | undefined;
    post(
      e instanceof InputFault
        ? { type: 'error', input: e.detail }
        : { type: 'error', message: err?.message ?? String(e), stack: err?.stack },
    );
  }
})();
