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
//
// KeyedTable (WordsTable for words arrays) is the same slots for the entries a VMM hands a host,
// found by the key of the guest command they came from (one command may give several under its key).

import type { Decoded } from '../formats/codec/codec.js';

/**
 * The mechanism of both tables: a value per key, each slot holding the owner it answers for, and
 * a WeakMap for owners without a key (and, for WordsTable, those pushed out of their slot).
 */
class OwnedSlots<O extends object, T> {
  /** The owner each slot answers for, by key (undefined: none yet). */
  protected readonly owners: (O | undefined)[] = [];
  protected readonly values: (T | undefined)[] = [];
  /** Answers for owners without a key, or pushed out of their key's slot. */
  protected others: WeakMap<O, T> | undefined;

  /** Keeps `value` for `o` in slot `k` (>= 0); `keepPushedOut`: the slot's previous owner goes to `others`. */
  protected put(o: O, k: number, value: T, keepPushedOut: boolean): void {
    // Grown one element at a time up to the key (a store far past the end would make the arrays
    // sparse: dictionary elements, a hash look-up again).
    while (this.owners.length <= k) {
      this.owners.push(undefined);
      this.values.push(undefined);
    }
    const had = this.owners[k];
    if (keepPushedOut && had !== undefined) (this.others ??= new WeakMap()).set(had, this.values[k] as T);
    this.owners[k] = o;
    this.values[k] = value;
  }
}

export class DecodedTable<T> extends OwnedSlots<Decoded, T> {
  /** The answer kept for `d`, if any. */
  get(d: Decoded): T | undefined {
    const k = d.key;
    if (k < 0) return this.others?.get(d);
    return this.owners[k] === d ? this.values[k] : undefined;
  }

  /** Keeps `value` for `d`, replacing what its key held. */
  set(d: Decoded, value: T): void {
    if (d.key < 0) (this.others ??= new WeakMap()).set(d, value);
    else this.put(d, d.key, value, false);
  }

  /** The answer for `d`, made by `make` on first use (and again after its entry was taken). */
  of(d: Decoded, make: (d: Decoded) => T): T {
    const k = d.key;
    if (k >= 0 && this.owners[k] === d) return this.values[k] as T;
    const v = k < 0 ? this.others?.get(d) : undefined;
    if (v !== undefined) return v;
    const made = make(d);
    this.set(d, made);
    return made;
  }
}

/**
 * Values by an object's identity, found by a small number the caller has for it (the Decoded.key
 * of the guest command the object came from) instead of a WeakMap hash per look-up: a host keeps
 * what it derives from the entries a VMM hands it (kept per decoded command, so the same object
 * comes back for every write of a command). Each slot holds the object it answers for, so a reused
 * or shared key costs a miss, never a wrong answer. An object without a key (-1) is kept in the
 * WeakMap; so is one pushed out of its key's slot by another object of the same key (a command
 * that gave several entries, or a key reused), so objects taking turns at one key are not worked
 * out again.
 */
export class KeyedTable<O extends object, T> extends OwnedSlots<O, T> {
  /** The value kept for `o` (its key `key`, -1: none), or `make(o)` kept. */
  of(o: O, key: number, make: (o: O) => T): T {
    if (key >= 0 && this.owners[key] === o) return this.values[key] as T;
    let v = this.others?.get(o);
    if (v !== undefined) return v;
    v = make(o);
    if (key < 0) (this.others ??= new WeakMap()).set(o, v);
    else this.put(o, key, v, true);
    return v;
  }
}

/** KeyedTable for the entry arrays (words) a VMM hands a host. */
export class WordsTable<T> extends KeyedTable<readonly bigint[], T> {}
