// GuestMemory.writeHalvesAt (the replay's feed writes each command this way) against writeWords,
// the BigInt path: in a typed region, in sparse RAM, and on a fault range.

import { describe, expect, it } from 'vitest';
import { GuestMemory } from './memory.js';

const BASE = 0x4000_0000;
const WORDS = [0x0000_0100_0000_0003n, 0xffff_8000n]; // high half 0x100 in the first word
const HALVES = new Uint32Array([3, 0x100, 0xffff8000, 0]);

function pair(): [GuestMemory, GuestMemory] {
  const a = new GuestMemory();
  const b = new GuestMemory();
  for (const m of [a, b]) m.addRegion(BigInt(BASE), 4096);
  return [a, b];
}

describe('GuestMemory.writeHalvesAt', () => {
  it('writes what writeWords writes, in a typed region and in sparse RAM', () => {
    for (const addr of [BASE + 32, 0x9000]) {
      const [a, b] = pair();
      expect(a.writeHalvesAt(addr, HALVES)).toBe(true);
      expect(b.writeWords(BigInt(addr), WORDS)).toBe(true);
      expect(a.readWords(BigInt(addr), 2)).toEqual(WORDS);
      expect(a.readWords(BigInt(addr), 2)).toEqual(b.readWords(BigInt(addr), 2));
      // Near miss: the neighbouring slot was not written.
      expect(a.readWords(BigInt(addr + 16), 2)).toEqual([0n, 0n]);
    }
  });

  it('refuses a fault range, as writeWords does', () => {
    const [a] = pair();
    a.addFault(BigInt(BASE + 32), 16n);
    expect(a.writeHalvesAt(BASE + 32, HALVES)).toBe(false);
    expect(a.writeHalvesAt(BASE + 48, HALVES)).toBe(true);
    expect(a.readWords(BigInt(BASE + 48), 2)).toEqual(WORDS);
  });
});

describe('GuestMemory 32-bit stores and loads', () => {
  const HIGH = 2n ** 53n + 0x1000n; // sparse words by BigInt
  const each = [BigInt(BASE + 64), 0x9000n, HIGH];

  it('keeps the other half of the word, in a typed region, sparse RAM and high sparse RAM', () => {
    for (const addr of each) {
      const [a] = pair();
      expect(a.writeWords(addr, [0x1111_2222_3333_4444n])).toBe(true);
      expect(a.write32(addr + 4n, 0xaaaa_bbbb)).toBe(true);
      expect(a.readWords(addr, 1)).toEqual([0xaaaa_bbbb_3333_4444n]);
      expect(a.write32(addr, 0xcccc_dddd)).toBe(true);
      expect(a.readWords(addr, 1)).toEqual([0xaaaa_bbbb_cccc_ddddn]);
      expect(a.read32(addr)).toBe(0xcccc_dddd);
      expect(a.read32(addr + 4n)).toBe(0xaaaa_bbbb);
      // Near miss: the next word was not written.
      expect(a.read32(addr + 8n)).toBe(0);
      expect(a.readWords(addr + 8n, 1)).toEqual([0n]);
    }
  });

  it('answers by number as by BigInt, and refuses unaligned and faulting addresses', () => {
    for (const addr of [BASE + 64, 0x9000, 0x7_ffff_fff8]) {
      const [a, b] = pair();
      expect(a.write32At(addr + 4, 0x8000_0001)).toBe(true);
      expect(b.write32(BigInt(addr + 4), 0x8000_0001)).toBe(true);
      expect(a.readWords(BigInt(addr), 1)).toEqual(b.readWords(BigInt(addr), 1));
      expect(a.readWords(BigInt(addr), 1)).toEqual([0x8000_0001_0000_0000n]);
      expect(a.read32At(addr + 4)).toBe(b.read32(BigInt(addr + 4)));
      expect(a.write32At(addr + 2, 1)).toBe(false);
      expect(a.read32At(addr + 2)).toBeUndefined();
      a.addFault(BigInt(addr), 4n);
      expect(a.write32At(addr, 1)).toBe(false);
      expect(a.write32At(addr + 4, 1)).toBe(true); // the fault covers the word's low half only
      expect(a.read32At(addr + 4)).toBeUndefined(); // a load reads the whole word
    }
  });
});
