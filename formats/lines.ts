// Line-by-line reading of capture files: gzip detected by its magic bytes and inflated on the fly,
// line numbers kept, memory bounded by the chunk size whatever the file size. A truncated or
// corrupt gzip stream becomes an InputFault that names the file and the last good line.

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { InputFault } from './result.js';

export interface Line {
  readonly text: string;
  /** 1-based line number in the (decompressed) file. */
  readonly no: number;
}

export async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** The bytes of a file, inflated when gzip-compressed. */
export async function openText(path: string): Promise<Readable> {
  let gz: boolean;
  try {
    gz = await isGzip(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputFault({ file: path, message: code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message });
  }
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  return gz ? raw.pipe(createGunzip()) : raw;
}

/** Every line of a text file (gzip or not); the final line need not end with a newline. */
export async function* readLines(path: string): AsyncGenerator<Line> {
  const stream = await openText(path);
  let rest = '';
  let no = 0;
  try {
    for await (const chunk of stream) {
      const text = rest + (chunk as Buffer).toString('utf8');
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        yield { text: text.slice(start, end), no: ++no };
        start = nl + 1;
      }
      rest = text.slice(start);
    }
  } catch (e) {
    if (e instanceof InputFault) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === 'Z_BUF_ERROR' || /unexpected end/i.test((e as Error).message)
      ? 'truncated gzip stream'
      : code?.startsWith('Z_') ? `corrupt gzip stream (${(e as Error).message})` : (e as Error).message;
    throw new InputFault({ file: path, line: no, message: `${what} after line ${no}` });
  }
  if (rest.length > 0) yield { text: rest, no: ++no };
}
