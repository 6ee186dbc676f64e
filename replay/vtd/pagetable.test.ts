// The page-table model's output address (pagetable.ts `pa`): the DID from bit 52, the PASID's low
// 4 bits from bit 48, the address below, as the shifts written out.

import { describe, expect, it } from 'vitest';
import { PageTableModel } from './pagetable.js';

describe('PageTableModel.pa', () => {
  it('is (did << 52) | ((pasid & 0xf) << 48) | iova', () => {
    const t = new PageTableModel();
    for (const did of [0, 1, 2, 0x1234, 0xffff])
      for (const pasid of [0, 1, 0xf, 0x10, 0x1f, 0xfffff])
        for (const iova of [0n, 0x1000n, 0xffff_ffff_f000n])
          expect(t.pa(did, pasid, iova)).toBe((BigInt(did) << 52n) | (BigInt(pasid & 0xf) << 48n) | iova);
  });
});
