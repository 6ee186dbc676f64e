// The IPC writer of our own (ipc-file-sink.ts) writes the bytes apache-arrow 21's
// RecordBatchFileWriter writes (through file-sink.ts, as the trace files were written before) for
// the same batches: both architectures' trace schemas, a multi-queue one, an empty file, one batch,
// many batches with a short last one, null rows, dictionaries, a header completed at the end, the
// builder's reused buffers; and integer columns of every width beside the trace builder's. The
// comparison notices one field's nullability flipped.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { TraceBuilder } from '../trace/trace-builder.js';
import type { TraceHeader } from '../trace/header.js';
import { traceIpcSchema } from '../trace/fields.js';
import { CauseWatch } from '../trace/cause.js';
import { StringDictionary } from './dictionary.js';
import { ArrowFileSink } from './file-sink.js';
import { IpcFileSink } from './ipc-file-sink.js';
import { I16, I32, I64, U8, U16, U32, U64, type ColumnChunk, type IntType, type IpcBatch, type IpcSchema } from './ipc-model.js';
import { arrowBatch, arrowSchema } from './to-arrow.js';

const dir = tempDir();
let files = 0;

/** The file each writer writes for the batches `feed` builds (handed to both as they come), and the final schema. */
function both(feed: (write: (b: IpcBatch) => void) => void, final: () => IpcSchema, finalOfArrow = final): { ours: Buffer; arrow: Buffer } {
  const a = join(dir, `${files}.ours.arrow`);
  const b = join(dir, `${files++}.arrow.arrow`);
  const ours = new IpcFileSink(a);
  const arrow = new ArrowFileSink(b);
  feed((batch) => {
    ours.write(batch);
    arrow.write(arrowBatch(batch));
  });
  ours.commit(final());
  arrow.commit(arrowSchema(finalOfArrow()));
  return { ours: readFileSync(a), arrow: readFileSync(b) };
}

const smmu: TraceHeader = { invtrace: 1, arch: 'smmuv3', queue_entries: 16, desc_bytes: 16 };
const vtd: TraceHeader = { invtrace: 1, arch: 'vtd', queue_entries: 8, desc_bytes: 32, start: 3 };
const multi: TraceHeader = {
  ...smmu,
  queues: [
    { id: 0, queue_entries: 16, devices: [1] },
    { id: 1, queue_entries: 16, devices: [2] },
  ],
};

/** `rows` events of every kind into a builder of `batchRows` over a sink taking buffers or not. */
function build(header: TraceHeader, rows: number, batchRows: number, takesBuffers: boolean, write: (b: IpcBatch) => void): TraceHeader {
  const b = new TraceBuilder(header, { takesBuffers, write }, batchRows, 'qemu');
  if (header.arch === 'vtd') b.inferCauses(new CauseWatch());
  for (let i = 0; i < rows; i++) {
    const meta = { ts_ns: BigInt(i) * 1000n, cpu: i % 3 === 0 ? undefined : i % 4, queue: header.queues ? i % 2 : 0 };
    if (i % 5 === 4) b.doorbell(i % header.queue_entries, i & 1, meta);
    else if (i % 11 === 10) b.ack(meta);
    else if (i % 13 === 12) b.fault('atc_timeout', 0x100 + i, meta);
    else if (header.arch === 'vtd') b.command(i % 8, [(BigInt(i % 3) << 16n) | 0x32n, BigInt(i % 2) << 12n, 0n, 0n], meta);
    else if (i % 7 === 3) b.command(i % 16, [0x12n | (BigInt(i) << 48n), 0xffn], meta, 0, [0xffn, 0xffffffffffffffffn]);
    else b.command(i % 16, [0x12n | (BigInt(i) << 48n), BigInt(i) << 12n], meta, i & 1);
  }
  b.flush();
  return { ...header, notes: { rows: String(rows), ünïcode: 'é' } };
}

describe('IPC file writer: the bytes of apache-arrow 21', () => {
  const cases: [string, TraceHeader, number, number][] = [
    ['SMMUv3, empty', smmu, 0, 8],
    ['VT-d, empty', vtd, 0, 8],
    ['SMMUv3, one batch', smmu, 7, 64],
    ['VT-d, one batch', vtd, 7, 64],
    ['SMMUv3, many batches, a short last one', smmu, 100, 16],
    ['VT-d, many batches, a short last one', vtd, 100, 16],
    ['SMMUv3, two queues', multi, 40, 16],
    ['SMMUv3, one row a batch', smmu, 5, 1],
  ];
  for (const takesBuffers of [false, true]) {
    it.each(cases)(`%s (${takesBuffers ? 'reused buffers' : 'copies'})`, (_, header, rows, batchRows) => {
      let last = header;
      const { ours, arrow } = both(
        (write) => (last = build(header, rows, batchRows, takesBuffers, write)),
        () => traceIpcSchema(last),
      );
      expect(ours.length).toBe(arrow.length);
      expect(ours.equals(arrow)).toBe(true);
    });
  }

  it('notices one field of the final schema with its nullability flipped', () => {
    let last = smmu;
    const flipped = (): IpcSchema => {
      const s = traceIpcSchema(last);
      return { ...s, fields: s.fields.map((f) => (f.name === 'ts_ns' ? { ...f, nullable: !f.nullable } : f)) };
    };
    // ours with the flip, apache-arrow without it (an empty file: the fields are in the footer only,
    // which the batches' fields need not match): other bytes (a nullable false is omitted, the
    // field's vtable is then shorter)
    const { ours, arrow } = both(
      (write) => (last = build(smmu, 0, 4, true, write)),
      () => flipped(),
      () => traceIpcSchema(last),
    );
    expect(ours.equals(arrow)).toBe(false);
  });

  it('integer columns of every width, with and without nulls, and a dictionary of its own', () => {
    const types: IntType[] = [U8, U16, U32, U64, I16, I32, I64];
    const dict = new StringDictionary(9, ['a', 'bé', '', 'long value']);
    const schema: IpcSchema = {
      fields: [
        ...types.map((type, i) => ({ name: `c${i}`, type, nullable: i % 2 === 0 })),
        { name: 'd', type: I16, nullable: true, dictionary: dict },
        { name: 'e', type: I16, nullable: false, dictionary: dict },
      ],
      metadata: new Map([
        ['k', 'v'],
        ['k2', ''],
      ]),
    };
    const chunk = (t: IntType, n: number, nulls: boolean): ColumnChunk => {
      const values =
        t.bitWidth === 64
          ? t.signed
            ? BigInt64Array.from({ length: n }, (_, i) => BigInt(i) - 5n)
            : BigUint64Array.from({ length: n }, (_, i) => BigInt(i) << 40n)
          : t.bitWidth === 8
            ? Uint8Array.from({ length: n }, (_, i) => i)
            : t.bitWidth === 16
              ? t.signed
                ? Int16Array.from({ length: n }, (_, i) => i % 4)
                : Uint16Array.from({ length: n }, (_, i) => i * 300)
              : t.signed
                ? Int32Array.from({ length: n }, (_, i) => -i)
                : Uint32Array.from({ length: n }, (_, i) => i * 70000);
      if (!nulls) return { length: n, nullCount: 0, nullBitmap: undefined, values };
      const bitmap = new Uint8Array((n + 7) >> 3);
      let valid = 0;
      for (let i = 0; i < n; i++)
        if (i % 3 !== 1) {
          bitmap[i >> 3]! |= 1 << (i & 7);
          valid++;
        }
      return { length: n, nullCount: n - valid, nullBitmap: bitmap, values };
    };
    const { ours, arrow } = both(
      (write) => {
        for (const n of [17, 3, 64]) write({ schema, length: n, columns: schema.fields.map((f) => chunk(f.type, n, f.nullable)) });
      },
      () => schema,
    );
    expect(ours.equals(arrow)).toBe(true);
  });
});
