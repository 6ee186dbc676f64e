// AtomicFile's writes of many chunks at once (`writeAll`, an Arrow batch's buffers in one writev):
// the bytes of the chunks in order, whatever prefix each writev call writes (partial writes end
// inside a chunk, at its end, or on an empty one), IOV_MAX buffers a call at most.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtomicFile, writeChunks } from './atomic.js';

/** Chunks of 0-9 bytes (some empty), each byte its running index mod 251. */
function chunks(count: number): Uint8Array[] {
  let b = 0;
  return Array.from({ length: count }, (_, i) => Uint8Array.from({ length: (i * 7) % 10 }, () => b++ % 251));
}

const concat = (cs: readonly Uint8Array[]) => Buffer.concat(cs.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));

describe('writeChunks', () => {
  it.each([1, 3, 5, 64, 1 << 20])('the chunks in order when each call writes at most %i bytes', (most) => {
    const cs = chunks(2500);
    const out: Buffer[] = [];
    let calls = 0;
    const n = writeChunks((bufs) => {
      calls++;
      expect(bufs.length).toBeLessThanOrEqual(1024);
      let k = 0;
      for (const b of bufs) {
        if (k === most) break;
        const take = Math.min(most - k, b.byteLength);
        out.push(Buffer.from(b.buffer, b.byteOffset, take));
        k += take;
      }
      return k;
    }, cs);
    const want = concat(cs);
    expect(n).toBe(want.length);
    expect(Buffer.concat(out).equals(want)).toBe(true);
    if (most === 1 << 20) expect(calls).toBe(3); // 2,500 chunks: 1,024 + 1,024 + 452
  });
});

describe('AtomicFile.writeAll', () => {
  const dir = mkdtempSync(join(tmpdir(), 'invtrace-atomic-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the chunks after what was written before, and counts the bytes', () => {
    const f = new AtomicFile(join(dir, 'out.bin'));
    const head = Uint8Array.of(1, 2, 3);
    f.write(head);
    const cs = chunks(3000);
    f.writeAll(cs);
    f.commit();
    const want = concat([head, ...cs]);
    expect(f.bytes).toBe(want.length);
    expect(readFileSync(join(dir, 'out.bin')).equals(want)).toBe(true);
  });
});
