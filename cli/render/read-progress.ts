// Reading progress of `ingest` on a terminal: one rewritten stderr line with the bytes and lines read
// so far and the rate, `ingest: big.log 412.3 MB, 5,689,112 lines, 96.1 MB/s`. It appears only when
// both stdout and stderr are terminals and the job has run for a moment (small files print nothing),
// and is erased when the job ends, so pipes, scripts and CI logs never see it.

import type { Progress } from '../../formats/ingest/ingest.js';
import { isTerminal, writeErr } from '../stdio.js';

interface Stream {
  readonly isTTY?: boolean;
  write(s: string): unknown;
}

export interface ReadProgress {
  /** Passed to ingest: called after each block of lines read. */
  readonly update: Progress;
  /** Erases the line (if one was drawn). */
  done(): void;
}

const DELAY_MS = 300;
const EVERY_MS = 100;

/**
 * `err` and `out` are the process's stderr and stdout unless given (tests); their streams are made
 * only when both are terminals (cli/stdio.ts: a pipe or a file never needs one).
 */
export function readProgress(err?: Stream, out?: Stream, now: () => number = Date.now): ReadProgress {
  const tty = err === undefined || out === undefined ? isTerminal(2) && isTerminal(1) : err.isTTY === true && out.isTTY === true;
  const draw: Stream = err ?? { write: (s: string) => writeErr(s) };
  const t0 = now();
  let last = 0;
  let drawn = false;
  const files = new Map<string, { bytes: number; lines: number }>();
  return {
    update(file, bytes, lines) {
      if (!tty) return;
      files.set(file, { bytes, lines });
      const t = now();
      if (t - t0 < DELAY_MS || t - last < EVERY_MS) return;
      last = t;
      let b = 0;
      let l = 0;
      for (const f of files.values()) {
        b += f.bytes;
        l += f.lines;
      }
      const name = files.size === 1 ? file.split('/').pop() : `${files.size} files`;
      const rate = b / 1e6 / ((t - t0) / 1000);
      draw.write(`\ringest: ${name} ${(b / 1e6).toFixed(1)} MB, ${l.toLocaleString('en-US')} lines, ${rate.toFixed(1)} MB/s\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) draw.write('\r\x1b[K');
      drawn = false;
    },
  };
}
