// The block line reader at block boundaries: a plain file is read in blocks of 256 KiB, so a line
// that crosses a boundary (and a CRLF whose CR ends one block and LF starts the next) must read the
// same as any other line, with the right numbers, gzip or not.

import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import { LineIndex, readLineChunks, readLines } from './lines.js';

const BLOCK = 1 << 18; // lines.ts BLOCK: bytes per read of a plain file
const dir = tempDir();

/** Lines of `width` bytes (`L<no>` padded with dots), CRLF ends, so that CRs and LFs fall on every offset mod 7. */
function text(count: number, width: number): { body: string; lines: string[] } {
  const lines = Array.from({ length: count }, (_, i) => `L${i + 1}`.padEnd(width, '.'));
  return { body: lines.join('\r\n'), lines };
}

describe('readLineChunks', () => {
  // 7-byte lines + CRLF = 9 bytes per line; 9 does not divide 2^18, so the block boundaries fall
  // inside lines; 40,000 lines = 360,000 bytes: one boundary (at 262,144 = 29,127 x 9 + 1, i.e. one
  // byte into line 29,128, its "L" just before the boundary).
  const { body, lines } = text(40_000, 7);
  it.each([
    ['plain', (p: string) => writeFileSync(p, body)],
    ['gzip', (p: string) => writeFileSync(p, gzipSync(Buffer.from(body)))],
  ])('%s: every line whole and numbered, across the block boundary; no final newline kept as is', async (_kind, write) => {
    const p = join(dir, `blocks-${_kind}.txt`);
    write(p);
    const got: string[] = [];
    let lastNo = 0;
    for await (const l of readLines(p)) {
      expect(l.no).toBe(lastNo + 1);
      lastNo = l.no;
      got.push(l.text);
    }
    expect(got.length).toBe(40_000);
    expect(got).toEqual(lines);
  });

  it('a gzip file of several members (`cat a.gz b.gz`) reads as their text run together, a line split between two members whole', async () => {
    // The 360,000-byte text above cut into three gzip members at byte 100,003 (= 11,111 x 9 + 4:
    // four bytes into line 11,112, "L111" | "12.") and at byte 262,151 (line 29,128 starts at
    // 29,127 x 9 = 262,143: its CR at 262,150 ends the second member, its LF starts the third).
    // A reader that stopped at the first member's end would give 11,112 lines, the last "L111".
    const b = Buffer.from(body);
    const cuts = [0, 100_003, 262_151, b.length];
    const p = join(dir, 'members.txt.gz');
    writeFileSync(p, Buffer.concat(cuts.slice(1).map((end, k) => gzipSync(b.subarray(cuts[k], end)))));
    const got: string[] = [];
    for await (const l of readLines(p)) {
      expect(l.no).toBe(got.length + 1);
      got.push(l.text);
    }
    expect(got).toEqual(lines);
  });

  it('a CRLF split by the boundary: the CR is not part of the line', async () => {
    // Line 1 is BLOCK - 2 bytes, then CR at offset BLOCK - 1 (the last byte of block 1), LF at BLOCK.
    const first = 'x'.repeat(BLOCK - 1);
    const p = join(dir, 'crlf-split.txt');
    writeFileSync(p, `${first}\r\nsecond\r\nthird`);
    const got: { text: string; no: number }[] = [];
    for await (const l of readLines(p)) got.push({ text: l.text, no: l.no });
    expect(got).toEqual([
      { text: first, no: 1 },
      { text: 'second', no: 2 },
      { text: 'third', no: 3 },
    ]);
    // The byte counts of the blocks add up to the file's size.
    let bytes = 0;
    for await (const c of readLineChunks(p)) bytes = c.bytes;
    expect(bytes).toBe(BLOCK - 1 + 2 + 6 + 2 + 5);
  });

  it('reads ahead into two reused buffers: the same lines, even a line over three blocks', async () => {
    // A line of 3 blocks + 10 bytes starts 5 bytes into block 1 and ends in block 4: its first
    // piece sits in buffer A, which block 3 overwrites before the line ends, so it must be copied.
    // Each block is read only after a turn of the event loop, which lets the read ahead land: in
    // the other buffer, not in the block being read.
    const long = `${'a'.repeat(BLOCK)}${'b'.repeat(BLOCK)}${'c'.repeat(BLOCK)}0123456789`;
    const lines = ['head', long, ...text(60_000, 7).lines, 'tail'];
    const p = join(dir, 'blocking.txt');
    writeFileSync(p, lines.join('\n'));
    const read = async (reuse: boolean) => {
      const got: string[] = [];
      let bytes = 0;
      for await (const c of readLineChunks(p, { reuse, block: BLOCK })) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        for (let k = 0; k < c.count; k++) {
          expect(c.firstNo + k).toBe(got.length + 1);
          got.push(c.buf.toString('latin1', c.start[k], c.end[k]));
        }
        bytes = c.bytes;
      }
      return { got, bytes };
    };
    const streamed = await read(false);
    expect(streamed.got).toEqual(lines);
    const blocked = await read(true);
    expect(blocked.got).toEqual(lines);
    expect(blocked.bytes).toBe(streamed.bytes);
  });

  it('a reader that stops early leaves no descriptor open (the read ahead in flight ends first)', async () => {
    const p = join(dir, 'stop-early.txt');
    writeFileSync(p, text(60_000, 7).body);
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 5; i++) {
      for await (const c of readLineChunks(p, { reuse: true, block: 4096 })) if (c.firstNo > 1000) break;
    }
    expect(fds()).toBe(before);
  });

  it.each([
    ['plain, reused', true, false],
    ['plain, streamed', false, false],
    ['gzip', false, true],
  ])('%s in 100-byte blocks: the same lines as in 256 KiB blocks, in blocks of at most 100 bytes', async (_kind, reuse, gz) => {
    // 9-byte lines (7 + CRLF): 100-byte blocks end inside lines and between CR and LF (at 100 =
    // 11 x 9 + 1, one byte into line 12; at 800 = 88 x 9 + 8, between the CR and LF of line 89).
    const { body, lines } = text(3_000, 7);
    const p = join(dir, `small-blocks-${_kind.replace(/\W+/g, '-')}.txt`);
    writeFileSync(p, gz ? gzipSync(Buffer.from(body)) : body);
    const read = async (block: number | undefined) => {
      const got: string[] = [];
      let blocks = 0;
      let bytes = 0;
      let widest = 0;
      for await (const c of readLineChunks(p, { reuse, ...(block !== undefined ? { block } : {}) })) {
        for (let k = 0; k < c.count; k++) got.push(c.buf.toString('latin1', c.start[k], c.end[k]));
        blocks++;
        widest = Math.max(widest, c.bytes - bytes);
        bytes = c.bytes;
      }
      return { got, blocks, bytes, widest };
    };
    const whole = await read(undefined);
    const small = await read(100);
    expect(small.got).toEqual(lines);
    expect(small.got).toEqual(whole.got);
    expect(small.bytes).toBe(whole.bytes);
    // The default reads this 27,000-byte file in one block; 100-byte blocks hand over at most 100
    // bytes at a time (a line joined across blocks counts its own bytes), so at least 270 of them.
    expect(whole.blocks).toBeLessThanOrEqual(2);
    expect(small.widest).toBeLessThanOrEqual(100);
    expect(small.blocks).toBeGreaterThanOrEqual(270);
  });
});

describe('LineIndex', () => {
  it('the lines of a block up to its last newline, a CR before it left out, past the arrays it starts with', () => {
    // 20,000 lines (more than the 16,384 offsets it starts with), every other one ended by CRLF,
    // then a partial line; the first line end is handed in as the caller found it.
    const parts = Array.from({ length: 20_000 }, (_, i) => `l${i}${i % 2 === 0 ? '\r\n' : '\n'}`);
    const buf = Buffer.from(`${parts.join('')}tail`);
    const x = new LineIndex();
    const count = x.lines(buf, 0, buf.indexOf(10));
    expect(count).toBe(20_000);
    const got = Array.from({ length: count }, (_, k) => buf.toString('latin1', x.start[k], x.end[k]));
    expect(got).toEqual(parts.map((p) => p.replace(/\r?\n$/, '')));
    expect(buf.toString('latin1', x.next)).toBe('tail');
    // A block whose lines start later (after a line joined on its own) and whose first line is empty.
    const b2 = Buffer.from('xx\n\nab\r\ncd');
    expect(x.lines(b2, 3, 3)).toBe(2);
    expect([x.start[0], x.end[0], x.start[1], x.end[1], x.next]).toEqual([3, 3, 4, 6, 8]);
  });
});
