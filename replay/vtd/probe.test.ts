// Probe test: fill every cache by translation, run one invalidation through the queue, probe again.
// Exactly the entries the descriptor covers must miss, for every scope kind of spec/vtd.md §2.2
// (sizes: §3). The expected coverage below is written from the spec rules, independently of the
// emulator's code: a point loses a cache entry iff the rule of that descriptor covers it.
import { describe, expect, it } from 'vitest';
import { HIT_ATC, HIT_CONFIG, HIT_IOTLB, HIT_WALK, type CacheHits } from '../unit.js';
import { desc, rig } from './testkit.js';
import type { DeviceEntry } from './caches.js';

const A = 0x100; // DID 6, ATS
const B = 0x104; // DID 6, no ATS (same function-mask group as A when FM ignores bit 2)
const C = 0x010; // DID 7, no ATS
const D = 0x101; // DID 8, ATS (same group as A when FM ignores bits 2:0)
const DEVICES: [number, DeviceEntry][] = [
  [A, { did: 6, ats: true }],
  [B, { did: 6, ats: false }],
  [C, { did: 7, ats: false }],
  [D, { did: 8, ats: true }],
];
const LARGE = { base: 0x40000000n, bytes: 0x40000000n, level: 2 as const }; // 2 MiB leaves in [1 GiB, 2 GiB)
const IOVAS = [0x1000n, 0x2000n, 0x3000n, 0x5000n, 0x200000n, 0x40001000n, 0x40200000n, 0x8000000000n];
const SHIFT = [0, 12, 21, 30, 39];

interface Point {
  readonly sid: number;
  readonly did: number;
  readonly ats: boolean;
  readonly pasid: number | undefined;
  readonly iova: bigint;
  readonly leaf: 1 | 2;
}

interface Range {
  readonly base: bigint;
  readonly bytes: bigint;
}

const overlaps = (a: Range, b: Range) => a.base < b.base + b.bytes && b.base < a.base + a.bytes;
/** The region an entry at `level` covering `iova` maps (leaf or paging-structure). */
const region = (iova: bigint, level: number): Range => {
  const bytes = 1n << BigInt(SHIFT[level]!);
  return { base: iova & ~(bytes - 1n), bytes };
};
/** PSI (§3): 2^AM pages from ADDR with its low AM page bits ignored. */
const psi = (addr: bigint, am: number): Range => ({ base: addr & ~((4096n << BigInt(am)) - 1n), bytes: 4096n << BigInt(am) });
const leafIn = (p: Point, r: Range) => overlaps(region(p.iova, p.leaf), r);
/** IH=0 (§3): every paging-structure entry used for an address of the range goes too. */
const walkIn = (p: Point, r: Range) => [2, 3, 4].some((l) => l > p.leaf && overlaps(region(p.iova, l), r));

type Cover = Partial<Record<keyof CacheHits, (p: Point) => boolean>>;
interface Case {
  readonly name: string;
  readonly words: bigint[];
  readonly covers: Cover;
}

/** Cases for both modes (legacy 128-bit and scalable 256-bit queues). The IOTLB tag's PASID is implicit. */
const COMMON: Case[] = [
  { name: 'context global', words: desc('cc_inv', { G: 1 }), covers: { config: () => true } },
  { name: 'context domain-selective DID 6', words: desc('cc_inv', { G: 2, DID: 6 }), covers: { config: (p) => p.did === 6 } },
  { name: 'context device SID 0x100 FM 0', words: desc('cc_inv', { G: 3, SID: A, FM: 0 }), covers: { config: (p) => p.sid === A } },
  {
    name: 'context device SID 0x100 FM 1 (ignores SID bit 2)',
    words: desc('cc_inv', { G: 3, SID: A, FM: 1 }),
    covers: { config: (p) => (p.sid & ~4) === A },
  },
  {
    name: 'context device SID 0x100 FM 3 (ignores SID bits 2:0)',
    words: desc('cc_inv', { G: 3, SID: A, FM: 3 }),
    covers: { config: (p) => (p.sid & ~7) === A },
  },
  { name: 'IOTLB global', words: desc('iotlb_inv', { G: 1 }), covers: { iotlb: () => true, walk: () => true } },
  {
    name: 'IOTLB DSI DID 6 (every PASID of the domain)',
    words: desc('iotlb_inv', { G: 2, DID: 6 }),
    covers: { iotlb: (p) => p.did === 6, walk: (p) => p.did === 6 },
  },
  {
    name: 'IOTLB PSI DID 6 0x2000 AM 0 IH 0',
    words: desc('iotlb_inv', { G: 3, DID: 6, ADDR: 0x2000n, AM: 0 }),
    covers: { iotlb: (p) => p.did === 6 && leafIn(p, psi(0x2000n, 0)), walk: (p) => p.did === 6 && walkIn(p, psi(0x2000n, 0)) },
  },
  {
    name: 'IOTLB PSI DID 6 0x0 AM 2 IH 1 (leaves only)',
    words: desc('iotlb_inv', { G: 3, DID: 6, ADDR: 0n, AM: 2, IH: 1 }),
    covers: { iotlb: (p) => p.did === 6 && leafIn(p, psi(0n, 2)) },
  },
  {
    name: 'IOTLB PSI DID 6 0x3000 AM 1: low AM bits of ADDR ignored',
    words: desc('iotlb_inv', { G: 3, DID: 6, ADDR: 0x3000n, AM: 1, IH: 1 }),
    covers: { iotlb: (p) => p.did === 6 && leafIn(p, psi(0x2000n, 1)) },
  },
  {
    name: 'IOTLB PSI DID 6 0x40000000 AM 9: a 2 MiB range hits the large leaf',
    words: desc('iotlb_inv', { G: 3, DID: 6, ADDR: 0x40000000n, AM: 9 }),
    covers: { iotlb: (p) => p.did === 6 && leafIn(p, psi(0x40000000n, 9)), walk: (p) => p.did === 6 && walkIn(p, psi(0x40000000n, 9)) },
  },
  {
    name: 'device-TLB S=0: one page',
    words: desc('dev_tlb_inv', { SID: A, ADDR: 0x2000n }),
    covers: { atc: (p) => p.sid === A && p.pasid === undefined && leafIn(p, { base: 0x2000n, bytes: 4096n }) },
  },
  // S=1: the lowest zero bit of ADDR at or above 12 gives the size (§3).
  {
    name: 'device-TLB S=1 ADDR 0x2000: 8 KiB',
    words: desc('dev_tlb_inv', { SID: A, ADDR: 0x2000n, S: 1 }),
    covers: { atc: (p) => p.sid === A && p.pasid === undefined && leafIn(p, { base: 0x2000n, bytes: 0x2000n }) },
  },
  {
    name: 'device-TLB S=1 ADDR 0x1000: 16 KiB from 0',
    words: desc('dev_tlb_inv', { SID: A, ADDR: 0x1000n, S: 1 }),
    covers: { atc: (p) => p.sid === A && p.pasid === undefined && leafIn(p, { base: 0n, bytes: 0x4000n }) },
  },
  {
    name: 'device-TLB everything (Linux 0x7ffffffffffff001)',
    words: [desc('dev_tlb_inv', { SID: A })[0]!, 0x7ffffffffffff001n],
    covers: { atc: (p) => p.sid === A && p.pasid === undefined },
  },
];

/** PASID-based types: scalable mode only. Requests without PASID use RID_PASID (0) in the IOTLB. */
const tlbPasid = (p: Point) => p.pasid ?? 0;
const SCALABLE: Case[] = [
  {
    name: 'P-IOTLB PASID-selective DID 6 PASID 5',
    words: desc('p_iotlb_inv', { G: 2, DID: 6, PASID: 5 }),
    covers: { iotlb: (p) => p.did === 6 && p.pasid === 5, walk: (p) => p.did === 6 && p.pasid === 5 },
  },
  {
    name: 'P-IOTLB PSI DID 6 PASID 0 (RID_PASID) 0x2000 AM 0 IH 0',
    words: desc('p_iotlb_inv', { G: 3, DID: 6, PASID: 0, ADDR: 0x2000n }),
    covers: {
      iotlb: (p) => p.did === 6 && tlbPasid(p) === 0 && leafIn(p, psi(0x2000n, 0)),
      walk: (p) => p.did === 6 && tlbPasid(p) === 0 && walkIn(p, psi(0x2000n, 0)),
    },
  },
  {
    name: 'P-IOTLB PSI DID 6 PASID 5 0x0 AM 3 IH 1',
    words: desc('p_iotlb_inv', { G: 3, DID: 6, PASID: 5, ADDR: 0n, AM: 3, IH: 1 }),
    covers: { iotlb: (p) => p.did === 6 && p.pasid === 5 && leafIn(p, psi(0n, 3)) },
  },
  { name: 'PASID cache global', words: desc('pc_inv', { G: 3 }), covers: { config: () => true } },
  { name: 'PASID cache domain-selective DID 6', words: desc('pc_inv', { G: 0, DID: 6 }), covers: { config: (p) => p.did === 6 } },
  {
    name: 'PASID cache PASID-selective DID 6 PASID 5',
    words: desc('pc_inv', { G: 1, DID: 6, PASID: 5 }),
    covers: { config: (p) => p.did === 6 && p.pasid === 5 },
  },
  {
    name: 'P-devTLB PASID 5 S=0',
    words: desc('p_dev_tlb_inv', { SID: A, PASID: 5, ADDR: 0x2000n }),
    covers: { atc: (p) => p.sid === A && p.pasid === 5 && leafIn(p, { base: 0x2000n, bytes: 4096n }) },
  },
  {
    name: 'P-devTLB PASID 9 S=0 (no entries of that PASID)',
    words: desc('p_dev_tlb_inv', { SID: A, PASID: 9, ADDR: 0x2000n }),
    covers: {},
  },
  // G=1: every PASID of the SID (not the translations cached without PASID); S=1 with ADDR bits 12..62 set: everything.
  {
    name: 'P-devTLB G=1 everything',
    words: [desc('p_dev_tlb_inv', { SID: A, PASID: 9 })[0]!, 0x7ffffffffffff801n],
    covers: { atc: (p) => p.sid === A && p.pasid !== undefined },
  },
];

function points(scalable: boolean): Point[] {
  const out: Point[] = [];
  for (const [sid, e] of DEVICES) {
    for (const pasid of scalable ? [undefined, 5] : [undefined]) {
      for (const iova of IOVAS)
        out.push({ sid, did: e.did, ats: e.ats, pasid, iova, leaf: overlaps({ base: iova, bytes: 1n }, LARGE) ? 2 : 1 });
    }
  }
  return out;
}

const KINDS: (keyof CacheHits)[] = ['iotlb', 'walk', 'config', 'atc'];

describe.each([
  ['legacy (128-bit queue)', 16 as const, COMMON],
  ['scalable (256-bit queue)', 32 as const, [...COMMON, ...SCALABLE]],
])('probe after invalidation, %s (spec/vtd.md §2.2, §3)', (_, descBytes, cases) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = rig({ descBytes, devices: DEVICES, unit: { pageTable: { largePages: [LARGE] } } });
    const pts = points(descBytes === 32);
    for (const p of pts) expect(r.unit.translate(p.sid, p.pasid, p.iova).ok).toBe(true);
    const before = pts.map((p) => r.unit.cached(p.sid, p.pasid, p.iova));
    // Everything was filled: a hit in every cache, the device TLB only with ATS.
    before.forEach((h, i) => expect(h).toEqual({ iotlb: true, walk: true, config: true, atc: pts[i]!.ats }));
    const words = descBytes === 32 ? [...c.words, 0n, 0n] : c.words;
    r.submit(words, r.wait(0));
    expect(r.unit.consumer().error).toBeUndefined();
    const wrong: string[] = [];
    pts.forEach((p, i) => {
      const after = r.unit.cached(p.sid, p.pasid, p.iova);
      for (const k of KINDS) {
        const expected = before[i]![k] && !(c.covers[k]?.(p) ?? false);
        if (after[k] !== expected)
          wrong.push(`${k} sid ${p.sid.toString(16)} pasid ${p.pasid} iova ${p.iova.toString(16)}: ${after[k]} (expected ${expected})`);
      }
    });
    expect(wrong).toEqual([]);
    // The descriptor took out at least one entry: the case tests something.
    if (Object.keys(c.covers).length > 0) expect(pts.some((p, i) => KINDS.some((k) => before[i]![k] && c.covers[k]?.(p)))).toBe(true);
  });
});

describe('interrupt entry cache (spec/vtd.md §2.2 type 0x4)', () => {
  it.each([
    ['global', desc('iec_inv', { G: 0 }), () => true],
    ['index-selective IIDX 4 IM 2: entries 4..7', desc('iec_inv', { G: 1, IIDX: 4, IM: 2 }), (i: number) => i >= 4 && i < 8],
    [
      'index-selective IIDX 5 IM 1: low IM bits ignored, 4..5',
      desc('iec_inv', { G: 1, IIDX: 5, IM: 1 }),
      (i: number) => i === 4 || i === 5,
    ],
    ['index-selective IIDX 9 IM 0', desc('iec_inv', { G: 1, IIDX: 9 }), (i: number) => i === 9],
  ])('%s', (_, words, covered) => {
    const r = rig();
    for (let i = 0; i < 16; i++) r.unit.remapInterrupt(i);
    r.submit(words, r.wait(0));
    for (let i = 0; i < 16; i++) expect(r.unit.iecCached(i)).toBe(!covered(i));
  });
});

describe('translation walk (Translator)', () => {
  it('cached() fills nothing; translate() fills context, PASID, walk, IOTLB and the ATS device TLB', () => {
    const r = rig({ descBytes: 32 });
    expect(r.unit.cached(0x100, 3, 0x5000n)).toEqual({ iotlb: false, walk: false, config: false, atc: false });
    const t = r.unit.translate(0x100, 3, 0x5123n);
    expect(t.ok).toBe(true);
    expect(t.pa! & 0xfffn).toBe(0x123n);
    expect(r.unit.cached(0x100, 3, 0x5000n)).toEqual({ iotlb: true, walk: true, config: true, atc: true });
    // Another PASID of the same domain: its own IOTLB tag, the config needs its PASID entry.
    expect(r.unit.cached(0x100, 4, 0x5000n)).toEqual({ iotlb: false, walk: false, config: false, atc: false });
  });

  it('faults: unknown SID, PASID in legacy mode, address beyond 48 bits', () => {
    const r = rig();
    expect(r.unit.translate(0x999, undefined, 0n).ok).toBe(false);
    expect(r.unit.translate(0x100, 1, 0n).ok).toBe(false);
    expect(r.unit.translate(0x100, undefined, 1n << 48n).ok).toBe(false);
  });

  it('a full IOTLB empties before the next insert (bound 1024 by default, like QEMU)', () => {
    const r = rig({ unit: { capacity: { iotlb: 4 } } });
    for (let i = 0; i < 4; i++) r.unit.translate(0x10, undefined, BigInt(i) << 12n);
    expect(r.unit.caches.iotlb.size).toBe(4);
    r.unit.translate(0x10, undefined, 0x10000n);
    expect(r.unit.caches.iotlb.size).toBe(1);
    expect(r.unit.caches.iotlb.fullFlushes).toBe(1);
  });

  it('by page number (the oracle passes pageOf) answers and fills as by address', () => {
    const addrs = [...IOVAS, 0x40000fffn, 0x7fffffffn, (1n << 48n) - 1n, 1n << 48n, -4096n, -1n, 1n << 63n];
    const pageOf = (a: bigint) => Number(a >> 12n);
    for (const descBytes of [16, 32] as const) {
      const opts = { descBytes, devices: DEVICES, unit: { pageTable: { largePages: [LARGE] } } };
      const byAddr = rig(opts);
      const byPage = rig(opts);
      const pasids = descBytes === 32 ? [undefined, 3] : [undefined];
      for (const pasid of pasids) {
        for (const [sid] of DEVICES) {
          for (const a of addrs) {
            expect(byPage.unit.hits(sid, pasid, a, undefined, pageOf(a))).toBe(byAddr.unit.hits(sid, pasid, a));
            expect(byPage.unit.translate(sid, pasid, a + 0x123n, pageOf(a + 0x123n))).toEqual(
              byAddr.unit.translate(sid, pasid, a + 0x123n),
            );
            expect(byPage.unit.hits(sid, pasid, a, undefined, pageOf(a))).toBe(byAddr.unit.hits(sid, pasid, a));
          }
        }
      }
      expect(byPage.unit.caches.iotlb.size).toBe(byAddr.unit.caches.iotlb.size);
      expect(byPage.unit.caches.walk.size).toBe(byAddr.unit.caches.walk.size);
    }
    // The output address: the leaf's, plus the offset (PageTableModel.pa), for a 2 MiB leaf too.
    const r = rig({ devices: DEVICES, unit: { pageTable: { largePages: [LARGE] } } });
    expect(r.unit.translate(C, undefined, 0x40123456n, pageOf(0x40123456n)).pa).toBe((7n << 52n) | (0n << 48n) | 0x40123456n);
  });

  it('hits with `want` answers the bits asked as the full look-up does (Translator.hits)', () => {
    const r = rig({ descBytes: 32, devices: DEVICES, unit: { pageTable: { largePages: [LARGE] } } });
    for (const [sid] of DEVICES.slice(0, 3)) for (const a of IOVAS.slice(0, 5)) r.unit.translate(sid, 3, a);
    r.unit.translate(A, undefined, 0x40001000n);
    for (const [sid] of DEVICES)
      for (const pasid of [undefined, 3])
        for (const a of IOVAS) {
          const all = r.unit.hits(sid, pasid, a);
          for (const want of [HIT_ATC, HIT_IOTLB, HIT_WALK, HIT_CONFIG, HIT_ATC | HIT_WALK])
            expect(r.unit.hits(sid, pasid, a, want) & want, `${sid} ${pasid} ${a} ${want}`).toBe(all & want);
        }
  });
});
