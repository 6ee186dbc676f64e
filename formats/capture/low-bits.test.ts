// lowBits against the BigInt it replaces, on both sides of 2^53 (where Number() stops being exact).

import { describe, expect, it } from 'vitest';
import { lowBits } from './low-bits.js';

const reference = (w: bigint, n: number) => Number(w & ((1n << BigInt(n)) - 1n));

describe('lowBits', () => {
  const words = [
    0n,
    5n,
    0x600f2n, // iotlb_inv qw0 of the captures (DID 6, type 2, granularity bits)
    0xfffn,
    0x1000n,
    (1n << 53n) - 1n, // the last exact one
    1n << 53n,
    (1n << 53n) + 1n, // Number() rounds this to 2^53: its low bit would be lost
    (1n << 53n) + 0xe05n,
    0xfff0000000000003n, // a dev_tlb_inv with PFSID bits in qw0[63:52]
    0xffffffffffffffffn,
  ];
  it.each([1, 4, 12, 32])('equals w & (2^%i - 1) for words below and above 2^53', (n) => {
    for (const w of words) expect(lowBits(w, n), w.toString(16)).toBe(reference(w, n));
  });
  it('does not round: 2^53 + 1 has its low bit, which Number() alone would drop', () => {
    expect(lowBits((1n << 53n) + 1n, 12)).toBe(1);
    expect(Number((1n << 53n) + 1n) % 4096).toBe(0); // what the number path alone would give
  });
});
