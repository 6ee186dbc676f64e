// The oracle's probe look-up (`Smmuv3.hits`) asked for some HIT_* bits only: it may skip the
// other caches' look-ups, but each bit asked for is the one the full look-up gives. Caches are
// filled by translations and partly invalidated by real commands, so every bit is set for some
// probe and clear for another (spec/smmuv3.md §3: a leaf-only TLBI keeps the walk entries; §4:
// ATC_INV leaves the TLB alone). Given a probe's page number, it indexes its caches by that.
import { describe, expect, it } from 'vitest';
import { pageOf } from '../probe-plan.js';
import { HIT_ALL, HIT_ATC, HIT_CONFIG, HIT_IOTLB, HIT_WALK } from '../unit.js';
import { GuestQueue, SYNC, cmd } from './testing.js';

const DEV = 0x8;
const ASID = 1;
const A = 0x1000_0000n;
const B = 0x2000_0000n;
/** Never translated: nothing of it is cached but the configuration. */
const C = 0x3000_0000n;

function filled(): GuestQueue {
  const q = new GuestQueue(4);
  q.unit.setSte(DEV, { cds: { 0: ASID }, ats: true });
  for (const a of [A, B]) expect(q.unit.translate(DEV, undefined, a).ok).toBe(true);
  // A's leaf entry goes (LEAF=1: its walk entries stay); B's ATC entry goes (its TLB entries stay).
  q.push(cmd('CMD_TLBI_NH_VA', { ASID, ADDR: A, LEAF: 1 }), cmd('CMD_ATC_INV', { SID: DEV, ADDR: B, SIZE: 0 }), SYNC);
  return q;
}

describe('Smmuv3.hits with the bits asked for', () => {
  it('answers every subset of HIT_* bits as the full look-up does', () => {
    const q = filled();
    for (const a of [A, B, C]) {
      const all = q.unit.hits(DEV, undefined, a);
      for (let want = 0; want <= HIT_ALL; want++) expect(q.unit.hits(DEV, undefined, a, want) & want).toBe(all & want);
      // Given the address's page number too (as the oracle does), the caches are indexed by it.
      expect(q.unit.hits(DEV, undefined, a, HIT_ALL, pageOf(a))).toBe(all);
    }
  });

  it('fills by page number what it fills by address', () => {
    const byAddr = filled();
    const byPage = filled();
    const D = 0x4000_5000n;
    expect(byAddr.unit.translate(DEV, undefined, D).ok).toBe(true);
    expect(byPage.unit.translate(DEV, undefined, D, pageOf(D)).ok).toBe(true);
    for (const a of [A, B, C, D]) expect(byPage.unit.hits(DEV, undefined, a)).toBe(byAddr.unit.hits(DEV, undefined, a));
    expect(byPage.unit.hits(DEV, undefined, D) & HIT_IOTLB).toBe(HIT_IOTLB);
    // The 48-bit input range (tables.ts INPUT_BITS) by page number: its last page translates, the next faults.
    const last = (1n << 48n) - 0x1000n;
    expect(byPage.unit.translate(DEV, undefined, last, pageOf(last)).ok).toBe(true);
    expect(byPage.unit.translate(DEV, undefined, last + 0x1000n, pageOf(last + 0x1000n))).toEqual({ ok: false, fault: 'F_TRANSLATION' });
    expect(byAddr.unit.translate(DEV, undefined, last + 0x1000n)).toEqual({ ok: false, fault: 'F_TRANSLATION' });
  });

  it('still finds each kind of entry when asked for it alone', () => {
    const q = filled();
    const hit = (a: bigint, want: number) => (q.unit.hits(DEV, undefined, a, want) & want) !== 0;
    // A: leaf gone, walk entries and ATC entry kept.
    expect(hit(A, HIT_IOTLB)).toBe(false);
    expect(hit(A, HIT_WALK)).toBe(true);
    expect(hit(A, HIT_ATC)).toBe(true);
    // B: TLB leaf kept, ATC entry gone.
    expect(hit(B, HIT_IOTLB)).toBe(true);
    expect(hit(B, HIT_ATC)).toBe(false);
    // C: only the configuration (STE and CD cached by the translations of A and B).
    expect(hit(C, HIT_CONFIG)).toBe(true);
    expect(hit(C, HIT_IOTLB | HIT_ATC)).toBe(false);
  });
});
