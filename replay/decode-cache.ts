// One bounded cache of decoded commands in front of either architecture's codec, for the consume
// loops of the emulated units (replay/smmuv3/emulator.ts, replay/vtd/unit.ts) and the guest
// queue's once-per-write decode (replay/guest-queue.ts). Guest queues repeat
// themselves (every CMD_SYNC of a queue is alike, Linux's VT-d waits cycle through 256 status
// words, TLBIs and unmaps recur per page), so most fetches hit.

import type { Codec, Decoded, DecodeOptions } from '../formats/codec/codec.js';
import { HalfWordCache, WordCache } from '../formats/codec/word-cache.js';
import type { GuestMemory } from './memory.js';

/**
 * Decoded commands by their words (formats/codec/word-cache.ts: bounded, a 256-bit VT-d slot with
 * a nonzero qw2/qw3 decoded every time). Decoded values are immutable, so sharing one between
 * fetches is safe; each keeps a copy of its words, so a caller may fetch into one reused array.
 *
 * Each command this cache makes gets a key (Decoded.key) in [firstKey, firstKey + capacity), the
 * next one in turn, so that its consumers keep their answers in arrays (replay/decoded-table.ts)
 * rather than WeakMaps. Keys are reused after `capacity` commands (the table checks the command,
 * so a reused key only costs a miss); caches whose commands meet in one table take disjoint
 * ranges (`firstKey`) so that they do not take each other's entries.
 */
export class DecodeCache {
  private readonly cache: WordCache<Decoded>;
  /** The same commands by their bits in guest memory, for `fetch` (no BigInt per word on a hit). */
  private readonly inPlace = new HalfWordCache<Decoded>();

  /** The key the next command made gets, less `firstKey`: [0, capacity). */
  private nextKey = 0;

  constructor(
    private readonly codec: Codec,
    private readonly opts: DecodeOptions = {},
    private readonly capacity = 4096,
    private readonly firstKey = 0,
  ) {
    this.cache = new WordCache(capacity);
  }

  decode(words: readonly bigint[]): Decoded {
    const hit = this.cache.find(words);
    if (hit !== undefined) return hit;
    const d = this.codec.decode(words.slice(), this.opts, this.firstKey + this.nextKey);
    this.nextKey = this.nextKey + 1 === this.capacity ? 0 : this.nextKey + 1;
    this.cache.keep(words, d);
    return d;
  }

  /**
   * The command at `addr` in `mem`, `words.length` 64-bit words long; undefined when the fetch
   * aborts (readWordsAt). Found first by its bits in place; only otherwise are its words read,
   * into `words` (a caller's reused array: on a hit it is left as it was), and decoded. The same
   * bits give an equal Decoded either way (decoding depends on the words and options alone).
   */
  fetch(mem: GuestMemory, addr: number, words: bigint[]): Decoded | undefined {
    const n = words.length * 2;
    const h = mem.halvesAt(addr, n * 4);
    const i = mem.halvesIndex;
    if (h !== undefined) {
      const hit = this.inPlace.find(h, i, n);
      if (hit !== undefined) return hit;
    }
    if (!mem.readWordsAt(addr, words)) return undefined;
    const d = this.decode(words);
    if (h !== undefined) this.inPlace.keep(h, i, n, d);
    return d;
  }
}
