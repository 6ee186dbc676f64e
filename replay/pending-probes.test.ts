// PendingProbes (pending-probes.ts): its probe indexes are built when asked for (`index`), and
// then answer as if every record had been indexed at its commit.

import { describe, expect, it } from 'vitest';
import type { Scope } from '../formats/scope.js';
import { NONE, PendingProbes } from './pending-probes.js';
import { HIT_IOTLB, HIT_WALK } from './unit.js';

const SCOPE: Scope = { cache: 'iotlb', leaf: false };

/** A committed record at `pos` with one probe per (slot, page). */
function commit(st: PendingProbes, pos: number, probes: readonly [number, number][]): number {
  const r = st.open();
  for (const [slot, page] of probes) st.addProbe(r, 0x10 + slot, undefined, BigInt(page) << 12n, st.useSlot(slot), page);
  st.commit(r, pos, pos, 'CMD_TLBI_NH_VA', SCOPE, HIT_IOTLB | HIT_WALK);
  return r;
}

/** Probes under (slot, page) in byKey, and the slot's device list, as probe numbers. */
const byKey = (st: PendingProbes, slot: number, page: number): number[] => {
  const out: number[] = [];
  for (let p = st.byKey.first(slot, page); p !== NONE; p = st.byKey.nextOf(p)) out.push(p);
  return out.sort((a, b) => a - b);
};
const onDevice = (st: PendingProbes, slot: number): number[] => {
  const out: number[] = [];
  for (let p = st.firstOnDevice(slot); p !== NONE; p = st.nextOnDevice(p)) out.push(p);
  return out;
};

describe('PendingProbes indexes', () => {
  it('nothing is indexed before `index`; then every pending record is, in publish order', () => {
    const st = new PendingProbes();
    const a = commit(st, 0, [[0, 5]]);
    const b = commit(st, 1, [
      [0, 6],
      [1, 5],
    ]);
    expect(byKey(st, 0, 5)).toEqual([]);
    expect(onDevice(st, 0)).toEqual([]);
    expect(st.devPending[0]).toBe(0);
    st.index();
    expect(byKey(st, 0, 5)).toEqual([st.probesOf(a)]);
    expect(onDevice(st, 0)).toEqual([st.probesOf(a), st.probesOf(b)]);
    expect(st.devPending[0]).toBe(2);
    expect(st.devPending[1]).toBe(1);
    // a later record waits for the next `index`; dropping an indexed one takes its probes out
    const c = commit(st, 2, [[0, 5]]);
    expect(byKey(st, 0, 5)).toEqual([st.probesOf(a)]);
    st.drop(a);
    st.index();
    expect(byKey(st, 0, 5)).toEqual([st.probesOf(c)]);
    expect(onDevice(st, 0)).toEqual([st.probesOf(b), st.probesOf(c)]);
    expect(st.devPending[0]).toBe(2);
  });

  it('a record dropped before it was indexed leaves no trace; the ones after it are indexed', () => {
    const st = new PendingProbes();
    const a = commit(st, 0, [[0, 5]]);
    const b = commit(st, 1, [[0, 5]]);
    st.drop(a);
    expect(st.count).toBe(1);
    st.index();
    expect(byKey(st, 0, 5)).toEqual([st.probesOf(b)]);
    expect(onDevice(st, 0)).toEqual([st.probesOf(b)]);
    expect(st.devPending[0]).toBe(1);
    st.drop(b);
    expect(byKey(st, 0, 5)).toEqual([]);
    expect(onDevice(st, 0)).toEqual([]);
    expect(st.devPending[0]).toBe(0);
    expect(st.byKey.size).toBe(0);
    // recycled numbers start clean
    const c = commit(st, 2, [[1, 7]]);
    st.index();
    expect(byKey(st, 1, 7)).toEqual([st.probesOf(c)]);
    expect(st.byKey.size).toBe(1);
  });
});
