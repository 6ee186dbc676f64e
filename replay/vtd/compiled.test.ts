// The halves encoders (compiled.ts) against the codec's own encode: the same words for each
// descriptor the host builds, with fields on both sides of bit 32 and split fields (PFSID).

import { describe, expect, it } from 'vitest';
import { VTD } from '../../formats/codecs.js';
import { unwrap } from '../../formats/result.js';
import type { VtdDescName } from '../../formats/vtd/descriptors.js';
import { halvesEncoder, halvesOf, wordsOf } from './compiled.js';

const CASES: readonly [VtdDescName, Record<string, bigint>][] = [
  ['p_iotlb_inv', { G: 3n, DID: 0xbeefn, PASID: 0xfffffn, ADDR: 0xffff_ffff_ffff_f000n, AM: 0x3fn, IH: 1n }],
  ['p_iotlb_inv', { G: 2n, DID: 2n, PASID: 0n, ADDR: 0x1234_5678_9000n, AM: 9n, IH: 0n }],
  ['dev_tlb_inv', { SID: 0xffffn, MIP: 0x1fn, PFSID: 0xabcdn, ADDR: 0x7fff_ffff_ffff_f000n, S: 1n }],
  ['inv_wait', { SW: 1n, IF: 1n, FN: 1n, STATUS_DATA: 0xffff_ffffn, STATUS_ADDR: 0x1001_0ffcn }],
  ['pc_inv', { G: 1n, DID: 0x8000n, PASID: 0x80000n }],
  ['iotlb_inv', { G: 2n, DW: 1n, DR: 1n, DID: 0xffffn, AM: 1n, IH: 1n, ADDR: 0xf000n }],
];

describe('halvesEncoder', () => {
  it('encodes what the codec encodes, with numbers or BigInts, into a reused array', () => {
    const out = new Uint32Array(8).fill(0xffffffff); // stale bits: an encoder must not keep them
    for (const [name, values] of CASES) {
      const names = Object.keys(values);
      const enc = halvesEncoder(name, 4, names);
      const want = unwrap(VTD.encode(name, values, 4));
      expect(wordsOf(enc(out, ...Object.values(values)))).toEqual(want);
      const asNumbers = Object.values(values).map((v) => (v < 2n ** 53n ? Number(v) : v));
      expect(wordsOf(enc(out, ...asNumbers))).toEqual(want);
      expect(enc(out, ...asNumbers)).toEqual(halvesOf(want));
      // Near miss: one field one lower is another descriptor.
      const other = Object.values(values).map((v, i) => (i === 1 && v > 0n ? v - 1n : v));
      expect(wordsOf(enc(out, ...other))).not.toEqual(want);
    }
  });
});
