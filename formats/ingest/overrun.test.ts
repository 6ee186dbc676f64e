// RingWatch's consumer with a count of rejected slots: with none it takes everything published at
// once; a slot rewritten (rejected again, or fixed) keeps the count right, so the consumer still
// stops at every slot whose last command is rejected (spec/smmuv3.md §1.3: CONS stays on a
// CERROR_ILL command until GERRORN).

import { describe, expect, it } from 'vitest';
import { RingWatch } from './overrun.js';

/**
 * An 8-entry SMMUv3 queue: `writes` first, then a doorbell that publishes slot 0, then 8 more
 * commands (slots 1..7, 0) and a doorbell publishing them: 9 entries behind a consumer stopped at
 * slot 0 (a warning), 8 behind a free one.
 */
function run(writes: [number, boolean][]): string[] {
  const w = new RingWatch(8, 'smmuv3');
  for (const [slot, rejected] of writes) w.command(slot, rejected);
  w.doorbell(1, 0, 'first');
  for (const s of [1, 2, 3, 4, 5, 6, 7, 0]) w.command(s, false);
  w.doorbell(1, 1, 'second');
  return w.warnings;
}

describe('RingWatch: rejected slots counted', () => {
  it('a slot rejected, rejected again, then fixed does not stop the consumer', () => {
    expect(
      run([
        [0, true],
        [0, true],
        [0, false],
      ]),
    ).toEqual([]);
  });

  it('one of two rejected slots fixed: the consumer still stops at the other', () => {
    const w = run([
      [0, true],
      [5, true],
      [5, false],
    ]);
    expect(w).toEqual([
      expect.stringMatching(/^second: the doorbell \(producer 1, wrap 1\) leaves 9 entries behind the consumer stopped at slot 0/),
    ]);
  });

  it('a slot rejected twice and fixed once was fixed: a rejected one stops the consumer', () => {
    expect(run([[0, true]])).toHaveLength(1);
    expect(
      run([
        [3, true],
        [3, true],
        [3, false],
        [0, true],
      ]),
    ).toHaveLength(1);
  });
});
