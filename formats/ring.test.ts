// Ring arithmetic at every queue size the architectures allow (spec/smmuv3.md §1.2, spec/vtd.md §1.1).
import { describe, expect, it } from 'vitest';
import { SmmuRing, VtdRing } from './ring.js';

describe('SMMUv3 wrap/full/empty (spec/smmuv3.md §1.2)', () => {
  for (let n = 1; n <= 19; n++) {
    it(`LOG2SIZE ${n}: a lap flips the wrap bit; full and empty are told apart by it`, () => {
      const r = new SmmuRing(n);
      const entries = 1 << n;
      let prod = 0;
      const cons = 0;
      expect(r.empty(prod, cons)).toBe(true);
      // Fill the queue: walk prod by entries steps (jumping for large sizes).
      const step = Math.max(1, entries >> 4);
      for (let k = 0; k < entries; k += step) {
        for (let j = 0; j < step && k + j < entries; j++) prod = r.inc(prod);
        const used = Math.min(k + step, entries);
        expect(r.used(prod, cons)).toBe(used);
        expect(r.free(prod, cons)).toBe(entries - used);
      }
      expect(r.pos(prod)).toEqual({ index: 0, wrap: 1 });
      expect(r.full(prod, cons)).toBe(true);
      expect(r.empty(prod, cons)).toBe(false);
      // Consume it all: cons catches up on the other lap; the queue is empty again.
      let c = cons;
      for (let k = 0; k < entries; k++) c = r.inc(c);
      expect(r.empty(prod, c)).toBe(true);
      // One more full lap returns both to wrap 0.
      let p2 = prod;
      for (let k = 0; k < entries; k++) p2 = r.inc(p2);
      expect(r.pos(p2)).toEqual({ index: 0, wrap: 0 });
      // Bits above N (CONS.ERR at [30:24] for small N) do not take part.
      if (n < 24) expect(r.pos((1 << 24) | r.value({ index: 1, wrap: 1 }))).toEqual({ index: 1, wrap: 1 });
    });
  }
  it('consumed() follows Linux queue_consumed across a wrap', () => {
    const r = new SmmuRing(2); // 4 entries
    const pos = r.value({ index: 3, wrap: 0 });
    expect(r.consumed(r.value({ index: 3, wrap: 0 }), pos)).toBe(false);
    expect(r.consumed(r.value({ index: 0, wrap: 1 }), pos)).toBe(true);
    expect(r.consumed(r.value({ index: 2, wrap: 1 }), pos)).toBe(true);
    expect(r.consumed(r.value({ index: 3, wrap: 1 }), pos)).toBe(true); // a whole lap later
    expect(r.consumed(r.value({ index: 2, wrap: 0 }), pos)).toBe(false);
  });
  it('refuses LOG2SIZE above 19 (QEMU caps CMDQS at 19)', () => {
    expect(() => new SmmuRing(20)).toThrow();
  });
});

describe('VT-d head/tail (spec/vtd.md §1.1)', () => {
  it('entries = 2^(QS+8-DW); IQT/IQH shift by 4 or 5', () => {
    expect(VtdRing.entriesOf(0, 0)).toBe(256);
    expect(VtdRing.entriesOf(1, 1)).toBe(256);
    expect(VtdRing.entriesOf(7, 0)).toBe(32768);
    const legacy = new VtdRing(256, 16);
    expect(legacy.index(0x680)).toBe(104);
    const scalable = new VtdRing(256, 32);
    expect(scalable.index(0x1c0)).toBe(14); // captures README: 0x1c0 -> tail 14
  });
  for (let e = 2; e <= 32768; e *= 2) {
    it(`${e} entries: one slot stays free, wrap to 0 after the last`, () => {
      const r = new VtdRing(e, 16);
      expect(r.next(e - 1)).toBe(0);
      expect(r.free(0, 0)).toBe(e - 1);
      expect(r.used(e - 1, 0)).toBe(e - 1);
      expect(r.free(e - 1, 0)).toBe(0);
      expect(r.used(1, e - 1)).toBe(2 % e);
    });
  }
});
