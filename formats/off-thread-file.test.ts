// OffThreadFile: the file holds the chunks' bytes in order whatever their sizes against the slots
// (a chunk inside a slot, across slot ends, larger than a slot, larger than the whole ring, empty),
// with the writer waiting on a full ring; a file under one slot starts no thread; nothing is in
// place before `commit` and nothing is left by `abort`; a write the thread cannot make is the
// writer's Error at `commit`, and the same file with its temporary in place commits.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import { OffThreadFile } from './off-thread-file.js';

const dir = tempDir();

/** `count` chunks of 0..max-1 bytes (sizes cycling through primes), each byte its running index mod 251. */
function chunks(count: number, max: number): Uint8Array[] {
  let b = 0;
  return Array.from({ length: count }, (_, i) => Uint8Array.from({ length: (i * 7919) % max }, () => b++ % 251));
}
const concat = (cs: readonly Uint8Array[]) => Buffer.concat(cs.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));

describe('OffThreadFile', () => {
  // 2 slots of 64 bytes: chunks up to 999 bytes span many slots and the whole ring (128 bytes)
  // many times over, so the writer waits for the thread again and again.
  it.each([
    ['small chunks', 3000, 50],
    ['chunks larger than the ring', 400, 1000],
  ])('writes %s in order through a thread', (_, count, max) => {
    const path = join(dir, `out-${count}.bin`);
    const f = new OffThreadFile(path, { slots: 2, slotBytes: 64 });
    const cs = chunks(count, max);
    f.writeAll(cs.slice(0, count / 2));
    for (const c of cs.slice(count / 2)) f.write(c);
    expect(f.threaded).toBe(true);
    expect(existsSync(path)).toBe(false);
    f.commit();
    const want = concat(cs);
    expect(f.bytes).toBe(want.length);
    expect(readFileSync(path).equals(want)).toBe(true);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('starts no thread for a file under one slot', () => {
    const path = join(dir, 'small.bin');
    const f = new OffThreadFile(path, { slots: 2, slotBytes: 64 });
    f.write(Uint8Array.from({ length: 64 }, (_, i) => i));
    // 64 bytes fill the slot; only the next byte would hand it over.
    expect(f.threaded).toBe(false);
    f.commit();
    expect([...readFileSync(path)]).toEqual(Array.from({ length: 64 }, (_, i) => i));
  });

  it('hands the slot over at the first byte past it', () => {
    const f = new OffThreadFile(join(dir, 'past.bin'), { slots: 2, slotBytes: 64 });
    f.write(new Uint8Array(65));
    expect(f.threaded).toBe(true);
    f.abort();
  });

  it('leaves nothing behind when aborted', () => {
    const path = join(dir, 'aborted.bin');
    const f = new OffThreadFile(path, { slots: 2, slotBytes: 64 });
    f.writeAll(chunks(200, 50));
    f.abort();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(f.file.tmp)).toBe(false);
    expect(() => f.write(new Uint8Array(1))).toThrow(/write after close/);
  });

  it.each([
    ['fails at commit when the thread cannot open its file', true],
    ['commits the same writes when it can', false],
  ])('%s', (_, removed) => {
    const path = join(dir, `fail-${removed}.bin`);
    const f = new OffThreadFile(path, { slots: 2, slotBytes: 64 });
    // The thread opens the temporary file when it starts, at the first full slot. The writer sees
    // its failure when it next waits: for a free slot (~2,500 bytes into 128) or at commit.
    if (removed) rmSync(f.file.tmp);
    const write = () => {
      f.writeAll(chunks(100, 50));
      f.commit();
    };
    if (removed) {
      expect(write).toThrow(`${path}: ENOENT: no such file or directory`);
      f.abort();
      expect(existsSync(path)).toBe(false);
    } else {
      write();
      expect(readFileSync(path).length).toBe(f.bytes);
    }
  });
});
