// AtomicFile's writes of many chunks at once (`writeAll`, an Arrow batch's buffers in one writev):
// the bytes of the chunks in order, whatever prefix each writev call writes (partial writes end
// inside a chunk, at its end, or on an empty one), IOV_MAX buffers a call at most; and the holes
// left for long runs of buffers that hold only zeros (the same bytes, fewer blocks on disk); and a
// target that is a pipe or a device, written in place rather than replaced by a renamed file.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtomicFile, allZero, HOLE_MIN, writeChunks, writeFileAtomic } from './atomic.js';

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

describe('AtomicFile.writeAll with holes allowed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'invtrace-holes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** 512-byte blocks the file takes on disk (after the data is on its way: `stat` counts delayed allocation too). */
  const blocks = (f: string) => statSync(f).blocks;
  const zero = new ArrayBuffer(HOLE_MIN);
  const data = (n: number, v: number) => new Uint8Array(n).fill(v);
  /** HOLE_MIN of zeros as two views of `zero` (a run of chunks), between data. */
  const pieces = (z: ArrayBuffer) => [data(4096, 1), new Uint8Array(z, 0, HOLE_MIN / 2), new Uint8Array(z, 0, HOLE_MIN / 2), data(4096, 2)];

  it('leaves a hole for a run of HOLE_MIN zero bytes, and the file reads the same', () => {
    const [a, b] = [join(dir, 'hole.bin'), join(dir, 'flat.bin')];
    const f = new AtomicFile(a);
    f.writeAll(pieces(zero), zero);
    f.commit();
    // The same chunks, written by a caller that does not allow holes (no `zero`): written out.
    const g = new AtomicFile(b);
    g.writeAll(pieces(zero));
    g.commit();
    const want = concat(pieces(zero));
    expect(f.bytes).toBe(want.length);
    expect(readFileSync(a).equals(want)).toBe(true);
    expect(readFileSync(b).equals(want)).toBe(true);
    // 4 KiB + 64 KiB + 4 KiB: the hole spares the 64 KiB (128 blocks) that the flat file holds.
    expect(blocks(b) - blocks(a)).toBeGreaterThanOrEqual(128);
  });

  it('leaves a hole for chunks of their own that hold only zeros, not for one with a byte set', () => {
    const [a, b] = [join(dir, 'own.bin'), join(dir, 'set.bin')];
    // The zeros in buffers of their own (a column whose every row is 0), not views of `zero`.
    const own = () => [data(4096, 1), new Uint8Array(HOLE_MIN / 2), new Uint8Array(HOLE_MIN / 2), data(4096, 2)];
    const f = new AtomicFile(a);
    f.writeAll(own(), zero);
    f.commit();
    // The same, but the second zero chunk's last byte is 1: the run is HOLE_MIN / 2 and written.
    const set = own();
    set[2]![HOLE_MIN / 2 - 1] = 1;
    const g = new AtomicFile(b);
    g.writeAll(set, zero);
    g.commit();
    expect(readFileSync(a).equals(concat(own()))).toBe(true);
    expect(readFileSync(b).equals(concat(set))).toBe(true);
    expect(blocks(b) - blocks(a)).toBeGreaterThanOrEqual(128);
    // allZero compares past its 64 KiB of zeros, and sees the last byte of a longer chunk.
    const long = new Uint8Array(3 * HOLE_MIN + 5);
    expect(allZero(long)).toBe(true);
    long[long.length - 1] = 1;
    expect(allZero(long)).toBe(false);
    expect(allZero(new Uint8Array(0))).toBe(true);
  });

  it('writes a shorter run of zeros, and a run at the end sets the length', () => {
    const [a, b] = [join(dir, 'short.bin'), join(dir, 'tail.bin')];
    const short = new AtomicFile(a);
    short.writeAll([data(10, 3), new Uint8Array(zero, 0, HOLE_MIN - 1), data(10, 4)], zero);
    short.commit();
    expect(readFileSync(a).equals(concat([data(10, 3), new Uint8Array(HOLE_MIN - 1), data(10, 4)]))).toBe(true);
    // Under HOLE_MIN: written, so every page of the file is on disk (8 KiB + 8 KiB + ... ).
    expect(blocks(a)).toBeGreaterThanOrEqual(Math.floor((HOLE_MIN + 19) / 512));
    const tail = new AtomicFile(b);
    tail.write(data(7, 5));
    tail.writeAll([new Uint8Array(zero)], zero);
    tail.commit();
    expect(statSync(b).size).toBe(7 + HOLE_MIN);
    expect(readFileSync(b).equals(concat([data(7, 5), new Uint8Array(HOLE_MIN)]))).toBe(true);
    expect(blocks(b)).toBeLessThan(HOLE_MIN / 512);
  });
});

describe('a target that is not a regular file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'invtrace-fifo-'));
  const cats: ChildProcess[] = [];
  afterAll(() => {
    // A cat still waiting (a write that went elsewhere) would wait for ever.
    for (const c of cats) c.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  /**
   * A FIFO in `dir` and a `cat` copying what comes through it into a file; `done` resolves to those
   * bytes once the writer has closed it (cat drains the pipe, so writes of more than its 64 KiB go on).
   */
  const fifo = (name: string) => {
    const path = join(dir, name);
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    const copy = join(dir, `${name}.copy`);
    const out = openSync(copy, 'w');
    const cat = spawn('cat', [path], { stdio: ['ignore', out, 'inherit'] });
    cats.push(cat);
    closeSync(out);
    const done = new Promise<Buffer>((resolve) => cat.on('exit', () => resolve(readFileSync(copy))));
    return { path, done };
  };

  it('is written in place, in order and without holes: a FIFO stays a FIFO', async () => {
    const { path, done } = fifo('out.arrow');
    const zero = new ArrayBuffer(HOLE_MIN);
    const f = new AtomicFile(path);
    expect(f.direct).toBe(true);
    f.write(Uint8Array.of(1, 2, 3));
    f.writeAll([new Uint8Array(zero), Uint8Array.of(4)], zero);
    f.commit();
    // Renamed over, the path would be a regular file holding the bytes, and nothing would come through the pipe.
    expect(statSync(path).isFIFO()).toBe(true);
    expect((await done).equals(concat([Uint8Array.of(1, 2, 3), new Uint8Array(HOLE_MIN), Uint8Array.of(4)]))).toBe(true);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('writeFileAtomic and abort leave it in place too; a regular file is still replaced by a rename', async () => {
    const a = fifo('a.json');
    writeFileAtomic(a.path, 'x');
    expect(statSync(a.path).isFIFO()).toBe(true);
    expect((await a.done).toString()).toBe('x');
    const b = fifo('b.json');
    const f = new AtomicFile(b.path);
    f.write(Buffer.from('partial'));
    f.abort();
    expect(statSync(b.path).isFIFO()).toBe(true);
    expect((await b.done).toString()).toBe('partial');
    const plain = join(dir, 'plain.txt');
    writeFileSync(plain, 'old');
    const g = new AtomicFile(plain);
    expect(g.direct).toBe(false);
    g.write(Buffer.from('new'));
    g.commit();
    expect(statSync(plain).isFile()).toBe(true);
    expect(readFileSync(plain, 'utf8')).toBe('new');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
