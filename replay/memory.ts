// Guest-physical memory as the emulators see it: queue rings in fast typed-array regions, every
// other address sparse RAM (reads 0 until written), and fault ranges where a fetch aborts
// (SMMUv3 CERROR_ABT, VT-d IQERCD.IQEI = 2). Words are little-endian 64-bit.

interface Region {
  readonly base: bigint;
  readonly bytes: bigint;
  /** The same bounds as numbers (guest-physical addresses stay below 2^53), for the fast path. */
  readonly lo: number;
  readonly hi: number;
  readonly words: BigUint64Array;
  /** The same bytes as 32-bit halves (write32's path on a little-endian host, with no BigInt). */
  readonly halves: Uint32Array;
}

/** Whether a 64-bit word's low half comes first in memory here (as in the guest's little-endian words). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** `out.length` words of typed region `r` from address `a` (inside it, 8-byte aligned) into `out`. */
function readRegion(r: Region, a: number, out: bigint[]): void {
  const i = Math.floor((a - r.lo) / 8);
  for (let k = 0; k < out.length; k++) out[k] = r.words[i + k]!;
}

/** `words` into typed region `r` from address `a` (inside it, 8-byte aligned). */
function writeRegion(r: Region, a: number, words: readonly bigint[]): void {
  const i = Math.floor((a - r.lo) / 8);
  for (let k = 0; k < words.length; k++) r.words[i + k] = words[k]!;
}

/** 64-bit words from their 32-bit halves, low half first. */
function wordsOf(halves: Uint32Array): bigint[] {
  const out: bigint[] = [];
  for (let k = 0; k + 1 < halves.length; k += 2) out.push((BigInt(halves[k + 1]!) << 32n) | BigInt(halves[k]!));
  return out;
}

export class GuestMemory {
  private readonly regions: Region[] = [];
  private readonly sparse = new Map<bigint, bigint>();
  private readonly faults: { base: bigint; bytes: bigint }[] = [];
  /** The region the last access hit (queue rings are read and written over and over). */
  private last: Region | undefined;

  /** Backs [base, base+bytes) with a typed array (queue rings). */
  addRegion(base: bigint, bytes: number): void {
    if ((base & 7n) !== 0n || bytes % 8 !== 0) throw new Error('regions are 8-byte aligned');
    const words = new BigUint64Array(bytes / 8);
    this.regions.push({
      base,
      bytes: BigInt(bytes),
      lo: Number(base),
      hi: Number(base) + bytes,
      words,
      halves: new Uint32Array(words.buffer),
    });
  }

  /** Makes [base, base+bytes) abort on access (no memory there). */
  addFault(base: bigint, bytes: bigint): void {
    this.faults.push({ base, bytes });
  }

  isFault(addr: bigint, bytes: number): boolean {
    return this.faults.length > 0 && this.faults.some((f) => addr < f.base + f.bytes && f.base < addr + BigInt(bytes));
  }

  private region(addr: bigint, bytes: number): Region | undefined {
    return this.regionAt(Number(addr), bytes);
  }

  private regionAt(a: number, bytes: number): Region | undefined {
    const l = this.last;
    if (l !== undefined && a >= l.lo && a + bytes <= l.hi) return l;
    for (const r of this.regions) {
      if (a >= r.lo && a + bytes <= r.hi) {
        this.last = r;
        return r;
      }
    }
    return undefined;
  }

  /** `n` 64-bit words at an 8-byte aligned address; undefined when the access aborts. */
  readWords(addr: bigint, n: number): bigint[] | undefined {
    const out = new Array<bigint>(n);
    return this.readWordsInto(addr, out) ? out : undefined;
  }

  /** readWords into `out` (its length many words), for a fetch loop reusing one array; false when the access aborts. */
  readWordsInto(addr: bigint, out: bigint[]): boolean {
    const n = out.length;
    if (this.faults.length > 0 && this.isFault(addr, n * 8)) return false;
    const r = this.region(addr, n * 8);
    if (r) {
      readRegion(r, Number(addr), out);
      return true;
    }
    for (let k = 0; k < n; k++) out[k] = this.sparse.get((addr >> 3n) + BigInt(k)) ?? 0n;
    return true;
  }

  /**
   * readWordsInto at an address given as a number (a queue slot: guest-physical addresses stay
   * below 2^53), with no BigInt made for the address on the typed-region path.
   */
  readWordsAt(addr: number, out: bigint[]): boolean {
    const n = out.length;
    const r = this.faults.length === 0 ? this.regionAt(addr, n * 8) : undefined;
    if (r === undefined) return this.readWordsInto(BigInt(addr), out);
    readRegion(r, addr, out);
    return true;
  }

  /** halvesAt's answer: the index in its array of the first half at the address asked about. */
  halvesIndex = 0;

  /**
   * The 32-bit halves of the typed region that readWordsAt would read `bytes` at `addr` from,
   * with `halvesIndex` set to the first one's index; undefined when it would not read a typed
   * region (sparse RAM, or fault ranges set). For callers that key on a slot's bits in place
   * (replay/decode-cache.ts `fetch`), with no BigInt made.
   */
  halvesAt(addr: number, bytes: number): Uint32Array | undefined {
    const r = this.faults.length === 0 ? this.regionAt(addr, bytes) : undefined;
    if (r === undefined) return undefined;
    this.halvesIndex = Math.floor((addr - r.lo) / 8) * 2;
    return r.halves;
  }

  /** writeWords at an address given as a number, as readWordsAt. */
  writeWordsAt(addr: number, words: readonly bigint[]): boolean {
    const r = this.faults.length === 0 ? this.regionAt(addr, words.length * 8) : undefined;
    if (r === undefined) return this.writeWords(BigInt(addr), words);
    writeRegion(r, addr, words);
    return true;
  }

  /**
   * Words given as 32-bit halves, low half first (2 per word), at an address given as a number:
   * into a typed region as they are (no BigInt on a little-endian host), else as writeWords.
   */
  writeHalvesAt(addr: number, halves: Uint32Array): boolean {
    const r = this.faults.length === 0 && LITTLE_ENDIAN ? this.regionAt(addr, halves.length * 4) : undefined;
    if (r === undefined) return this.writeWords(BigInt(addr), wordsOf(halves));
    r.halves.set(halves, Math.floor((addr - r.lo) / 8) * 2);
    return true;
  }

  writeWords(addr: bigint, words: readonly bigint[]): boolean {
    if (this.faults.length > 0 && this.isFault(addr, words.length * 8)) return false;
    const r = this.region(addr, words.length * 8);
    if (r) {
      writeRegion(r, Number(addr), words);
      return true;
    }
    words.forEach((w, k) => this.sparse.set((addr >> 3n) + BigInt(k), w));
    return true;
  }

  /** 32-bit little-endian store (VT-d wait status write, SMMUv3 MSI write). */
  write32(addr: bigint, value: number): boolean {
    if ((addr & 3n) !== 0n || this.isFault(addr, 4)) return false;
    const r = this.region(addr, 4);
    if (r !== undefined && LITTLE_ENDIAN) {
      r.halves[(Number(addr) - r.lo) / 4] = value >>> 0;
      return true;
    }
    // The word's other half is kept.
    const shift = (addr & 4n) * 8n;
    const merge = (old: bigint) => (old & ~(0xffffffffn << shift)) | (BigInt(value >>> 0) << shift);
    if (r !== undefined) return this.writeWords(addr & ~7n, [merge(this.readWords(addr & ~7n, 1)![0]!)]);
    const key = addr >> 3n; // sparse RAM (status words), as readWords and writeWords key it
    this.sparse.set(key, merge(this.sparse.get(key) ?? 0n));
    return true;
  }

  read32(addr: bigint): number | undefined {
    if ((addr & 3n) !== 0n) return undefined;
    const w = this.readWords(addr & ~7n, 1);
    if (w === undefined) return undefined;
    return Number((w[0]! >> ((addr & 4n) * 8n)) & 0xffffffffn);
  }
}
