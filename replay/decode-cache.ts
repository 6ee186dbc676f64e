// One bounded cache of decoded commands in front of either architecture's codec, for the consume
// loops of the emulated units (replay/smmuv3/emulator.ts, replay/vtd/unit.ts) and the guest
// queue's once-per-write decode (replay/guest-queue.ts). Guest queues repeat
// themselves (every CMD_SYNC of a queue is alike, Linux's VT-d waits cycle through 256 status
// words, TLBIs and unmaps recur per page), so most fetches hit.

import type { Codec, Decoded, DecodeOptions } from '../formats/codec/codec.js';

/**
 * Decoded commands by (word 0, word 1), two map levels deep. Bounded: a full cache is emptied
 * before the next insert. A 256-bit VT-d slot with a nonzero qw2/qw3 is decoded every time (it
 * fails validation anyway). Decoded values are immutable, so sharing one between fetches is safe;
 * each keeps a copy of its words, so a caller may fetch into one reused array.
 */
export class DecodeCache {
  private readonly byW0 = new Map<bigint, Map<bigint, Decoded>>();
  private count = 0;

  constructor(
    private readonly codec: Codec,
    private readonly opts: DecodeOptions = {},
    readonly capacity = 4096,
  ) {}

  decode(words: readonly bigint[]): Decoded {
    if (words.length > 2 && (words[2] !== 0n || words[3] !== 0n)) return this.codec.decode(words.slice(), this.opts);
    const w0 = words[0]!;
    const w1 = words[1]!;
    let byW1 = this.byW0.get(w0);
    const hit = byW1?.get(w1);
    if (hit !== undefined) return hit;
    const d = this.codec.decode(words.slice(), this.opts);
    if (this.count >= this.capacity) {
      this.byW0.clear();
      this.count = 0;
      byW1 = undefined;
    }
    if (byW1 === undefined) this.byW0.set(w0, (byW1 = new Map<bigint, Decoded>()));
    byW1.set(w1, d);
    this.count++;
    return d;
  }
}
