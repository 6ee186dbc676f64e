import { describe, expect, it } from 'vitest';
import { WordCache } from './word-cache.js';

describe('WordCache', () => {
  it('finds what it kept by both words, and nothing for a twin differing in either word', () => {
    const c = new WordCache<string>();
    c.keep([1n, 2n], 'a');
    expect(c.find([1n, 2n])).toBe('a');
    expect(c.find([1n, 3n])).toBeUndefined();
    expect(c.find([2n, 2n])).toBeUndefined();
    // A 256-bit slot with zero qw2/qw3 is the same key as its 128-bit words.
    expect(c.find([1n, 2n, 0n, 0n])).toBe('a');
  });

  it('keeps nothing for words past the first two that are nonzero', () => {
    const c = new WordCache<string>();
    c.keep([1n, 2n, 0n, 5n], 'b');
    expect(c.find([1n, 2n, 0n, 5n])).toBeUndefined();
    expect(c.find([1n, 2n])).toBeUndefined();
  });

  it('is emptied when full, before the next insert', () => {
    const c = new WordCache<number>(2);
    c.keep([1n, 0n], 1);
    c.keep([2n, 0n], 2);
    expect(c.find([1n, 0n])).toBe(1);
    c.keep([3n, 0n], 3); // the third insert at capacity 2 empties the cache first
    expect(c.find([1n, 0n])).toBeUndefined();
    expect(c.find([2n, 0n])).toBeUndefined();
    expect(c.find([3n, 0n])).toBe(3);
  });
});
