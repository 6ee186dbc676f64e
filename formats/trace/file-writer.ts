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
  /** A batch's buffers may be reused once `write` returns (IpcFileSink copies what it writes behind). */
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

  /** A staging buffer for batches of `rows` rows, made on the thread pool while they are built. */
  expectRows(rows: number): void {
    this.out.expectRows(traceIpcSchema(this.header), rows);
  }

  /**
   * Publishes the file, with `finalHeader` (when given) in place of the header the batches were
   * written under: the header is in the footer only, so nothing is copied. Its columns must be the
   * same (a header that changes the schema's fields is an Error).
   */
  async close(finalHeader?: TraceHeader): Promise<void> {
    try {
      await this.out.commit(traceIpcSchema(finalHeader ?? this.header));
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
