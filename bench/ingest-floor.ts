// The floors of the ingest bench (bench/ingest.bench.ts): what node itself takes to go through the
// bench's input once, run as a child process of its own like an ingest (`node ingest-floor.js MODE
// FILE`, prints a count). No ingest can be faster than these in this runtime, so the bench prints
// them beside the goals as the limit of the design:
//   read       the file with blocking reads into one reused 1 MiB buffer, its lines counted with
//              Buffer#indexOf (what formats/lines.ts does to find the lines, without the scanning)
//   read-bytes the same, the newlines counted by a JS loop over every byte
//   inflate    a gzip file inflated by the stream ingest itself reads (formats/lines.ts `openText`: zlib
//              on the libuv pool, 256 KiB reads and output chunks), the bytes counted. Inflating the
//              98.7 MB bench log in-process took 0.29-0.32 s so, as `gzip -dc` does, and 0.44-0.51 s
//              with zlib's default 16 KiB output chunks (this floor's stream until session 14): a
//              floor must run the path ingest runs. The process adds node's start (~0.1 s).

import { closeSync, openSync, readSync } from 'node:fs';
import { openText } from '../formats/lines.js';

const BLOCK = 1 << 20;

/** The file's newlines, read in blocks; `bytes` looks at every byte in JS. */
function countLines(file: string, bytes: boolean): number {
  const fd = openSync(file, 'r');
  const b = Buffer.allocUnsafe(BLOCK);
  let lines = 0;
  try {
    for (let k = readSync(fd, b, 0, BLOCK, null); k > 0; k = readSync(fd, b, 0, BLOCK, null)) {
      if (bytes) {
        for (let i = 0; i < k; i++) if (b[i] === 10) lines++;
      } else for (let p = b.indexOf(10); p >= 0 && p < k; p = b.indexOf(10, p + 1)) lines++;
    }
  } finally {
    closeSync(fd);
  }
  return lines;
}

/** The inflated size of a gzip file, inflated as ingest's stream. */
async function inflatedBytes(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of (await openText(file)) as AsyncIterable<Buffer>) n += chunk.length;
  return n;
}

const [mode, file] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: ingest-floor read|read-bytes|inflate FILE');
if (mode === 'inflate') console.log(await inflatedBytes(file));
else if (mode === 'read' || mode === 'read-bytes') console.log(countLines(file, mode === 'read-bytes'));
else throw new Error(`ingest-floor: unknown mode ${mode}`);
