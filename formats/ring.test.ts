// Ring arithmetic at every queue size the architectures allow (spec/smmuv3.md §1.2, spec/vtd.md §1.1),
// and the position helpers every layer calls, checked against the spec's own formulas written out here.
import { describe, expect, it } from 'vitest';
import {
  between,
  capacity,
  nextWrap,
  period,
  published,
  RingCursor,
  ringIndex,
  ringWrap,
  SmmuRing,
  step,
  unwrap,
  VtdRing,
  wrapped,
  wrapValue,
} from './ring.js';

describe('SMMUv3 consumed (Linux queue_consumed, spec/smmuv3.md §1.2)', () => {
  const r = new SmmuRing(3); // 8 entries: values are wrap (bit 3) | index
  it('same lap: consumed when CONS is past the index; other lap: when CONS has not reached it again', () => {
    expect(r.consumed(5, 4)).toBe(true); // lap 0, cons 5 > 4
    expect(r.consumed(4, 4)).toBe(false); // the entry at CONS is not consumed yet
    expect(r.consumed(8 | 2, 6)).toBe(true); // cons on lap 1 at 2, entry on lap 0 at 6: 2 <= 6
    expect(r.consumed(8 | 7, 6)).toBe(false); // cons on lap 1 at 7 > 6: the entry is the next lap's
  });
  it('bits above the wrap bit (CONS.ERR) are ignored', () => {
    const err = 1 << 24;
    expect(r.consumed(err | 5, 4)).toBe(true);
    expect(r.consumed(err | 4, 4)).toBe(false);
    expect(r.empty(err | 3, 3)).toBe(true);
    expect(r.full(err | 8 | 3, 3)).toBe(true);
    expect(r.used(err | 8 | 1, 6)).toBe(3); // 6, 7, then 0 on the next lap: 8 - 6 + 1
  });
});

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

describe("positions: the 2E period of a wrap bit against VT-d's E", () => {
  it('period and capacity: SMMUv3 tells 2E positions apart and holds E; VT-d tells E apart and holds E - 1', () => {
    // spec/smmuv3.md §1.2: N+1 bits of PROD/CONS, full = indices equal and wraps differ -> 2^N entries.
    expect(period(256, true)).toBe(512);
    expect(capacity(256, true)).toBe(256);
    // spec/vtd.md §1.1-1.2: IQH/IQT are byte offsets (no wrap bit); IQH == IQT is empty, one slot stays free.
    expect(period(256, false)).toBe(256);
    expect(capacity(256, false)).toBe(255);
  });

  it('wrapValue puts the wrap bit at bit N, as a PROD value holds it; ringIndex/ringWrap take it apart', () => {
    const r = new SmmuRing(3); // E = 8
    for (let pos = 0; pos < 16; pos++) {
      const p = r.pos(pos); // index = bits [2:0], wrap = bit 3
      expect(wrapValue(p.index, p.wrap, 8)).toBe(pos);
      expect([ringIndex(pos, 8), ringWrap(pos, 8)]).toEqual([p.index, p.wrap]);
    }
    // An absolute position: the wrap bit is the parity of its lap (each lap flips it, §1.2 increment).
    expect(ringWrap(5 * 8 + 3, 8)).toBe(1);
    expect(ringWrap(6 * 8 + 3, 8)).toBe(0);
  });

  it("published(cons, prod) on 2E counts the increments from CONS to PROD, and agrees with the spec's free-slot formula", () => {
    const N = 3,
      E = 1 << N;
    const r = new SmmuRing(N);
    for (let cons = 0; cons < 2 * E; cons++) {
      let prod = cons;
      for (let k = 0; k <= E; k++) {
        // k increments of PROD (add 1, keep N+1 bits) publish k entries, at most E (full).
        expect(published(cons, prod, period(E, true))).toBe(k);
        const p = r.pos(prod),
          c = r.pos(cons);
        // spec/smmuv3.md §1.2: free = 2^N - (iprod - icons) when wraps are equal, else icons - iprod.
        expect(p.wrap === c.wrap ? E - (p.index - c.index) : c.index - p.index).toBe(E - k);
        prod = r.inc(prod);
      }
    }
  });

  it('published(head, tail) on E: IQH walks towards IQT modulo the size (spec/vtd.md §1.2)', () => {
    const E = 8;
    expect(published(2, 6, E)).toBe(4);
    expect(published(6, 2, E)).toBe(4); // 6, 7, 0, 1
    expect(published(5, 5, E)).toBe(0); // IQH == IQT: empty
    // The same pair on 2E reads as another lap: why VT-d's hardware pointers must not use 2E.
    expect(published(6, 2, period(E, true))).toBe(12);
  });

  it('step walks forward and back round the ring, wrapping to 0 after the last entry', () => {
    expect(step(7, 1, 8)).toBe(0);
    expect(step(6, 1, 8)).toBe(7);
    expect(step(0, -1, 16)).toBe(15);
    expect(step(2, -4, 16)).toBe(14);
    // Stepping a PROD value by 1 on 2E is the spec's increment (add 1, keep N+1 bits).
    const r = new SmmuRing(3);
    for (let v = 0; v < 16; v++) expect(step(v, 1, 16)).toBe(r.inc(v));
  });

  it('published and step give what `%` gives for every input, in the ring and outside it', () => {
    // They take x % period by compares where x = (next - prev + period) or (pos + n + period) lies in
    // [0, 2 * period) and by `%` elsewhere; the written-out formulas are the reference. The boundaries
    // (x = period - 1, period, 2 * period - 1, 2 * period) and out-of-domain inputs (x < 0: `%` keeps
    // the sign; x >= 2 * period; fractions) are all here, so a compare off by one fails.
    const viaMod = (x: number, p: number) => x % p;
    for (const p of [1, 2, 8, 16, 1 << 20]) {
      const xs = [0, 1, p - 1, p, p + 1, 2 * p - 1, 2 * p, 2 * p + 1, 3 * p + 2, -1, -p, -2 * p - 3, 0.5, p + 0.5, 2 ** 40 + 3];
      for (const x of xs) {
        expect(Object.is(published(0, x - p, p), viaMod(x, p))).toBe(true);
        expect(Object.is(step(x - p, 0, p), viaMod(x, p))).toBe(true);
      }
    }
  });

  it('between is [from, to) going forward, across the end of the ring', () => {
    expect(between(15, 14, 1, 16)).toBe(true);
    expect(between(0, 14, 1, 16)).toBe(true);
    expect(between(14, 14, 1, 16)).toBe(true); // from is in
    expect(between(1, 14, 1, 16)).toBe(false); // to is not
    expect(between(13, 14, 1, 16)).toBe(false);
  });

  it('wrapped: publishing n entries from a position passes the end of the ring when index + n reaches E', () => {
    expect(wrapped(6, 2, 8)).toBe(true); // slots 6, 7: PROD becomes index 0 of the next lap
    expect(wrapped(6, 1, 8)).toBe(false); // slot 6: PROD becomes index 7
    expect(wrapped(8 + 6, 2, 8)).toBe(true); // the same on the wrap-1 lap
    expect(wrapped(3, 8, 8)).toBe(true); // a whole lap (SMMUv3 full): PROD comes back to index 3, wrap flipped
    expect(wrapped(3, 0, 8)).toBe(false);
  });

  it('nextWrap flips the wrap bit when the index moves past the end', () => {
    expect(nextWrap(7, 0, 0)).toBe(1);
    expect(nextWrap(5, 2, 1)).toBe(0);
    expect(nextWrap(2, 5, 1)).toBe(1);
    expect(nextWrap(4, 4, 0)).toBe(0); // VT-d: an equal tail publishes nothing
  });

  for (const wrapBit of [true, false]) {
    it(`unwrap (${wrapBit ? 'SMMUv3, 2E' : 'VT-d, E'}) returns the absolute position a pointer reached, up to a period ahead`, () => {
      const E = 4,
        P = period(E, wrapBit);
      // Absolute position a = lap * E + index; its pointer is (index, lap parity) (spec/smmuv3.md
      // §1.2: each lap flips the wrap bit), or the index alone on VT-d.
      for (let from = 0; from < 5 * E; from++) {
        for (let k = 0; k < P; k++) {
          const a = from + k;
          expect(unwrap(a % E, Math.floor(a / E) % 2, from, E, wrapBit)).toBe(a);
        }
      }
      // A pointer a whole period ahead reads as `from` itself: the ambiguity the period sets.
      expect(unwrap(1, 1, 5, E, wrapBit)).toBe(5);
    });
  }
  it('unwrap with and without the wrap bit differ once the pointer is a lap ahead', () => {
    // from = 5 (lap 1, index 1, wrap 1); pointer index 2 with wrap 0 is lap 2: 10 on SMMUv3;
    // VT-d ignores the wrap, so index 2 is the nearest at or after 5: 6.
    expect(unwrap(2, 0, 5, 4, true)).toBe(10);
    expect(unwrap(2, 0, 5, 4, false)).toBe(6);
  });

  it('RingCursor places entries one after another, flipping the wrap bit each lap (as PROD increments)', () => {
    const E = 4;
    const r = new SmmuRing(2);
    const c = new RingCursor(E, 2);
    let v = 2; // PROD value: index 2, wrap 0
    for (let k = 0; k < 3 * E; k++) {
      expect({ index: c.slot, wrap: c.wrap }).toEqual(r.pos(v));
      c.advance();
      v = r.inc(v);
    }
  });
});
