// The thread of a OffThreadFile (off-thread-file.ts): opens the temporary file and writes every slot
// the writer publishes, in order, until the writer ends or aborts; a failure goes back to the writer
// as its message. Loads nothing but node's fs and the ring's loop.

import { closeSync, openSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { settle, writeSlots, type OffThreadData } from './off-thread-ring.js';

const d = workerData as OffThreadData;
const control = new Int32Array(d.control);
let error: unknown;
let fd = -1;
try {
  // The writer created (and truncated) the file; this writes it from its start.
  fd = openSync(d.path, 'r+');
  writeSlots(fd, d);
} catch (e) {
  error = e;
} finally {
  if (fd >= 0) closeSync(fd);
}
settle(control, d.port, error);
d.port.close();
