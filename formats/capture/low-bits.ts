// The low bits of a 64-bit descriptor word as a number, without making a BigInt: a VT-d qw0's type
// bits (qw0[3:0] and qw0[11:9], spec/vtd.md §2) are read for every descriptor by the QEMU queue,
// the guest scanner and the aligner, and `Number(w & 0xfffn)` allocates a BigInt each time. A word
// below 2^53 converts to a number exactly, so its low bits are a remainder; a larger one (a
// dev_tlb_inv's PFSID in qw0[63:52]) takes the BigInt path.

/** `w mod 2^n` (0 < n <= 32) as a number; exact for every 64-bit `w`. */
export function lowBits(w: bigint, n: number): number {
  const x = Number(w);
  // Number(w) is exact below 2^53; anything from 2^53 up converts to at least 2^53.
  if (x >= 0 && x <= Number.MAX_SAFE_INTEGER) return x % 2 ** n;
  return Number(BigInt.asUintN(n, w));
}
