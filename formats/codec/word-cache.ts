// One bounded cache keyed by a command's words, for whatever is derived from a command alone
// (replay/decode-cache.ts keeps decoded commands, formats/trace/builder.ts the columns of a trace
// row): WordCache by the words as BigInts, HalfWordCache by the same bits read in place as 32-bit
// halves. Guest queues repeat a few hundred distinct commands, so most lookups hit.

/**
 * Values by (word 0, word 1), two map levels deep, so no key is built per lookup. Only commands
 * whose further words (a 256-bit VT-d slot's qw2/qw3) are zero are kept: the others are rare and
 * fail validation anyway. Bounded: a full cache is emptied before the next insert.
 */
export class WordCache<T> {
  private readonly byW0 = new Map<bigint, Map<bigint, T>>();
  private count = 0;

  constructor(readonly capacity = 4096) {}

  /** Whether `words` can be a key: every word past the first two is zero. */
  static keyable(words: readonly bigint[]): boolean {
    for (let i = 2; i < words.length; i++) if (words[i] !== 0n) return false;
    return true;
  }

  /** The value kept for `words`, if any. */
  find(words: readonly bigint[]): T | undefined {
    return WordCache.keyable(words) ? this.byW0.get(words[0]!)?.get(words[1]!) : undefined;
  }

  /** Keeps `value` for `words` (nothing for words that cannot be a key). */
  keep(words: readonly bigint[], value: T): void {
    if (!WordCache.keyable(words)) return;
    if (this.count >= this.capacity) {
      this.byW0.clear();
      this.count = 0;
    }
    const w0 = words[0]!;
    let byW1 = this.byW0.get(w0);
    if (byW1 === undefined) this.byW0.set(w0, (byW1 = new Map<bigint, T>()));
    byW1.set(words[1]!, value);
    this.count++;
  }
}

/** Halves per slot of a HalfWordCache: the key's four, the value's index + 1 (0: empty), three unused (a slot is 32 bytes: one cache line holds two). */
const SLOT = 8;
/** A HalfWordCache's first slot count, and the most keys it holds before it is emptied (slots: twice that, a power of two). */
const FIRST_SLOTS = 256;
const MAX_KEYS = 4096;
/** What `slots` holds before its first table (the constructor). */
const NO_SLOTS = new Uint32Array(0);

/**
 * Values by a command's words read in place as 32-bit halves (a typed region of guest memory,
 * replay/memory.ts `halvesAt`), for fetch loops that would otherwise make a BigInt per word and
 * hash it twice. Keys are the first four halves (two 64-bit words); as in WordCache, a slot whose
 * further halves are nonzero is never a key. The halves' order within a word is the host's; find
 * and keep both read them from memory, so they agree.
 *
 * Laid out for the memory it touches, not the instructions: a find is a handful of instructions,
 * and what it cost was two cache misses (a replay holds dozens of these caches, one per decode
 * cache and emulator, each queue repeating a few hundred distinct commands). Open addressing with
 * linear probing over slots that hold the key and the index of the value beside it, at most half
 * full, grown by doubling from FIRST_SLOTS: a hit reads one slot (usually one line) and the dense
 * `values` array (a few KiB for a few hundred keys), where a direct-mapped table of 4096 sets
 * spread a few hundred keys and their values over 96 KiB. Bounded as WordCache is: at MAX_KEYS a
 * keep empties it first.
 */
export class HalfWordCache<T> {
  declare private slots: Uint32Array;
  /** Slot count − 1 (a power of two minus one). */
  declare private mask: number;
  /** Values by index, [0, count): dense, so the values of hot keys share a few lines. */
  private readonly values: (T | undefined)[] = [];
  private count = 0;

  constructor() {
    // `slots` and `mask` change when the cache grows, mid-run once it holds 128 keys: each is
    // written a first value, then its own, so that V8 never takes it for a constant (a field
    // written once is one, and the optimized code that relied on it, `find` inlined in the trace
    // builder's row paths, was thrown away at the first growth: docs/ingest.md, twenty-fifth pass).
    this.slots = NO_SLOTS;
    this.mask = 0;
    this.slots = new Uint32Array(FIRST_SLOTS * SLOT);
    this.mask = FIRST_SLOTS - 1;
  }

  /** The value kept for the `n` halves at `h[i]`, if any. */
  find(h: Uint32Array, i: number, n: number): T | undefined {
    for (let k = 4; k < n; k++) if (h[i + k] !== 0) return undefined;
    const h0 = h[i]!;
    const h1 = h[i + 1]!;
    const h2 = h[i + 2]!;
    const h3 = h[i + 3]!;
    const slots = this.slots;
    const mask = this.mask;
    // Linear probing from the key's set, the step taken before every probe, the first too (from
    // the set before): a probe past a full slot, first taken after TurboFan had compiled a caller
    // this is inlined into (the trace builder's row paths), had no feedback for the step and made
    // the caller bail out ("insufficient type feedback for binary operation").
    for (let s = (setOf(h0, h1, h2, h3) - 1) & mask; ;) {
      s = (s + 1) & mask;
      const at = s * SLOT;
      const v = slots[at + 4]!;
      if (v === 0) return undefined;
      if (slots[at] === h0 && slots[at + 1] === h1 && slots[at + 2] === h2 && slots[at + 3] === h3) return this.values[v - 1];
    }
  }

  /** Keeps `value` for the `n` halves at `h[i]` (nothing when a half past the fourth is nonzero). */
  keep(h: Uint32Array, i: number, n: number, value: T): void {
    for (let k = 4; k < n; k++) if (h[i + k] !== 0) return;
    const h0 = h[i]!;
    const h1 = h[i + 1]!;
    const h2 = h[i + 2]!;
    const h3 = h[i + 3]!;
    const at = this.slotOf(h0, h1, h2, h3);
    const v = this.slots[at + 4]!;
    if (v !== 0) {
      this.values[v - 1] = value;
      return;
    }
    if (this.count >= MAX_KEYS) this.empty();
    else if (2 * (this.count + 1) > this.mask + 1) this.grow();
    else {
      this.put(at, h0, h1, h2, h3, value);
      return;
    }
    this.put(this.slotOf(h0, h1, h2, h3), h0, h1, h2, h3, value);
  }

  /** The offset of the slot holding the key, or of the empty slot where it would go. */
  private slotOf(h0: number, h1: number, h2: number, h3: number): number {
    const slots = this.slots;
    const mask = this.mask;
    // As in `find`: the step before every probe.
    for (let s = (setOf(h0, h1, h2, h3) - 1) & mask; ;) {
      s = (s + 1) & mask;
      const at = s * SLOT;
      if (slots[at + 4] === 0) return at;
      if (slots[at] === h0 && slots[at + 1] === h1 && slots[at + 2] === h2 && slots[at + 3] === h3) return at;
    }
  }

  /** A new key at the empty slot at offset `at`. */
  private put(at: number, h0: number, h1: number, h2: number, h3: number, value: T): void {
    const slots = this.slots;
    slots[at] = h0;
    slots[at + 1] = h1;
    slots[at + 2] = h2;
    slots[at + 3] = h3;
    this.values[this.count] = value;
    slots[at + 4] = ++this.count;
  }

  /** Twice the slots, every key placed again (its value keeps its index). */
  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = this.mask * 2 + 1;
    for (let at = 0; at < old.length; at += SLOT) {
      if (old[at + 4] === 0) continue;
      const to = this.slotOf(old[at]!, old[at + 1]!, old[at + 2]!, old[at + 3]!);
      for (let k = 0; k < 5; k++) this.slots[to + k] = old[at + k]!;
    }
  }

  /** Forgets every key (the slots keep their size; the values are dropped). */
  private empty(): void {
    this.slots.fill(0);
    for (let k = 0; k < this.count; k++) this.values[k] = undefined;
    this.count = 0;
  }
}

/** The hash of four halves (an int32; callers mask it): a multiplicative mix of all 128 bits (opcodes, tags and addresses all vary). */
function setOf(h0: number, h1: number, h2: number, h3: number): number {
  let x = Math.imul(h0, 0x9e3779b1) ^ Math.imul(h1, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 15), 0xc2b2ae35) ^ Math.imul(h2, 0x27d4eb2f) ^ Math.imul(h3, 0x165667b1);
  x = Math.imul(x ^ (x >>> 13), 0x9e3779b1);
  return x ^ (x >>> 16);
}
