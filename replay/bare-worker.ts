// Bare hardware's own thread (bare-thread.ts launches it): loads its modules at once, waits to be
// told which trace to replay, replays it on bare hardware and publishes what the policy runs read
// from it (bare-facts.ts). Its modules are loaded inside the guard, so even a failure to load them
// reaches the policy side as one message, not a hang. The port stays open: a message posted just
// before the end must still be there to read.

import { once } from 'node:events';
import { workerData } from 'node:worker_threads';
import { FactWriter, RING_FAILED, RingAborted } from './fact-ring.js';
import type { FactMessage } from './bare-facts.js';
import type { BareThreadData, BareThreadSpec } from './bare-launch.js';

const data = workerData as BareThreadData;
const out = new FactWriter(data.ring);
// Every reader gets every message, on its own port.
const post = (m: FactMessage) => {
  for (const p of data.ports) p.postMessage(m);
};

// In a function: the bundled CLI is CommonJS (rolldown.config.js), which has no top-level await.
void (async () => {
  try {
    const loading = import('./bare-run.js');
    const [spec] = (await once(data.ports[0]!, 'message')) as [BareThreadSpec];
    const { replayBare } = await loading;
    await replayBare(spec, out, post);
  } catch (e) {
    // A reader stopped (its policies failed): nothing to report.
    if (!(e instanceof RingAborted)) {
      const { InputFault } = await import('../formats/result.js');
      post(
        e instanceof InputFault
          ? { type: 'fail', input: e.detail }
          : { type: 'fail', message: (e instanceof Error ? e.message : String(e)).split('\n')[0]! },
      );
      out.close(RING_FAILED);
    }
  }
})();
