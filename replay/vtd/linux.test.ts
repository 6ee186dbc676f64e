// The host's number paths (linux.ts psiAlignedOf, and piotlbInto / devTlbInto given a number
// ADDR) against the 64-bit BigInt arithmetic they stand in for (spec/vtd.md §3): the same (ADDR,
// AM) and the same descriptors, over edge ranges and a deterministic spread of random ones.

import { describe, expect, it } from 'vitest';
import { U64_MAX } from '../../formats/bits.js';
import { descHalves, devTlbInto, entryEnd, piotlbInto, psiAligned, psiAlignedOf, psiAlignedOfEntry, type PsiAligned } from './linux.js';

/** xorshift: the same ranges every run. */
function* ranges(n: number): Generator<[bigint, bigint]> {
  let x = 0x2545f491;
  const next = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), x >>> 0);
  for (let i = 0; i < n; i++) {
    const start = (BigInt(next()) << BigInt(next() % 22)) & ~(next() % 2 === 0 ? 0xfffn : 0n);
    const len = BigInt(next() % 4 === 0 ? next() * 4096 : (next() % 64) * 4096 + (next() % 4096));
    yield [start, start + len];
  }
}

const EDGES: [bigint, bigint][] = [
  [0n, 0n],
  [0x5000n, 0x5fffn],
  [0x3000n, 0x4fffn],
  [0x1000n, 0x2fffn],
  [0x7010n, 0x7020n],
  [0n, 2n ** 53n - 1n],
  [2n ** 52n, 2n ** 53n - 1n],
  [2n ** 53n - 4096n, 2n ** 53n - 1n],
  [2n ** 53n - 4096n, 2n ** 53n], // past 2^53: the BigInt path
  [0n, U64_MAX],
  [0x1000n, 0xfffn], // end before start
];

describe('psiAlignedOf and the number descriptors', () => {
  it('give what the BigInt arithmetic gives', () => {
    const out: PsiAligned = { addr: 0, mask: 0 };
    for (const [start, end] of [...EDGES, ...ranges(20000)]) {
      const want = psiAligned(start, end);
      const got = psiAlignedOf(start, end, out);
      expect([BigInt(got.addr), got.mask], `${start} ${end}`).toEqual([want.addr, want.mask]);
      expect(piotlbInto(descHalves(), 5, 0, got.addr, got.mask, true)).toEqual(piotlbInto(descHalves(), 5, 0, want.addr, want.mask, true));
      for (const mask of [got.mask, 0, 1, 41, 42]) {
        expect(devTlbInto(descHalves(), 0x100, 0, BigInt(got.addr), mask), `${got.addr} ${mask}`).toEqual(
          devTlbInto(descHalves(), 0x100, 0, typeof got.addr === 'bigint' ? got.addr : got.addr, mask),
        );
        if (typeof got.addr === 'number')
          expect(devTlbInto(descHalves(), 0x100, 0, got.addr + 0x1234, mask)).toEqual(
            devTlbInto(descHalves(), 0x100, 0, BigInt(got.addr + 0x1234), mask),
          );
      }
    }
  });

  it('an iommufd entry (ADDR, npages) gives what its end address (entryEnd) gives', () => {
    const out: PsiAligned = { addr: 0, mask: 0 };
    const entries: [bigint, bigint][] = [
      [0n, 1n],
      [0x5000n, 0n], // no pages: end before start
      [0x5000n, U64_MAX], // everything
      [2n ** 53n - 4096n, 1n],
      [2n ** 53n - 4096n, 2n], // end past 2^53
      [2n ** 53n - 8192n, 2n],
      [0n, 2n ** 40n - 1n],
      [0n, 2n ** 40n],
      [0x1000n, 2n ** 41n - 1n],
      [U64_MAX - 0xfffn, 1n],
      [U64_MAX - 0xfffn, 2n], // wraps past 2^64
      ...[...ranges(20000)].map(([s, e]): [bigint, bigint] => [s & ~0xfffn, ((e - s) >> 12n) + 1n]),
    ];
    for (const [addr, npages] of entries) {
      const want = psiAligned(addr, entryEnd(addr, npages));
      const got = psiAlignedOfEntry(addr, npages, out);
      expect([BigInt(got.addr), got.mask], `${addr} ${npages}`).toEqual([want.addr, want.mask]);
    }
  });
});
