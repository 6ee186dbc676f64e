// The set of mapped pages of one domain that the cause inference (cause.ts CauseWatch) flips at
// every page-selective invalidation: a page is added (map) or removed (unmap), so the set churns
// without growing. A JS Set does that with rehashes: deleted entries keep their slots until the
// table is full, then it is rebuilt (Runtime_SetGrow / SetShrink, ~15 ms of the 98.7 MB bench
// log's ~23 ms in CauseWatch, and a fresh table each time). Here pages that are numbers (every
// 64-bit range base's: `pageOf`) live in an open-addressing table of doubles with linear probing
// and backward-shift deletion (no tombstones; Knuth's algorithm R), grown at half full and never
// rebuilt otherwise; a BigInt page (none from a 64-bit base) goes to a Set beside it.

const EMPTY = -1;

export class PageSet {
  /** Slots: a page (an integer >= 0), or EMPTY. */
  private keys: Float64Array;
  private mask: number;
  private count = 0;
  private readonly big = new Set<bigint>();

  constructor(capacity = 64) {
    let c = 16;
    while (c < 2 * capacity) c *= 2;
    this.keys = new Float64Array(c).fill(EMPTY);
    this.mask = c - 1;
  }

  /** Pages in the set. */
  get size(): number {
    return this.count + this.big.size;
  }

  /** Adds `page` when it is not in the set (true: added), else removes it (false). */
  toggle(page: number | bigint): boolean {
    if (typeof page === 'bigint' || !(page >= 0 && Number.isSafeInteger(page))) return this.toggleOther(page);
    const keys = this.keys;
    const mask = this.mask;
    let i = slotOf(page, mask);
    for (;;) {
      const k = keys[i]!;
      if (k === page) {
        this.remove(i);
        return false;
      }
      if (k === EMPTY) break;
      i = (i + 1) & mask;
    }
    keys[i] = page;
    if (++this.count * 2 > keys.length) this.grow();
    return true;
  }

  has(page: number | bigint): boolean {
    if (typeof page === 'bigint' || !(page >= 0 && Number.isSafeInteger(page))) return this.big.has(BigInt(page));
    const keys = this.keys;
    for (let i = slotOf(page, this.mask); ; i = (i + 1) & this.mask) {
      const k = keys[i]!;
      if (k === page) return true;
      if (k === EMPTY) return false;
    }
  }

  /** A page that is not a safe non-negative integer, kept as a BigInt. */
  private toggleOther(page: number | bigint): boolean {
    const b = BigInt(page);
    if (this.big.delete(b)) return false;
    this.big.add(b);
    return true;
  }

  /** Empties slot `i`, moving back the entries after it whose probe passed through it. */
  private remove(i: number): void {
    const keys = this.keys;
    const mask = this.mask;
    let hole = i;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const k = keys[j]!;
      if (k === EMPTY) break;
      const home = slotOf(k, mask);
      // k may fill the hole when its home is not cyclically within (hole, j]
      if (hole <= j ? home <= hole || home > j : home <= hole && home > j) {
        keys[hole] = k;
        hole = j;
      }
    }
    keys[hole] = EMPTY;
    this.count--;
  }

  private grow(): void {
    const old = this.keys;
    const keys = new Float64Array(old.length * 2).fill(EMPTY);
    const mask = keys.length - 1;
    for (const k of old) {
      if (k === EMPTY) continue;
      let i = slotOf(k, mask);
      while (keys[i] !== EMPTY) i = (i + 1) & mask;
      keys[i] = k;
    }
    this.keys = keys;
    this.mask = mask;
  }
}

/** The home slot of page `p` (an integer below 2^53): its two 32-bit halves mixed (Fibonacci hashing). */
function slotOf(p: number, mask: number): number {
  const lo = p >>> 0;
  const hi = (p / 4294967296) >>> 0;
  const h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
  return (h ^ (h >>> 15)) & mask;
}
