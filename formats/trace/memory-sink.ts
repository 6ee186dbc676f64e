// Collects a builder's batches in memory as apache-arrow RecordBatches (small traces, tests, the
// generator's in-process users). Over the batch's own arrays: the builder hands a sink that does
// not take buffers copies of its columns (formats/arrow/fixed-columns.ts), so they stay intact.

import type { RecordBatch } from 'apache-arrow';
import { arrowBatch } from '../arrow/to-arrow.js';
import type { IpcBatch } from '../arrow/ipc-model.js';
import type { BatchSink } from './trace-builder.js';

export class MemorySink implements BatchSink {
  readonly batches: RecordBatch[] = [];
  write(batch: IpcBatch): void {
    this.batches.push(arrowBatch(batch));
  }
}
