// Ingest's reading progress: drawn on a terminal only (stdout and stderr both TTYs), after a
// moment, throttled, and erased at the end.
import { describe, expect, it } from 'vitest';
import { readProgress } from './read-progress.js';

const stream = (isTTY: boolean) => {
  const seen: string[] = [];
  return { isTTY, write: (s: string) => seen.push(s), seen };
};

describe('ingest reading progress', () => {
  it('on a terminal: bytes, lines and rate after 300 ms, then erased', () => {
    const err = stream(true);
    let t = 1000;
    const p = readProgress(err, stream(true), () => t);
    p.update('/x/big.log', 1e6, 10_000); // at once: nothing yet (small files print nothing)
    expect(err.seen).toEqual([]);
    t = 3000; // 2 s in: 50 MB read = 25 MB/s
    p.update('/x/big.log', 50e6, 700_000);
    expect(err.seen).toEqual(['\ringest: big.log 50.0 MB, 700,000 lines, 25.0 MB/s\x1b[K']);
    t = 3050; // within 100 ms of the last line: not redrawn
    p.update('/x/big.log', 51e6, 710_000);
    expect(err.seen).toHaveLength(1);
    p.done();
    expect(err.seen.at(-1)).toBe('\r\x1b[K');
  });

  it('stdout or stderr not a terminal: nothing at all', () => {
    for (const [e, o] of [
      [false, true],
      [true, false],
      [false, false],
    ] as const) {
      const err = stream(e);
      let t = 0;
      const p = readProgress(err, stream(o), () => t);
      t = 5000;
      p.update('big.log', 50e6, 700_000);
      p.done();
      expect(err.seen).toEqual([]);
    }
  });
});
