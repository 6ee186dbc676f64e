import { describe, expect, it } from 'vitest';
import { SMMUV3 } from '../formats/codecs.js';
import { unwrap } from '../formats/result.js';
import { DecodeCache } from './decode-cache.js';
import { GuestMemory } from './memory.js';

const BASE = 0x4000_0000;
const tlbi = (asid: number, addr: bigint) => unwrap(SMMUV3.encode('TLBI_NH_VA', { ASID: asid, TG: 1, ADDR: addr }));

describe('DecodeCache.fetch', () => {
  it('decodes what memory holds now: a slot rewritten with other words is decoded anew', () => {
    const mem = new GuestMemory();
    mem.addRegion(BigInt(BASE), 4096);
    const c = new DecodeCache(SMMUV3);
    const words = [0n, 0n];
    mem.writeWordsAt(BASE + 16, tlbi(3, 0x10000n));
    const a = c.fetch(mem, BASE + 16, words)!;
    expect(a.fields.ASID).toBe(3n);
    // The same bits again: the value kept for them, words not even read.
    expect(c.fetch(mem, BASE + 16, [0n, 0n])).toBe(a);
    // One field changed (ASID 3 -> 4): a different command.
    mem.writeWordsAt(BASE + 16, tlbi(4, 0x10000n));
    expect(c.fetch(mem, BASE + 16, words)!.fields.ASID).toBe(4n);
    // The first command at another slot: found by its bits wherever it sits.
    mem.writeWordsAt(BASE + 32, tlbi(3, 0x10000n));
    expect(c.fetch(mem, BASE + 32, words)).toBe(a);
  });

  it('reads sparse RAM as before, and aborts where memory faults', () => {
    const mem = new GuestMemory();
    const c = new DecodeCache(SMMUV3);
    mem.writeWords(0x9000n, tlbi(7, 0x2000n));
    expect(c.fetch(mem, 0x9000, [0n, 0n])!.fields.ASID).toBe(7n);
    mem.addFault(0x9000n, 16n);
    expect(c.fetch(mem, 0x9000, [0n, 0n])).toBeUndefined();
  });
});
