// Guest-physical memory as the emulators see it: queue rings in fast typed-array regions, every
// other address sparse RAM (reads 0 until written), and fault ranges where a fetch aborts
// (SMMUv3 CERROR_ABT, VT-d IQERCD.IQEI = 2). Words are little-endian 64-bit, unsigned.
// Sparse RAM below 2^53 is kept in 4 KiB pages of 32-bit halves made on first write, so a status
// word's 32-bit store or load (VT-d wait, SMMUv3 MSI) needs no BigInt; above, words by BigInt.

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

/** lastHalves before any region is hit. */
const NO_HALVES = new Uint32Array(0);

/** Bytes of one page of sparse RAM (a Uint32Array of its halves, low half of each word first). */
const PAGE_BYTES = 4096;
/** Sparse addresses from here up are kept as BigInt words (a double no longer holds each one). */
const HIGH = 2n ** 53n;
const LOW_HALF = 0xffffffffn;

/** 64-bit words from their 32-bit halves, low half first. */
function wordsOf(halves: Uint32Array): bigint[] {
  const out: bigint[] = [];
  for (let k = 0; k + 1 < halves.length; k += 2) out.push((BigInt(halves[k + 1]!) << 32n) | BigInt(halves[k]!));
  return out;
}

export class GuestMemory {
  private readonly regions: Region[] = [];
  /** Sparse RAM below 2^53: pages by number (address / PAGE_BYTES). */
  private readonly pages = new Map<number, Uint32Array>();
  /** Sparse RAM from 2^53: words by address / 8. */
  private readonly high = new Map<bigint, bigint>();
  private readonly faults: { base: bigint; bytes: bigint }[] = [];
  /** faults.length, read per access: a field of the memory itself, not a load through the array. */
  private faultCount = 0;
  /** The region the last access hit (queue rings are read and written over and over). */
  private last: Region | undefined;
  /**
   * `last`'s bounds and halves, copied into the memory itself: halvesAt's hit (a queue fetch, per
   * command per emulator) reads fields of one object, not a chain of loads through the region
   * (memory, then region; each policy's host has its own memories, cold between its commands).
   * lastHi −1 (no region yet) admits no access.
   */
  private lastLo = 0;
  private lastHi = -1;
  private lastHalves: Uint32Array = NO_HALVES;

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
    this.faultCount = this.faults.length;
  }

  /** Whether any fault range is set (a caller holding a region's halves stores there only while none is). */
  get hasFaults(): boolean {
    return this.faultCount > 0;
  }

  isFault(addr: bigint, bytes: number): boolean {
    return this.faults.length > 0 && this.faults.some((f) => addr < f.base + f.bytes && f.base < addr + BigInt(bytes));
  }

  private region(addr: bigint, bytes: number): Region | undefined {
    return this.regionAt(Number(addr), bytes);
  }

  private regionAt(a: number, bytes: number): Region | undefined {
    if (a >= this.lastLo && a + bytes <= this.lastHi) return this.last;
    for (const r of this.regions) {
      if (a >= r.lo && a + bytes <= r.hi) {
        this.last = r;
        this.lastLo = r.lo;
        this.lastHi = r.hi;
        this.lastHalves = r.halves;
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
    if (this.faultCount > 0 && this.isFault(addr, n * 8)) return false;
    const r = this.region(addr, n * 8);
    if (r) {
      readRegion(r, Number(addr), out);
      return true;
    }
    for (let k = 0; k < n; k++) out[k] = this.sparseWord(addr + BigInt(8 * k));
    return true;
  }

  /**
   * readWordsInto at an address given as a number (a queue slot: guest-physical addresses stay
   * below 2^53), with no BigInt made for the address on the typed-region path.
   */
  readWordsAt(addr: number, out: bigint[]): boolean {
    const n = out.length;
    const r = this.faultCount === 0 ? this.regionAt(addr, n * 8) : undefined;
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
    if (this.faultCount !== 0) return undefined;
    const lo = this.lastLo;
    if (addr >= lo && addr + bytes <= this.lastHi) {
      this.halvesIndex = Math.floor((addr - lo) / 8) * 2;
      return this.lastHalves;
    }
    const r = this.regionAt(addr, bytes);
    if (r === undefined) return undefined;
    this.halvesIndex = Math.floor((addr - r.lo) / 8) * 2;
    return r.halves;
  }

  /** writeWords at an address given as a number, as readWordsAt. */
  writeWordsAt(addr: number, words: readonly bigint[]): boolean {
    const r = this.faultCount === 0 ? this.regionAt(addr, words.length * 8) : undefined;
    if (r === undefined) return this.writeWords(BigInt(addr), words);
    writeRegion(r, addr, words);
    return true;
  }

  /**
   * Words given as 32-bit halves, low half first (2 per word), at an address given as a number:
   * into a typed region as they are (no BigInt on a little-endian host), else as writeWords.
   */
  writeHalvesAt(addr: number, halves: Uint32Array): boolean {
    const r = this.faultCount === 0 && LITTLE_ENDIAN ? this.regionAt(addr, halves.length * 4) : undefined;
    if (r === undefined) return this.writeWords(BigInt(addr), wordsOf(halves));
    // Element by element: a descriptor is 4 or 8 halves, fewer stores than a TypedArray.prototype.set call costs.
    // regionAt made `r` the last region: its halves and bounds are the memory's own fields.
    const to = this.lastHalves;
    const at = Math.floor((addr - this.lastLo) / 8) * 2;
    for (let k = 0; k < halves.length; k++) to[at + k] = halves[k]!;
    return true;
  }

  writeWords(addr: bigint, words: readonly bigint[]): boolean {
    if (this.faultCount > 0 && this.isFault(addr, words.length * 8)) return false;
    const r = this.region(addr, words.length * 8);
    if (r) {
      writeRegion(r, Number(addr), words);
      return true;
    }
    words.forEach((w, k) => this.setSparseWord(addr + BigInt(8 * k), w));
    return true;
  }

  /** The sparse page holding address `a` (below 2^53); made on first use when `make`. */
  private page(a: number, make: boolean): Uint32Array | undefined {
    const key = Math.floor(a / PAGE_BYTES);
    let p = this.pages.get(key);
    if (p === undefined && make) this.pages.set(key, (p = new Uint32Array(PAGE_BYTES / 4)));
    return p;
  }

  /** The sparse word holding byte `addr` (the word at addr rounded down to 8). */
  private sparseWord(addr: bigint): bigint {
    if (addr >= HIGH) return this.high.get(addr >> 3n) ?? 0n;
    const a = Number(addr);
    const p = this.page(a, false);
    if (p === undefined) return 0n;
    const i = Math.floor((a % PAGE_BYTES) / 8) * 2;
    return (BigInt(p[i + 1]!) << 32n) | BigInt(p[i]!);
  }

  private setSparseWord(addr: bigint, w: bigint): void {
    if (addr >= HIGH) {
      this.high.set(addr >> 3n, BigInt.asUintN(64, w));
      return;
    }
    const a = Number(addr);
    const p = this.page(a, true)!;
    const i = Math.floor((a % PAGE_BYTES) / 8) * 2;
    p[i] = Number(w & LOW_HALF);
    p[i + 1] = Number((w >> 32n) & LOW_HALF);
  }

  /** 32-bit little-endian store (VT-d wait status write, SMMUv3 MSI write); false when unaligned or it aborts. */
  write32(addr: bigint, value: number): boolean {
    if (addr < HIGH) return this.write32At(Number(addr), value);
    if ((addr & 3n) !== 0n || this.isFault(addr, 4)) return false;
    const key = addr >> 3n; // the word's other half is kept
    const shift = (addr & 4n) * 8n;
    this.high.set(key, ((this.high.get(key) ?? 0n) & ~(LOW_HALF << shift)) | (BigInt(value >>> 0) << shift));
    return true;
  }

  /** write32 at an address given as a number (below 2^53), with no BigInt on a typed region or sparse RAM. */
  write32At(a: number, value: number): boolean {
    if (a % 4 !== 0 || (this.faultCount > 0 && this.isFault(BigInt(a), 4))) return false;
    const r = this.regionAt(a, 4);
    if (r === undefined) {
      this.page(a, true)![(a % PAGE_BYTES) / 4] = value >>> 0;
      return true;
    }
    if (LITTLE_ENDIAN) {
      r.halves[(a - r.lo) / 4] = value >>> 0;
      return true;
    }
    // A big-endian host: the word's other half is kept.
    const i = Math.floor((a - r.lo) / 8);
    const shift = BigInt((a % 8) * 8);
    r.words[i] = (r.words[i]! & ~(LOW_HALF << shift)) | (BigInt(value >>> 0) << shift);
    return true;
  }

  /** 32-bit little-endian load; undefined when unaligned or the word it sits in aborts. */
  read32(addr: bigint): number | undefined {
    if (addr < HIGH) return this.read32At(Number(addr));
    if ((addr & 3n) !== 0n || this.isFault(addr & ~7n, 8)) return undefined;
    return Number(((this.high.get(addr >> 3n) ?? 0n) >> ((addr & 4n) * 8n)) & LOW_HALF);
  }

  /** read32 at an address given as a number (below 2^53). */
  read32At(a: number): number | undefined {
    if (a % 4 !== 0) return undefined;
    const word = a - (a % 8);
    if (this.faultCount > 0 && this.isFault(BigInt(word), 8)) return undefined;
    const r = this.regionAt(word, 8);
    if (r === undefined) {
      const p = this.page(a, false);
      return p === undefined ? 0 : p[(a % PAGE_BYTES) / 4]!;
    }
    if (LITTLE_ENDIAN) return r.halves[(a - r.lo) / 4]!;
    return Number((r.words[(word - r.lo) / 8]! >> BigInt((a % 8) * 8)) & LOW_HALF);
  }
}
