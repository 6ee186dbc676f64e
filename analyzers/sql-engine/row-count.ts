// The row count of an Arrow IPC *file* from its metadata alone: the footer lists every record
// batch's block, and each block's message header carries the batch's length. A few hundred bytes
// are read per batch and no column data, so a session knows a file's rows before copying any of
// its columns into duckdb-wasm (attach.ts). Arrow streams have no footer: undefined (count by reading).

import { open } from 'node:fs/promises';
import { Message, MessageHeader, RecordBatchReader } from 'apache-arrow';

/** The rows of the Arrow file at `path`, from its footer and batch headers; undefined for a stream or anything unexpected. */
export async function footerRows(path: string): Promise<number | undefined> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (fh === undefined) return undefined;
  try {
    const reader = await RecordBatchReader.from(fh);
    await reader.open();
    if (!reader.isFile() || reader.footer === null) return undefined;
    let rows = 0;
    for (const block of reader.footer.recordBatches()) {
      const meta = Buffer.alloc(block.metaDataLength);
      const { bytesRead } = await fh.read(meta, 0, meta.length, block.offset);
      if (bytesRead !== meta.length) return undefined;
      // An encapsulated message: [0xFFFFFFFF continuation], int32 flatbuffer length, flatbuffer (Arrow format: IPC).
      const skip = meta.readInt32LE(0) === -1 ? 8 : 4;
      const msg = Message.decode(meta.subarray(skip));
      if (msg.headerType !== MessageHeader.RecordBatch) return undefined;
      rows += Number((msg.header() as unknown as { length: number | bigint }).length);
    }
    return rows;
  } catch {
    return undefined;
  } finally {
    await fh.close().catch(() => undefined);
  }
}
