// The interner gives each token's own text, the same string for a token seen before, also when
// tokens that share a slot of its recent strings (same length, first and last byte) alternate.
import { describe, expect, it } from 'vitest';
import { Interner } from './line-bytes.js';

describe('Interner', () => {
  it('gives the token at [s, e), one string per distinct token', () => {
    const strings = new Interner();
    const buf = Buffer.from('x iotlb wait iqtlb iotlb device iqtlb wait y');
    const tokens: string[] = [];
    for (let s = 0; s < buf.length;) {
      let e = s;
      while (e < buf.length && buf[e] !== 32) e++;
      tokens.push(strings.get(buf, s, e));
      s = e + 1;
    }
    expect(tokens).toEqual('x iotlb wait iqtlb iotlb device iqtlb wait y'.split(' '));
    // interned: the second 'iotlb' and 'iqtlb' are the strings given out for the first ones
    const again = new Interner();
    const a = again.get(buf, 2, 7);
    const b = again.get(buf, 13, 18);
    expect([a, b]).toEqual(['iotlb', 'iqtlb']);
    expect(again.get(buf, 19, 24)).toBe(a);
    expect(again.get(buf, 32, 37)).toBe(b);
  });
});
