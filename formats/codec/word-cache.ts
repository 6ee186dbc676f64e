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

/** Direct-mapped sets of a HalfWordCache (a power of two). */
const HALF_SETS = 4096;

/**
 * Values by a command's words read in place as 32-bit halves (a typed region of guest memory,
 * replay/memory.ts `halvesAt`), for fetch loops that would otherwise make a BigInt per word and
 * hash it twice. Keys are the first four halves (two 64-bit words); as in WordCache, a slot whose
 * further halves are nonzero is never a key. Direct-mapped: a key hashes to one set and replaces
 * what was there, so the bound is the set count and a miss only costs the caller its slower path.
 * The halves' order within a word is the host's; find and keep both read them from memory, so
 * they agree.
 */
export class HalfWordCache<T> {
  private readonly keys = new Uint32Array(HALF_SETS * 4);
  private readonly values = new Array<T | undefined>(HALF_SETS).fill(undefined);

  /** The value kept for the `n` halves at `h[i]`, if any. */
  find(h: Uint32Array, i: number, n: number): T | undefined {
    for (let k = 4; k < n; k++) if (h[i + k] !== 0) return undefined;
    const h0 = h[i]!;
    const h1 = h[i + 1]!;
    const h2 = h[i + 2]!;
    const h3 = h[i + 3]!;
    const set = setOf(h0, h1, h2, h3);
    const v = this.values[set];
    if (v === undefined) return undefined;
    const at = set * 4;
    const keys = this.keys;
    return keys[at] === h0 && keys[at + 1] === h1 && keys[at + 2] === h2 && keys[at + 3] === h3 ? v : undefined;
  }

  /** Keeps `value` for the `n` halves at `h[i]` (nothing when a half past the fourth is nonzero). */
  keep(h: Uint32Array, i: number, n: number, value: T): void {
    for (let k = 4; k < n; k++) if (h[i + k] !== 0) return;
    const set = setOf(h[i]!, h[i + 1]!, h[i + 2]!, h[i + 3]!);
    const at = set * 4;
    for (let k = 0; k < 4; k++) this.keys[at + k] = h[i + k]!;
    this.values[set] = value;
  }
}

/** The set of four halves: a multiplicative mix of all 128 bits (opcodes, tags and addresses all vary). */
function setOf(h0: number, h1: number, h2: number, h3: number): number {
  let x = Math.imul(h0, 0x9e3779b1) ^ Math.imul(h1, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 15), 0xc2b2ae35) ^ Math.imul(h2, 0x27d4eb2f) ^ Math.imul(h3, 0x165667b1);
  x = Math.imul(x ^ (x >>> 13), 0x9e3779b1);
  return (x ^ (x >>> 16)) & (HALF_SETS - 1);
}
