// nameOrder is localeCompare's order on event names: every pair of a set of names built to differ
// where the two orders could (`_` against digits and letters, a name and its prefix, digits against
// letters), and of random [a-z0-9_] names, has the same sign both ways; a name with another
// character is handed to localeCompare.
import { describe, expect, it } from 'vitest';
import { nameOrder } from './name-order.js';

const sign = (x: number) => Math.sign(x);

describe('nameOrder', () => {
  it('orders event names as localeCompare does', () => {
    const names = [
      'a',
      'a_',
      'a_b',
      'a1b',
      'a9',
      'aab',
      'az',
      '_a',
      '0a',
      'vtd_inv_desc',
      'vtd_inv_desc_iotlb',
      'vtd_inv_desc1',
      'vtd_inv_descs',
    ];
    // random names over the alphabet, with a fixed seed (a linear congruential generator)
    const alphabet = 'ab_09z';
    let seed = 12345;
    for (let i = 0; i < 400; i++) {
      let s = '';
      const len = 1 + (i % 6);
      for (let k = 0; k < len; k++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        s += alphabet[(seed >>> 16) % alphabet.length]!;
      }
      names.push(s);
    }
    const wrong: string[] = [];
    for (const a of names) for (const b of names) if (sign(nameOrder(a, b)) !== sign(a.localeCompare(b))) wrong.push(`${a} ${b}`);
    expect(wrong).toEqual([]);
    // plain code-unit order differs on these: '_' (0x5f) is after the digits, before the letters
    expect(sign(nameOrder('a_b', 'a1b'))).toBe(-1);
    expect(sign(nameOrder('a_b', 'aab'))).toBe(-1);
  });

  it('leaves other characters to localeCompare', () => {
    for (const [a, b] of [
      ['vtd_A', 'vtd_a'],
      ['a-b', 'a_b'],
      ['é', 'e'],
      ['ab', 'a.'],
    ] as const)
      expect(sign(nameOrder(a, b))).toBe(sign(a.localeCompare(b)));
  });
});
