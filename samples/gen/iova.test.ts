// The IOVA allocator: Linux's alignment and reuse, which decide the AM / ATC_INV sizes generated.
import { describe, expect, it } from 'vitest';
import { IovaAllocator } from './iova.js';

const P = 4096;

describe('IovaAllocator', () => {
  it('allocates top-down below 4 GiB, each range aligned to its size rounded up to a power of two', () => {
    const a = new IovaAllocator();
    expect(a.alloc(1)).toBe(2 ** 32 - P);
    const three = a.alloc(3);
    expect(three % (4 * P)).toBe(0);
    const forty = a.alloc(40);
    expect(forty % (64 * P)).toBe(0);
    expect(forty + 40 * P).toBeLessThanOrEqual(three);
  });
  it('reuses freed ranges of the same size last-in first-out (the rcache), as the captures show', () => {
    const a = new IovaAllocator();
    const [x, y] = [a.alloc(1), a.alloc(1)];
    a.release(x, 1);
    a.release(y, 1);
    expect(a.alloc(1)).toBe(y);
    expect(a.alloc(1)).toBe(x);
    a.release(a.alloc(3), 3);
    expect(a.alloc(4) % (4 * P)).toBe(0); // 3 and 4 pages share a size class
  });
  it('fails with a clear message when live mappings do not fit', () => {
    const a = new IovaAllocator(2 ** 24, 2 ** 20);
    expect(() => {
      for (;;) a.alloc(256);
    }).toThrow(/IOVA space .* exhausted/);
  });
});
