// nameOrder is localeCompare's order on event and op names: every pair of a set of names built to
// differ where the two orders could (`_` against digits and letters, a name and its prefix, digits
// against letters, the two cases of a letter), and of random [a-z0-9_] and [aA_0Z] names, has the
// same sign both ways; a name with another character is handed to localeCompare.
import { describe, expect, it, vi } from 'vitest';
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
      // SMMUv3 op names (upper case), and names that differ only in case: lower case first
      'CMD_SYNC',
      'CMD_TLBI_NH_VA',
      'CMD_TLBI_NH_VAA',
      'CMD_CFGI_STE',
      'A',
      'Ab',
      'aB',
      'ab',
      'AB',
      'a_B',
      'A_b',
    ];
    // random names over the alphabet, with a fixed seed (a linear congruential generator)
    let seed = 12345;
    for (const alphabet of ['ab_09z', 'aA_0Z']) {
      for (let i = 0; i < 400; i++) {
        let s = '';
        const len = 1 + (i % 6);
        for (let k = 0; k < len; k++) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          s += alphabet[(seed >>> 16) % alphabet.length]!;
        }
        names.push(s);
      }
    }
    const wrong: string[] = [];
    for (const a of names) for (const b of names) if (sign(nameOrder(a, b)) !== sign(a.localeCompare(b))) wrong.push(`${a} ${b}`);
    expect(wrong).toEqual([]);
    // plain code-unit order differs on these: '_' (0x5f) is after the digits, before the letters
    expect(sign(nameOrder('a_b', 'a1b'))).toBe(-1);
    expect(sign(nameOrder('a_b', 'aab'))).toBe(-1);
  });

  it('orders SMMUv3 op names without the collator', () => {
    // the op names of an SMMUv3 summary (upper case, `_`, digits): no localeCompare call at all
    const calls = vi.spyOn(String.prototype, 'localeCompare');
    try {
      const ops = ['CMD_TLBI_NH_VA', 'CMD_SYNC', 'CMD_CFGI_STE_RANGE', 'CMD_CFGI_STE', 'CMD_TLBI_S12_VMALL', 'CMD_PREFETCH_CONFIG'];
      expect([...ops].sort(nameOrder)).toEqual([
        'CMD_CFGI_STE',
        'CMD_CFGI_STE_RANGE',
        'CMD_PREFETCH_CONFIG',
        'CMD_SYNC',
        'CMD_TLBI_NH_VA',
        'CMD_TLBI_S12_VMALL',
      ]);
      expect(calls).not.toHaveBeenCalled();
    } finally {
      calls.mockRestore();
    }
  });

  it('leaves other characters to localeCompare', () => {
    for (const [a, b] of [
      ['vtd-A', 'vtd_a'],
      ['a-b', 'a_b'],
      ['é', 'e'],
      ['ab', 'a.'],
    ] as const)
      expect(sign(nameOrder(a, b))).toBe(sign(a.localeCompare(b)));
  });
});
