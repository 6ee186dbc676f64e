// The guest queue's slot of an absolute position (guest-queue.ts slotOf): the low bits of the
// position, the same as `pos % entries` for every power-of-two size and for positions past 2^31
// (many laps), and a size that is no power of two is refused rather than mis-sliced.
import { describe, expect, it } from 'vitest';
import { parseHeader, type TraceHeader } from '../formats/trace/header.js';
import { GuestQueue, slotOf } from './guest-queue.js';
import { cmd } from './smmuv3/encode.js';

const header = (arch: 'smmuv3' | 'vtd', entries: number): TraceHeader => {
  const h = parseHeader({ invtrace: 1, arch, queue_entries: entries });
  if (!h.ok) throw new Error('bad header');
  return h.value;
};

const POSITIONS = [0, 1, 7, 8, 9, 255, 256, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 3, 2 ** 32 + 5, 2 ** 40 + 17, 2 ** 52 + 2 ** 19 + 6];

describe('slotOf', () => {
  it('is pos % entries for every power-of-two size up to 2^19, past 2^31 too', () => {
    for (let n = 0; n <= 19; n++) {
      const entries = 2 ** n;
      for (const pos of POSITIONS) expect(slotOf(pos, entries - 1)).toBe(pos % entries);
    }
  });
});

describe('GuestQueue slots', () => {
  it('reads back what was written to a slot at every lap of its position', () => {
    for (const arch of ['smmuv3', 'vtd'] as const) {
      const q = new GuestQueue(header(arch, 8));
      const halves = new Uint32Array(q.descBytes / 4);
      const causes = ['map', 'unmap', undefined] as const;
      for (let slot = 0; slot < 8; slot++) q.write(100 + slot, slot, halves, causes[slot % 3]);
      for (const pos of POSITIONS) {
        expect(q.seqAt(pos)).toBe(100 + (pos % 8));
        expect(q.causeAt(pos)).toBe(causes[(pos % 8) % 3]);
        expect(q.mapFlushAt(pos)).toBe(q.causeAt(pos) === 'map');
      }
    }
  });

  it('refuses a size that is not a power of two (its slots are not the low bits)', () => {
    const h = { ...header('vtd', 8), queue_entries: 12 };
    expect(() => new GuestQueue(h)).toThrow(/power of two/);
  });

  it('names a completion by its command and slot, again after the slot holds another command', () => {
    const q = new GuestQueue(header('smmuv3', 16));
    const halves = (w: readonly bigint[]) => new Uint32Array(w.flatMap((x) => [Number(x & 0xffffffffn), Number(x >> 32n)]));
    q.write(1, 11, halves(cmd('CMD_SYNC')), undefined);
    expect(q.completedAt(16 * 3 + 11)).toBe('the CMD_SYNC at slot 11 completed');
    q.write(2, 11, halves(cmd('CMD_TLBI_NH_ALL')), undefined);
    expect(q.completedAt(11)).toBe('the CMD_TLBI_NH_ALL at slot 11 completed');
  });
});
