// A run's completion points: registered in queue order, timed when completed, read back in queue
// order from the spill file — also when more points stay open than the in-memory window holds, and
// when the guest rewrites a published entry with a completion point.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import { Completions, Latencies, type CompletionRow } from './completions.js';

const dir = tempDir();
let c: Completions | undefined;
afterEach(() => c?.dispose());

function read(x: Completions): { rows: CompletionRow[]; sorted: number[] } {
  const rows: CompletionRow[] = [];
  // The row is valid during the visit only: keep a copy.
  const latencies = new Latencies();
  x.rows((r) => rows.push({ ...r }), latencies);
  const sorted = [...latencies.view()].sort((a, b) => a - b);
  return { rows, sorted };
}

describe('Completions', () => {
  it('times each point from its doorbell and gives them back in queue order', () => {
    c = new Completions(join(dir, 'a.f64'));
    c.add(3, 30, 3, 29, 10, 1);
    c.add(7, 70, 7, 69, 12, 2);
    c.add(9, 90, 9, 89, 12, 0);
    c.complete(7, 20); // out of order: 7 before 3
    c.complete(3, 25);
    c.complete(3, 99); // a second completion is ignored
    c.complete(4, 30); // not a completion point
    const { rows, sorted } = read(c);
    expect(rows.map((r) => [r.pos, r.seq, r.slot, r.doorbellSeq, r.commands, r.latency])).toEqual([
      [3, 30, 3, 29, 1, 15],
      [7, 70, 7, 69, 2, 8],
      [9, 90, 9, 89, 0, undefined],
    ]);
    expect(c.completed).toBe(2);
    expect(sorted).toEqual([8, 15]);
  });

  it('spills open points past the window and still times them when they complete later', () => {
    c = new Completions(join(dir, 'b.f64'));
    const n = (1 << 14) + 1000; // more open points than the window (1 << 14)
    for (let i = 0; i < n; i++) c.add(2 * i, i, (2 * i) % 256, i, i, 1);
    c.complete(0, 5); // spilled while open
    c.complete(2 * (n - 1), n); // still in the window
    const { rows, sorted } = read(c);
    expect(rows.length).toBe(n);
    expect(rows.every((r, i) => r.pos === 2 * i && r.seq === i)).toBe(true);
    expect(rows[0]!.latency).toBe(5);
    expect(rows[n - 1]!.latency).toBe(1);
    expect(rows.filter((r) => r.latency !== undefined).length).toBe(2);
    expect(sorted).toEqual([1, 5]);
  });

  it('a rewritten entry becomes a new open point in its place, in queue order', () => {
    c = new Completions(join(dir, 'c.f64'));
    c.add(2, 20, 2, 19, 0, 3);
    c.add(6, 60, 6, 59, 0, 1);
    c.replace(4, 40, 4, 39, 5); // a command at 4 rewritten into a completion point: inserted between
    c.replace(6, 61, 6, 39, 5); // the point at 6 rewritten: starts again with no commands
    c.complete(6, 9);
    const { rows } = read(c);
    expect(rows.map((r) => [r.pos, r.seq, r.commands, r.latency])).toEqual([
      [2, 20, 3, undefined],
      [4, 40, 0, undefined],
      [6, 61, 0, 4],
    ]);
  });

  it('latencies: queues appended into one buffer, a run after clear() reads only its own', () => {
    const made = (name: string, points: number, done: number) => {
      const x = new Completions(join(dir, name));
      for (let i = 0; i < points; i++) x.add(i, i, i, i, 0, 1);
      for (let i = 0; i < done; i++) x.complete(i, 10 + i);
      return x;
    };
    const [q0, q1, next] = [made('l0.f64', 3, 3), made('l1.f64', 40, 40), made('l2.f64', 2, 2)];
    const latencies = new Latencies();
    // One run of two queues: the second queue's 40 grow the buffer past the first's 3, which stay.
    q0.rows(() => {}, latencies);
    q1.rows(() => {}, latencies);
    expect([...latencies.view()]).toEqual([10, 11, 12, ...Array.from({ length: 40 }, (_, i) => 10 + i)]);
    // The next run: near miss without clear(), its two would follow the 43 above.
    latencies.clear();
    next.rows(() => {}, latencies);
    expect([...latencies.view()]).toEqual([10, 11]);
    for (const x of [q0, q1, next]) x.dispose();
  });
});
