// Writing behind (write-behind.ts, through AtomicFile.writeBehind): the file holds the pieces in
// order at their offsets whichever way each went (blocking, behind on the pool, blocking while the
// staging buffer is in flight), a piece's buffers may be changed as soon as `write` returns (they
// were copied), views of the shared buffer are written from where they are, a write that fails
// on the pool is thrown by `settled`, and a commit waits for none of it silently.
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtomicFile } from './atomic.js';
import { WriteBehind, advance } from './write-behind.js';

const dir = mkdtempSync(join(tmpdir(), 'invtrace-behind-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `count` chunks of 1-13 bytes, byte values from `seed` on. */
function piece(count: number, seed: number): Uint8Array[] {
  let b = seed;
  return Array.from({ length: count }, (_, i) => Uint8Array.from({ length: 1 + ((i * 5) % 13) }, () => b++ % 256));
}

const concat = (cs: readonly Uint8Array[]) => Buffer.concat(cs.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));

describe('advance', () => {
  it('tells the buffers written whole and the rest of the next', () => {
    const bufs = [new Uint8Array(3), new Uint8Array(0), new Uint8Array(4)];
    expect(advance(bufs, 0)).toEqual({ whole: 0, rest: undefined });
    expect(advance(bufs, 2).whole).toBe(0);
    expect(advance(bufs, 2).rest?.byteLength).toBe(1);
    expect(advance(bufs, 3)).toEqual({ whole: 2, rest: undefined });
    expect(advance(bufs, 5).rest?.byteLength).toBe(2);
    expect(advance(bufs, 7)).toEqual({ whole: 3, rest: undefined });
  });
});

describe('WriteBehind', () => {
  it('writes each piece at its offset, copying it before write returns, whichever way it goes', async () => {
    const path = join(dir, 'pieces.bin');
    const fd = openSync(path, 'w');
    const w = new WriteBehind(fd, 0);
    const shared = new Uint8Array(64).fill(7);
    const want: Buffer[] = [];
    let at = 0;
    const put = (cs: Uint8Array[]) => {
      want.push(concat(cs));
      at += w.write(cs, at, shared.buffer);
      for (const c of cs) if (c.buffer !== shared.buffer) c.fill(0xee); // the caller reuses its buffers at once
    };
    put(piece(300, 1)); // blocking (no staging buffer yet: one is made)
    await w.settled();
    put([...piece(40, 2), shared.subarray(0, 10), ...piece(2000, 3), shared.subarray(5, 64), shared.subarray(0, 0)]); // behind
    put(piece(20, 4)); // blocking: the staging buffer is in flight
    await w.settled();
    put(piece(1500, 5)); // behind again (the staging buffer is reused: smaller)
    await w.settled();
    closeSync(fd);
    expect(w.blocking).toBe(2);
    expect(readFileSync(path).equals(Buffer.concat(want))).toBe(true);
  });

  it('throws a write that failed on the pool from settled, and from the next write', async () => {
    const path = join(dir, 'readonly.bin');
    writeFileSync(path, '');
    const fd = openSync(path, 'r');
    const w = new WriteBehind(fd, 0);
    expect(() => w.write(piece(3, 1), 0)).toThrow(/EBADF/); // blocking: thrown at once
    await w.settled(); // the staging buffer is made
    w.write(piece(3, 1), 0); // behind: fails on the pool
    await expect(w.settled()).rejects.toThrow(/EBADF/);
    expect(() => w.write(piece(3, 1), 0)).toThrow(/EBADF/);
    closeSync(fd);
  });
});

describe('AtomicFile.writeBehind', () => {
  it('puts blocking writes after the pieces behind, and commits once they are done', async () => {
    const f = new AtomicFile(join(dir, 'mixed.bin'));
    const a = piece(5000, 1);
    const b = piece(5000, 2);
    const c = Uint8Array.of(1, 2, 3);
    const want = concat([...a, ...b, c, ...a]);
    f.writeBehind(a); // blocking (small); no staging buffer below 1 MiB
    f.writeBehind(b);
    f.write(c);
    f.writeAll(a);
    await f.settled();
    f.commit();
    expect(f.bytes).toBe(want.length);
    expect(readFileSync(join(dir, 'mixed.bin')).equals(want)).toBe(true);
  });

  it('refuses to commit with writes in flight; an abort removes the file at once', async () => {
    const big = [new Uint8Array(3 << 20).fill(1)];
    const f = new AtomicFile(join(dir, 'busy.bin'));
    f.writeBehind(big); // blocking; the staging buffer is made on the pool
    await f.settled();
    f.writeBehind(big); // behind
    expect(() => f.commit()).toThrow(/writes in flight/);
    f.abort();
    expect(existsSync(f.tmp)).toBe(false);
    expect(existsSync(join(dir, 'busy.bin'))).toBe(false);
  });
});
