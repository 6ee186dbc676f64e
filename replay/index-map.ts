// A map from an address index (an integer 0 ≤ k < 2^53: addr >> shift) to a number, for the level
// cache (level-cache.ts) and VT-d's context and PASID caches: open addressing with linear probing
// over one Float64Array of (key, value) pairs, and backward-shift deletion, so no tombstones pile
// up and neither `set` nor `delete` allocates (a JS Map reallocates its table as it shrinks on
// delete, and the caches delete on every invalidation). The table doubles past half full and
// returns to its first size when cleared.
//
// A key and its value share a pair (16 bytes, never split across a 64-byte cache line): a hit
// loads one line, not a line of keys and then one of a separate values array. The replay hands
// each event to every policy in turn, so each policy's caches are cold again at its next probe
// (docs/replayer.md "sixteenth pass"): a look-up's cost is its cache misses.

const EMPTY = -1;
const FIRST_BITS = 3;
/** 2^-32: a key's high half is k * 2^-32, truncated (a product by a power of two is exact; no divide). */
const TWO_TO_MINUS_32 = 2 ** -32;

export class IndexMap<V extends number> {
  /** Slot i's key at 2i (EMPTY: none), its value at 2i + 1. */
  private pairs: Float64Array;
  private bits: number;
  size = 0;

  constructor() {
    this.bits = FIRST_BITS;
    this.pairs = new Float64Array(2 << FIRST_BITS).fill(EMPTY);
  }

  /** Home slot of `k`: a multiplicative hash of its two 32-bit halves. */
  private home(k: number): number {
    const lo = k >>> 0;
    const hi = (k * TWO_TO_MINUS_32) >>> 0;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (32 - this.bits);
  }

  /** The slot holding `k`, or -1 (valid until the next set or delete): `valueAt` and `deleteAt` take it. */
  slotOf(k: number): number {
    const pairs = this.pairs;
    const mask = (pairs.length >> 1) - 1;
    for (let i = this.home(k); ; i = (i + 1) & mask) {
      const x = pairs[i << 1]!;
      if (x === k) return i;
      if (x === EMPTY) return -1;
    }
  }

  get(k: number): V | undefined {
    const i = this.slotOf(k);
    return i < 0 ? undefined : (this.pairs[(i << 1) + 1] as V);
  }

  has(k: number): boolean {
    return this.slotOf(k) >= 0;
  }

  /** Adds or replaces; whether `k` is new. */
  set(k: number, v: V): boolean {
    if ((this.size + 1) * 4 > this.pairs.length) this.resize(this.bits + 1);
    const pairs = this.pairs;
    const mask = (pairs.length >> 1) - 1;
    for (let i = this.home(k); ; i = (i + 1) & mask) {
      const at = i << 1;
      const x = pairs[at]!;
      if (x === k) {
        pairs[at + 1] = v;
        return false;
      }
      if (x === EMPTY) {
        pairs[at] = k;
        pairs[at + 1] = v;
        this.size++;
        return true;
      }
    }
  }

  /** The value in slot `i` (from slotOf). */
  valueAt(i: number): V {
    return this.pairs[(i << 1) + 1] as V;
  }

  /** Removes `k`; whether it was there. Later entries of its probe run move back into the gap. */
  delete(k: number): boolean {
    const i = this.slotOf(k);
    if (i < 0) return false;
    this.deleteAt(i);
    return true;
  }

  /** Removes the entry in slot `i` (from slotOf): `delete` without finding it again. */
  deleteAt(slot: number): void {
    let i = slot;
    const pairs = this.pairs;
    const mask = (pairs.length >> 1) - 1;
    for (let j = (i + 1) & mask; pairs[j << 1] !== EMPTY; j = (j + 1) & mask) {
      const h = this.home(pairs[j << 1]!);
      // The entry at j may fill the gap at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < h && h <= j : i < h || h <= j;
      if (stays) continue;
      pairs[i << 1] = pairs[j << 1]!;
      pairs[(i << 1) + 1] = pairs[(j << 1) + 1]!;
      i = j;
    }
    pairs[i << 1] = EMPTY;
    this.size--;
  }

  clear(): void {
    if (this.size === 0) return;
    if (this.bits > FIRST_BITS + 3) {
      this.bits = FIRST_BITS;
      this.pairs = new Float64Array(2 << FIRST_BITS).fill(EMPTY);
    } else this.pairs.fill(EMPTY);
    this.size = 0;
  }

  /** Every key into `out` from index 0; returns how many (the order is the table's). */
  keysInto(out: number[]): number {
    const pairs = this.pairs;
    let n = 0;
    for (let i = 0; i < pairs.length; i += 2) if (pairs[i] !== EMPTY) out[n++] = pairs[i]!;
    return n;
  }

  private resize(bits: number): void {
    const old = this.pairs;
    this.bits = bits;
    this.pairs = new Float64Array(2 << bits).fill(EMPTY);
    this.size = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i] !== EMPTY) this.set(old[i]!, old[i + 1]! as V);
  }
}
