// A table of values by StreamID, for what the emulator and the host model look up per translation
// probe (the configuration cache, each device's ATC, the stream table, the host's route of a guest
// SID): StreamIDs 0..MASK index a plain array, others a Map. Topologies number their devices with
// small SIDs, so a probe's look-ups are array loads instead of Map look-ups (a hash and a builtin
// call each, several per probe, paid millions of times; docs/replayer.md "The per-event path").

/** StreamIDs 0..MASK are kept in the array (its length is the largest such SID set, plus one). */
const MASK = 0xfff;

/** Whether `sid` is an array index here: an integer 0..MASK (one AND and a compare). */
const dense = (sid: number): boolean => (sid & MASK) === sid;

export class SidTable<V> {
  private readonly dense: (V | undefined)[] = [];
  private readonly sparse = new Map<number, V>();

  get(sid: number): V | undefined {
    return dense(sid) ? this.dense[sid] : this.sparse.get(sid);
  }

  set(sid: number, v: V): void {
    if (dense(sid)) {
      const a = this.dense;
      while (a.length <= sid) a.push(undefined); // packed: no holes, no dictionary elements
      a[sid] = v;
    } else this.sparse.set(sid, v);
  }

  delete(sid: number): void {
    if (dense(sid)) {
      if (sid < this.dense.length) this.dense[sid] = undefined;
    } else this.sparse.delete(sid);
  }
}
