// QueueContext's outstanding ATC invalidations (a counted array) against the Set they used to be,
// on random operations: a CMD_SYNC forgets, in first-issue order, the devices that answer, up to
// the first one that does not, whose SID it reports (spec/smmuv3.md §1.3 CERROR_ATC_INV_SYNC).

import { describe, expect, it } from 'vitest';
import { QueueContext } from './emulator.js';
import { Rng } from '../../samples/rng.js';

/** The reference: the Set walk the emulator's CMD_SYNC did. */
function settleSet(set: Set<number>, silent: (sid: number) => boolean): number | undefined {
  for (const sid of set) {
    if (silent(sid)) return sid;
    set.delete(sid);
  }
  return undefined;
}

describe('QueueContext outstanding ATC invalidations', () => {
  it('settles as the Set walk does, over random issues, syncs and device time-outs', () => {
    for (const seed of [1, 2, 3, 4]) {
      const r = new Rng(seed);
      const q = new QueueContext();
      const ref = new Set<number>();
      const silentSids = new Set<number>();
      const silent = (sid: number) => silentSids.has(sid);
      for (let step = 0; step < 5000; step++) {
        const x = r.float();
        const sid = r.int(6);
        if (x < 0.5) {
          q.addAtc(sid);
          ref.add(sid);
        } else if (x < 0.6) {
          if (silentSids.has(sid)) silentSids.delete(sid);
          else silentSids.add(sid);
        } else {
          expect(q.settleAtc(silent)).toBe(settleSet(ref, silent));
        }
      }
    }
  });

  it('reports the first silent device in first-issue order, and keeps it until it answers', () => {
    const q = new QueueContext();
    for (const sid of [5, 3, 5, 9, 3]) q.addAtc(sid); // 5, 3, 9 (each once)
    const silent = new Set([3, 9]);
    expect(q.settleAtc((s) => silent.has(s))).toBe(3); // 5 answered and is forgotten
    silent.delete(3);
    expect(q.settleAtc((s) => silent.has(s))).toBe(9);
    // Near miss: with every device answering, nothing is reported and nothing stays.
    silent.clear();
    expect(q.settleAtc((s) => silent.has(s))).toBeUndefined();
    silent.add(5);
    expect(q.settleAtc((s) => silent.has(s))).toBeUndefined();
  });
});
