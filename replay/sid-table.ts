// A table of values by SID (an SMMUv3 StreamID, a VT-d source-id), for what both architectures'
// units and host models look up per translation probe (SMMUv3: the configuration cache, each
// device's ATC, the stream table, the host's route of a guest SID; VT-d: the unit's device table,
// the host's devices by guest SID): a direct-mapped array by the SID's low bits, whose slot also keeps the SID it holds, and a
// Map for SIDs whose slot another SID took. So a probe's look-ups are array loads and a compare
// instead of Map look-ups (a hash and a builtin call each, several per probe, paid millions of
// times; docs/replayer.md "The per-event path"), whatever the SIDs' range: a host's physical SIDs
// (pSIDs, e.g. 0x4000..) as much as a guest's small ones.

/** A SID's slot: its low bits (4096 slots; PCI SIDs bus:devfn differ there for up to 16 buses). */
const MASK = 0xfff;

/** What a slot that holds no SID keeps: NaN, equal to no key (not even a NaN key: NaN !== NaN). */
const EMPTY = NaN;

/** Whether `sid` may sit in a slot: an integer 0..2^32−1, a StreamID (others, NaN included, go to the Map). */
const slotted = (sid: number): boolean => sid >>> 0 === sid;

export class SidTable<V> {
  /**
   * Slot i's SID at 2i (EMPTY: none) and its value at 2i + 1, in one array grown to the highest
   * slot used: a look-up loads one array's elements, where the SID and its value sit side by
   * side (one cache line), not two arrays'. The replay's probes find these tables cold (every
   * other policy's state went through the CPU's caches since: docs/replayer.md "sixteenth pass").
   */
  private readonly slots: unknown[] = [];
  /** SIDs whose slot holds another SID, and keys that are no StreamID. */
  private readonly sparse = new Map<number, V>();

  get(sid: number): V | undefined {
    const at = (sid & MASK) << 1;
    const s = this.slots;
    // In bounds first: an out-of-bounds load is undefined, and one such compare would make every
    // compare here the generic StrictEqual builtin instead of a number compare.
    if (at < s.length && s[at] === sid) return s[at + 1] as V | undefined;
    return this.sparse.size === 0 ? undefined : this.sparse.get(sid);
  }

  set(sid: number, v: V): void {
    const at = (sid & MASK) << 1;
    const s = this.slots;
    if (at < s.length && s[at] === sid) {
      s[at + 1] = v;
      return;
    }
    // A SID lives in one place: in the Map if it is there already (its slot was taken when it came).
    if (!slotted(sid) || (at < s.length && slotted(s[at] as number)) || this.sparse.has(sid)) {
      this.sparse.set(sid, v);
      return;
    }
    while (s.length <= at) s.push(EMPTY, undefined); // packed: no holes, no dictionary elements
    s[at] = sid;
    s[at + 1] = v;
  }

  delete(sid: number): void {
    const at = (sid & MASK) << 1;
    const s = this.slots;
    if (at < s.length && s[at] === sid) {
      s[at] = EMPTY;
      s[at + 1] = undefined;
    } else this.sparse.delete(sid);
  }
}
