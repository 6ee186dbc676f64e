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
