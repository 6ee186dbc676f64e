// A small seeded PRNG (SplitMix64 over BigInt state, 32-bit outputs): deterministic for a seed on
// every platform, so generated traces and property tests repeat exactly.

export class Rng {
  private state: bigint;
  constructor(seed: number | bigint) {
    this.state = BigInt.asUintN(64, BigInt(seed));
  }

  /** Next 64 random bits. */
  next64(): bigint {
    this.state = BigInt.asUintN(64, this.state + 0x9e3779b97f4a7c15n);
    let z = this.state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return Number(this.next64() >> 11n) / 2 ** 53;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform `bits`-bit unsigned value. */
  bits(bits: number): bigint {
    if (bits <= 0) return 0n;
    let v = 0n;
    for (let have = 0; have < bits; have += 64) v = (v << 64n) | this.next64();
    return BigInt.asUintN(bits, v);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  chance(p: number): boolean {
    return this.float() < p;
  }
}
