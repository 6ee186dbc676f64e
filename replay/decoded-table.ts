// Answers kept per decoded command without hashing it: a table indexed by the command's key
// (Decoded.key, the small number the decode cache that made it gave it, replay/decode-cache.ts).
// The replay's per-command caches (a VMM's host entries, a unit's prepared command, a queue's
// classification) are hit once or more per command per policy; a WeakMap by Decoded costs a hash
// look-up each time (WeakMapLookupHashIndex, FindOrderedHashMapEntry), an element load does not.
//
// Two decode caches may give the same key to different commands, and a cache reuses its keys
// once it has made `capacity` commands, so each entry also holds the command it answers for: a
// look-up hits only on that very command, and a command met under a taken key replaces the entry
// (a miss only costs the caller its slower path, as in any bounded cache). The table grows to the
// largest key it has seen, which a decode cache bounds; commands with no key (-1: made outside a
// decode cache, as tests do) are kept in a WeakMap, so they live and die as before.

import type { Decoded } from '../formats/codec/codec.js';

export class DecodedTable<T> {
  /** The command each entry answers for, by key (undefined: none yet). */
  private readonly owners: (Decoded | undefined)[] = [];
  private readonly values: (T | undefined)[] = [];
  /** Answers for commands without a key. */
  private unkeyed: WeakMap<Decoded, T> | undefined;

  /** The answer kept for `d`, if any. */
  get(d: Decoded): T | undefined {
    const k = d.key;
    if (k < 0) return this.unkeyed?.get(d);
    return this.owners[k] === d ? this.values[k] : undefined;
  }

  /** Keeps `value` for `d`, replacing what its key held. */
  set(d: Decoded, value: T): void {
    const k = d.key;
    if (k < 0) {
      (this.unkeyed ??= new WeakMap()).set(d, value);
      return;
    }
    // Grown one element at a time up to the key (a store far past the end would make the arrays
    // sparse: dictionary elements, a hash look-up again).
    while (this.owners.length <= k) {
      this.owners.push(undefined);
      this.values.push(undefined);
    }
    this.owners[k] = d;
    this.values[k] = value;
  }

  /** The answer for `d`, made by `make` on first use (and again after its entry was taken). */
  of(d: Decoded, make: (d: Decoded) => T): T {
    const k = d.key;
    if (k >= 0 && this.owners[k] === d) return this.values[k] as T;
    const v = k < 0 ? this.unkeyed?.get(d) : undefined;
    if (v !== undefined) return v;
    const made = make(d);
    this.set(d, made);
    return made;
  }
}
