// Writes one trace file (Arrow IPC file format, `.arrow`) atomically, batch by batch, without
// apache-arrow (formats/arrow/ipc-file-sink.ts). The header may be completed at close (ingest
// learns it late): it is the schema's metadata, which the file holds in its footer only.

import { IpcFileSink } from '../arrow/ipc-file-sink.js';
import type { IpcBatch } from '../arrow/ipc-model.js';
import { toolVersion } from '../paths.js';
import type { BatchSink } from './trace-builder.js';
import type { TraceHeader } from './header.js';
import { traceIpcSchema } from './fields.js';

export class TraceFileWriter implements BatchSink {
  private readonly out: IpcFileSink;
  /** Each batch is written out before `write` returns (IpcFileSink), so its buffers may be reused. */
  readonly takesBuffers = true;

  constructor(
    readonly path: string,
    private readonly header: TraceHeader,
  ) {
    this.out = new IpcFileSink(path);
  }

  get rows(): number {
    return this.out.rows;
  }

  write(batch: IpcBatch): void {
    this.out.write(batch);
  }

  /**
   * Publishes the file, with `finalHeader` (when given) in place of the header the batches were
   * written under: the header is in the footer only, so nothing is copied. Its columns must be the
   * same (a header that changes the schema's fields is an Error).
   */
  async close(finalHeader?: TraceHeader): Promise<void> {
    try {
      this.out.commit(traceIpcSchema(finalHeader ?? this.header));
    } catch (e) {
      this.out.abort();
      throw e;
    }
  }

  abort(): void {
    this.out.abort();
  }
}

/** Stamps the tool version into a header. */
export function withVersion(h: TraceHeader): TraceHeader {
  return { ...h, tool_version: toolVersion() };
}
