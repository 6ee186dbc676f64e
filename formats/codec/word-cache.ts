// One bounded cache keyed by a command's words, for whatever is derived from a command alone
// (replay/decode-cache.ts keeps decoded commands, formats/trace/builder.ts the columns of a trace
// row). Guest queues repeat a few hundred distinct commands, so most lookups hit.

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
