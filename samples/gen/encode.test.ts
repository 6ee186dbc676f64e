// The generator's compiled encoders place every bit where the codec's own encoder does.
import { describe, expect, it } from 'vitest';
import { SMMUV3, VTD } from '../../formats/codecs.js';
import { Rng } from '../rng.js';
import { compileEncoder } from './encode.js';

const cases = [
  [SMMUV3, 'CMD_TLBI_NH_VA', ['ASID', 'NUM', 'SCALE', 'LEAF', 'TTL', 'TG', 'ADDR'], 2],
  [SMMUV3, 'CMD_ATC_INV', ['SID', 'SIZE', 'ADDR'], 2],
  [VTD, 'iotlb_inv', ['G', 'DW', 'DR', 'DID', 'AM', 'IH', 'ADDR'], 2],
  [VTD, 'dev_tlb_inv', ['SID', 'MIP', 'S', 'ADDR', 'PFSID'], 2],
  [VTD, 'p_iotlb_inv', ['G', 'DID', 'PASID', 'AM', 'IH', 'ADDR'], 4],
] as const;

describe.each(cases)('%s', (codec, op, fields, words) => {
  it('agrees with Codec.encode on random field values', () => {
    const enc = compileEncoder(codec, op, fields, words);
    const def = codec.lookup(op)!;
    const rng = new Rng(7);
    for (let i = 0; i < 200; i++) {
      const values = fields.map((name) => {
        const f = def.fields.find((x) => x.name === name)!;
        return f.addr ? rng.bits(f.width) & f.inPlaceMask : rng.bits(f.width);
      });
      const want = codec.encode(op, Object.fromEntries(fields.map((n, k) => [n, values[k]!])), words);
      expect(want.ok).toBe(true);
      expect(enc(values)).toEqual(want.ok ? want.value : []);
    }
  });
  it('refuses a value wider than its field', () => {
    const enc = compileEncoder(codec, op, fields, words);
    const wide = fields.map((n) => (def(codec, op, n).addr ? 0n : 1n << BigInt(def(codec, op, n).width)));
    expect(() => enc(wide)).toThrow(/does not fit/);
  });
});

function def(codec: typeof SMMUV3, op: string, name: string) {
  return codec.lookup(op)!.fields.find((f) => f.name === name)!;
}
