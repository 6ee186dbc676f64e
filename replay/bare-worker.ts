// Bare hardware's own thread (bare-thread.ts starts it): replays the trace on bare hardware and
// publishes what the policy runs read from it (bare-facts.ts). Its modules are loaded inside the
// guard, so even a failure to load them reaches the policy side as one message, not a hang. The
// port stays open: a message posted just before the end must still be there to read.

import { workerData } from 'node:worker_threads';
import { FactWriter, RING_FAILED, RingAborted } from './fact-ring.js';
import type { FactMessage } from './bare-facts.js';
import type { BareThreadSpec } from './bare-thread.js';

const spec = workerData as BareThreadSpec;
const out = new FactWriter(spec.ring);
const post = (m: FactMessage) => spec.port.postMessage(m);

try {
  const { replayBare } = await import('./bare-run.js');
  await replayBare(spec, out, post);
} catch (e) {
  // The policy side stopped reading (it failed, or was told to stop): nothing to report.
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
