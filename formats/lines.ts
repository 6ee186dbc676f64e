// Reading capture files line by line: gzip detected by its magic bytes and inflated by a streaming
// pipeline (zlib works on the libuv thread pool, so inflating the next block overlaps parsing this
// one; a plain file read into reused buffers is read ahead on the pool the same way, `reuse`),
// memory bounded by the block size whatever the file size. The bytes are scanned for line ends
// in large blocks: `readLineChunks` hands a reader a whole block of lines at once (byte offsets, no
// string per line), to iterate synchronously; `readLines` gives one string per line on top of it for
// readers that want text. A line longer than a block is gathered piece by piece and joined once, so
// a huge line costs linear time; a line across two blocks is joined on its own (blocks are never
// copied). A truncated or corrupt gzip stream becomes an InputFault that names
// the file and the last good line.

import { closeSync, createReadStream, openSync, read, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { InputFault } from './result.js';

export interface Line {
  readonly text: string;
  /** 1-based line number in the (decompressed) file. */
  readonly no: number;
}

/**
 * A block of whole lines: line k (0-based) is `buf[start[k], end[k])`, line ends (`\n`, and a `\r`
 * before it) excluded; its number in the file is `firstNo + k`. Valid until the next block is asked
 * for (the arrays are reused).
 */
export interface LineChunk {
  readonly buf: Buffer;
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly count: number;
  readonly firstNo: number;
  /** Bytes of the file (decompressed) up to the end of this block. */
  readonly bytes: number;
}

/** Bytes read per block from a plain file; inflated bytes per block from a gzip one. */
const BLOCK = 1 << 18;
/** Bytes per block of a plain file read into reused buffers (`reuse`). */
const REUSED_BLOCK = 1 << 20;

/**
 * Whether a file starts with gzip's magic bytes. Two bytes read without a FileHandle (and without
 * loading node:fs/promises for it): an ingest asks this up to three times before its first line.
 */
export async function isGzip(path: string): Promise<boolean> {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(2);
    const bytesRead = readSync(fd, b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** The bytes of a file, inflated when gzip-compressed, in blocks of about `block` bytes. */
export async function openText(path: string, block = BLOCK): Promise<Readable> {
  let gz: boolean;
  try {
    gz = await isGzip(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputFault({
      file: path,
      message: code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message,
    });
  }
  const raw = createReadStream(path, { highWaterMark: block });
  // zlib is loaded for a gzip file only (a plain one's run never needs it).
  return gz ? raw.pipe((await import('node:zlib')).createGunzip({ chunkSize: block })) : raw;
}

/** `LineIndex`'s warm-up: calls of `lines` on no bytes. */
const WARM_CALLS = 64;
const NO_BYTES = Buffer.alloc(0);

/** Grows an offset array to hold at least `n` entries. */
function room(a: Int32Array, n: number): Int32Array {
  if (a.length >= n) return a;
  const b = new Int32Array(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

/**
 * The line offsets of a block (LineChunk's `start` and `end`, reused from block to block). The loop
 * over a block's line ends is this small method rather than the body of `readLineChunks`: a loop
 * that runs ~2,500 times a block made V8 compile the whole async generator on stack replacement
 * (TurboFan: 20-30 ms of compiler time twice per run, on every ingest; docs/ingest.md "Sixteenth
 * pass"), where this method compiles in a fraction of that.
 */
export class LineIndex {
  start: Int32Array = new Int32Array(1 << 14);
  end: Int32Array = new Int32Array(1 << 14);
  /** After `lines`: where the bytes after the last line end begin. */
  next = 0;

  constructor() {
    // `lines` run with no line end (its loop not entered) until V8 gives it a feedback vector
    // (after a budget of bytecode run, not a number of calls): its loads of `start` and `end` and
    // its store of `next` then have feedback before its first block. Without, its first call ran
    // them before the vector existed, TurboFan compiled `lines` with them as never run, and the
    // code deoptimized at its entry on the next block ("insufficient type feedback") and was
    // compiled again (docs/ingest.md, twenty-second pass; the seventeenth found these first-call deopts).
    for (let i = 0; i < WARM_CALLS; i++) this.lines(NO_BYTES, 0, -1);
  }

  /** One line, `[s, e)`, as the block's only one. */
  one(s: number, e: number): void {
    this.start[0] = s;
    this.end[0] = e;
  }

  /**
   * The lines of `buf` from `s`, whose first line end is at `nl` (>= s), up to its last `\n`
   * (a `\r` before it is not part of a line); returns their count, with `next` after the last.
   */
  lines(buf: Buffer, s: number, nl: number): number {
    let start = this.start;
    let end = this.end;
    let count = 0;
    while (nl >= 0) {
      if (count === start.length) {
        start = this.start = room(start, count + 1);
        end = this.end = room(end, count + 1);
      }
      start[count] = s;
      end[count] = nl > s && buf[nl - 1] === 13 ? nl - 1 : nl;
      count++;
      s = nl + 1;
      nl = buf.indexOf(10, s);
    }
    this.next = s;
    return count;
  }
}

/**
 * The blocks of a plain file read into two buffers used in turn, the next block read ahead on the
 * thread pool while the reader scans this one (a block is valid until the reader asks for the
 * next: the read ahead then fills the other buffer; what `readLineChunks` keeps of a block is a
 * copy). The main thread no longer waits for the kernel's copy of each block (~30-70 ms of the
 * 98.7 MB bench log); 1 MiB blocks (`REUSED_BLOCK`) make ~100 pool round trips of it, which on busy
 * cores cost less than the blocking reads did (docs/ingest.md, nineteenth pass). No fresh buffer
 * per block (allocating and first touching one cost ~80 ms of the log's ~1 s). Each block awaits
 * the pool, so the event loop turns (a signal's handler runs, formats/atomic.ts removeTempsOnSignal).
 */
async function* reusedBlocks(path: string, block: number): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r');
  const bufs = [Buffer.allocUnsafeSlow(block), Buffer.allocUnsafeSlow(block)];
  const readInto = (b: Buffer) =>
    new Promise<number>((resolve, reject) => read(fd, b, 0, block, null, (e, n) => (e ? reject(e) : resolve(n))));
  let next: Promise<number> | undefined = readInto(bufs[0]!);
  try {
    for (let i = 0; ;) {
      const n: number = await next;
      next = undefined;
      if (n === 0) return;
      const b = bufs[i]!;
      i ^= 1;
      // into the buffer of the block before, which the reader is done with
      next = readInto(bufs[i]!);
      yield n === block ? b : b.subarray(0, n);
    }
  } finally {
    // A read still in flight writes into our buffer through this descriptor: it ends first.
    if (next !== undefined) await next.catch(() => 0);
    closeSync(fd);
  }
}

export interface ReadLineOptions {
  /**
   * Read a plain file into two reused buffers, the next block read ahead on the pool (gzip still
   * inflates on the pool into fresh buffers): for a reader that keeps nothing of a block once it
   * asks for the next.
   */
  readonly reuse?: boolean;
  /**
   * Bytes per block (default 256 KiB; 1 MiB for a plain file with `reuse`). Smaller blocks suit a reader whose events wait for another
   * stream's (the guest side of a pair, formats/ingest/ingest.ts): what a block yields lives until
   * the other side catches up, and a smaller block keeps that short of a scavenge.
   */
  readonly block?: number;
}

/** Every line of a text file (gzip or not), a block at a time; the final line need not end with a newline. */
export async function* readLineChunks(path: string, opts: ReadLineOptions = {}): AsyncGenerator<LineChunk> {
  const reuse = opts.reuse === true && !(await isGzip(path).catch(() => true));
  const stream = reuse ? reusedBlocks(path, opts.block ?? REUSED_BLOCK) : await openText(path, opts.block ?? BLOCK);
  /** What is kept of a block past the next one: a copy when the blocks' buffers are reused. */
  const keep = reuse ? (b: Buffer) => Buffer.from(b) : (b: Buffer) => b;
  const index = new LineIndex();
  /** Pieces of the line not yet ended (a long line spans many blocks). */
  let pending: Buffer[] = [];
  let no = 0;
  let bytes = 0;
  try {
    for await (const data of stream) {
      const piece = data as Buffer;
      bytes += piece.length;
      let nl = piece.indexOf(10, 0);
      if (nl < 0) {
        pending.push(keep(piece));
        continue;
      }
      let s = 0;
      if (pending.length > 0) {
        // The line begun in earlier blocks ends here: it is joined on its own (a short copy), and
        // the block is handed over as it is, from the next line on.
        const joined = Buffer.concat([...pending, piece.subarray(0, nl + 1)]);
        pending = [];
        const j = joined.length - 1;
        index.one(0, j > 0 && joined[j - 1] === 13 ? j - 1 : j);
        no++;
        yield { buf: joined, start: index.start, end: index.end, count: 1, firstNo: no, bytes: bytes - (piece.length - nl - 1) };
        s = nl + 1;
        nl = piece.indexOf(10, s);
        if (nl < 0) {
          if (s < piece.length) pending.push(keep(piece.subarray(s)));
          continue;
        }
      }
      const buf = piece;
      const count = index.lines(buf, s, nl);
      s = index.next;
      if (s < buf.length) pending.push(keep(buf.subarray(s)));
      const firstNo = no + 1;
      no += count;
      yield { buf, start: index.start, end: index.end, count, firstNo, bytes: bytes - (buf.length - s) };
    }
  } catch (e) {
    if (e instanceof InputFault) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const what =
      code === 'Z_BUF_ERROR' || /unexpected end/i.test((e as Error).message)
        ? 'truncated gzip stream'
        : code?.startsWith('Z_')
          ? `corrupt gzip stream (${(e as Error).message})`
          : (e as Error).message;
    throw new InputFault({ file: path, line: no, message: `${what} after line ${no}` });
  }
  if (pending.length > 0) {
    // The last line has no newline: kept as it is (a `\r` at its end too).
    const buf = Buffer.concat(pending);
    index.one(0, buf.length);
    yield { buf, start: index.start, end: index.end, count: 1, firstNo: no + 1, bytes };
  }
}

/** Every line of a text file (gzip or not) as a string; the final line need not end with a newline. */
export async function* readLines(path: string): AsyncGenerator<Line> {
  for await (const c of readLineChunks(path)) {
    for (let k = 0; k < c.count; k++) yield { text: c.buf.toString('utf8', c.start[k], c.end[k]), no: c.firstNo + k };
  }
}

/** The lines of a block as strings (for readers that parse text). */
export function chunkLines(c: LineChunk): string[] {
  const out = new Array<string>(c.count);
  for (let k = 0; k < c.count; k++) out[k] = c.buf.toString('utf8', c.start[k], c.end[k]);
  return out;
}
