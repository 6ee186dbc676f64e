// The fetch path of an emulated unit's consume loop (replay/smmuv3/emulator.ts, replay/vtd/unit.ts):
// a command in guest memory → what the unit runs (its "prepared" form, worked out once per distinct
// command), found first by the command's bits in place (no BigInt), else read, decoded (the decode
// cache) and prepared. A prepared command depends only on its bits and the unit's fixed
// configuration, never on the unit's state, so every unit of one configuration can share one
// PreparedFetch (FetchShare): a replay runs the same commands through each policy's physical units
// one policy after the other, and shared entries are still in the CPU's caches when the next
// unit fetches the same command (per-unit tables are not: each policy's own state pushes them out).

import type { Codec, Decoded, DecodeOptions } from '../formats/codec/codec.js';
import { HalfWordCache } from '../formats/codec/word-cache.js';
import { DecodeCache } from './decode-cache.js';
import { DecodedTable } from './decoded-table.js';
import type { Topology } from '../formats/trace/header.js';
import type { GuestMemory } from './memory.js';

export class PreparedFetch<P> {
  private readonly decoder: DecodeCache;
  /** Each decoded command prepared, made once; by its key (decoded-table.ts). */
  private readonly preparedOf = new DecodedTable<P>();
  /** The same, by the command's bits in memory (what `fetch` finds first, with no decode). */
  private readonly inPlace = new HalfWordCache<P>();

  /** `prepare`: a pure function of the decoded command (the configuration is fixed in it). */
  constructor(
    codec: Codec,
    opts: DecodeOptions,
    private readonly prepare: (d: Decoded) => P,
    capacity = 4096,
  ) {
    this.decoder = new DecodeCache(codec, opts, capacity);
  }

  /**
   * The command at `addr` as the unit runs it, read into `raw` (its length many words: a caller's
   * reused array, left as it was on a hit in place); undefined when the fetch aborts.
   */
  fetch(mem: GuestMemory, addr: number, raw: bigint[]): P | undefined {
    const n = raw.length * 2;
    const h = mem.halvesAt(addr, n * 4);
    const i = mem.halvesIndex;
    if (h !== undefined) {
      const hit = this.inPlace.find(h, i, n);
      if (hit !== undefined) return hit;
    }
    const d = this.decoder.fetch(mem, addr, raw);
    if (d === undefined) return undefined;
    const p = this.prepared(d);
    if (h !== undefined) this.inPlace.keep(h, i, n, p);
    return p;
  }

  /** The command `words` (read by the caller) as the unit runs it. */
  decode(words: readonly bigint[]): P {
    return this.prepared(this.decoder.decode(words));
  }

  private prepared(d: Decoded): P {
    return this.preparedOf.of(d, this.prepare);
  }
}

/**
 * PreparedFetch instances by configuration, for the units of one replay (each policy's physical
 * units). `key` must name everything `make`'s prepare function depends on (architecture, command
 * width, the unit's fixed capabilities): two units with one key get the same instance.
 */
export class FetchShare {
  private readonly byKey = new Map<string, PreparedFetch<unknown>>();

  of<P>(key: string, make: () => PreparedFetch<P>): PreparedFetch<P> {
    let f = this.byKey.get(key) as PreparedFetch<P> | undefined;
    if (f === undefined) {
      f = make();
      this.byKey.set(key, f);
    }
    return f;
  }
}

/**
 * The FetchShare of the replay whose hosts are made for `topology`: every policy's host of one
 * replay is made for the same Topology object (each share of a parallel replay, in its own thread,
 * for its own), so that object picks the share and the share goes with it. A memo, not state:
 * sharing changes no answer (a prepared command depends on its bits and the unit's configuration
 * alone, which the key names), only where the answers sit in the CPU's caches.
 */
const fetchShares = new WeakMap<Topology, FetchShare>();

export function fetchShareOf(topology: Topology): FetchShare {
  let s = fetchShares.get(topology);
  if (s === undefined) fetchShares.set(topology, (s = new FetchShare()));
  return s;
}
