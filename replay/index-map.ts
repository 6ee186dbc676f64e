// A map from an address index (an integer 0 ≤ k < 2^53: addr >> shift) to a value, for the level
// cache (level-cache.ts): open addressing with linear probing over a Float64Array of keys, and
// backward-shift deletion, so no tombstones pile up and neither `set` nor `delete` allocates
// (a JS Map reallocates its table as it shrinks on delete, and the caches delete on every
// invalidation). The table doubles past half full and returns to its first size when cleared.

const EMPTY = -1;
const FIRST_BITS = 3;

export class IndexMap<V> {
  private keys: Float64Array;
  private vals: (V | undefined)[];
  private bits: number;
  size = 0;

  constructor() {
    this.bits = FIRST_BITS;
    this.keys = new Float64Array(1 << FIRST_BITS).fill(EMPTY);
    this.vals = new Array<V | undefined>(1 << FIRST_BITS).fill(undefined);
  }

  /** Home slot of `k`: a multiplicative hash of its two 32-bit halves. */
  private home(k: number): number {
    const lo = k >>> 0;
    const hi = (k / 4294967296) >>> 0;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (32 - this.bits);
  }

  /** The slot holding `k`, or -1 (valid until the next set or delete): `valueAt` and `deleteAt` take it. */
  slotOf(k: number): number {
    const keys = this.keys;
    const mask = keys.length - 1;
    for (let i = this.home(k); ; i = (i + 1) & mask) {
      const x = keys[i]!;
      if (x === k) return i;
      if (x === EMPTY) return -1;
    }
  }

  get(k: number): V | undefined {
    const i = this.slotOf(k);
    return i < 0 ? undefined : this.vals[i];
  }

  has(k: number): boolean {
    return this.slotOf(k) >= 0;
  }

  /** Adds or replaces; whether `k` is new. */
  set(k: number, v: V): boolean {
    if ((this.size + 1) * 2 > this.keys.length) this.resize(this.bits + 1);
    const keys = this.keys;
    const mask = keys.length - 1;
    for (let i = this.home(k); ; i = (i + 1) & mask) {
      const x = keys[i]!;
      if (x === k) {
        this.vals[i] = v;
        return false;
      }
      if (x === EMPTY) {
        keys[i] = k;
        this.vals[i] = v;
        this.size++;
        return true;
      }
    }
  }

  /** The value in slot `i` (from slotOf). */
  valueAt(i: number): V {
    return this.vals[i] as V;
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
    const keys = this.keys;
    const vals = this.vals;
    const mask = keys.length - 1;
    for (let j = (i + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      const h = this.home(keys[j]!);
      // The entry at j may fill the gap at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < h && h <= j : i < h || h <= j;
      if (stays) continue;
      keys[i] = keys[j]!;
      vals[i] = vals[j];
      i = j;
    }
    keys[i] = EMPTY;
    vals[i] = undefined;
    this.size--;
  }

  clear(): void {
    if (this.size === 0) return;
    if (this.bits > FIRST_BITS + 3) {
      this.bits = FIRST_BITS;
      this.keys = new Float64Array(1 << FIRST_BITS).fill(EMPTY);
      this.vals = new Array<V | undefined>(1 << FIRST_BITS).fill(undefined);
    } else {
      this.keys.fill(EMPTY);
      this.vals.fill(undefined);
    }
    this.size = 0;
  }

  /** Every key into `out` from index 0; returns how many (the order is the table's). */
  keysInto(out: number[]): number {
    const keys = this.keys;
    let n = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) out[n++] = keys[i]!;
    return n;
  }

  private resize(bits: number): void {
    const keys = this.keys;
    const vals = this.vals;
    this.bits = bits;
    this.keys = new Float64Array(1 << bits).fill(EMPTY);
    this.vals = new Array<V | undefined>(1 << bits).fill(undefined);
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) this.set(keys[i]!, vals[i] as V);
  }
}
