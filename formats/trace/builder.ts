// The trace builder (formats/trace/trace-builder.ts) with apache-arrow's view of what it builds, for
// in-process users and tests: its Schema, and the MemorySink that keeps its batches as
// RecordBatches. The ingest path imports trace-builder.ts itself and does not load apache-arrow.

import type { Schema } from 'apache-arrow';
import { arrowSchema } from '../arrow/to-arrow.js';
import { TraceBuilder as PlainTraceBuilder } from './trace-builder.js';

export type { BatchSink, CauseSource, EventMeta } from './trace-builder.js';
export { MemorySink } from './memory-sink.js';

export class TraceBuilder extends PlainTraceBuilder {
  /** The trace's apache-arrow Schema (the one its MemorySink batches carry). */
  get schema(): Schema {
    return arrowSchema(this.ipcSchema);
  }
}
