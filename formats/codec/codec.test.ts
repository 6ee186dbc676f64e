// Codec properties over both tables: round trips on generated field values, every reserved bit
// detected, and the spec examples from the shared captures.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../samples/rng.js';
import { maskOf } from '../bits.js';
import { classify } from '../classify.js';
import { SMMUV3, VTD } from '../codecs.js';
import { describeScope } from '../scope.js';
import type { Codec, CompiledOp } from './codec.js';

/** Random values that fit each field (addresses in place), avoiding reserved encodings. */
function randomFields(rng: Rng, op: CompiledOp, codec: Codec): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  const typeMask = codec.table.opcode.reduce((m, r) => (r.w === 0 ? m | maskOf(r) : m), 0n);
  for (const f of op.fields) {
    let v: bigint;
    do {
      v = f.addr ? rng.bits(64) & f.inPlaceMask : rng.bits(f.width);
      // VT-d 2.x page stream response: PASID bits that land on the 3.x type bits cannot be encoded.
      if (!f.addr && f.parts.length === 1 && f.parts[0]!.w === 0) {
        const placed = (v & f.parts[0]!.mask) << f.parts[0]!.lo;
        if ((placed & typeMask) !== 0n) v = (placed & ~typeMask) >> f.parts[0]!.lo;
      }
    } while (f.def.reserved?.includes(Number(v)));
    out[f.name] = v;
  }
  return out;
}

describe.each([
  ['smmuv3', SMMUV3, [2]],
  ['vtd', VTD, [2, 4]],
] as const)('%s codec', (_arch, codec, widths) => {
  const rng = new Rng(0x5eed);
  for (const op of codec.ops) {
    for (const words of widths) {
      if (op.def.wideOnly && words === 2) continue;
      it(`${op.def.name} (${words * 64}-bit): decode(encode(f)) == f and encode(decode(w)) == w`, () => {
        for (let i = 0; i < 200; i++) {
          const fields = randomFields(rng, op, codec);
          const enc = codec.encode(op.def.name, fields, words);
          if (!enc.ok) throw new Error(enc.error.message);
          const dec = codec.decode(enc.value);
          expect(dec.name).toBe(op.def.name);
          expect(dec.error).toBeUndefined();
          expect(dec.fields).toEqual(fields);
          const again = codec.encode(dec.name, dec.fields, words);
          expect(again.ok && again.value).toEqual(enc.value);
        }
      });
    }
    it(`${op.def.name}: every reserved bit is detected`, () => {
      const words = codec.table.maxWords;
      const base = codec.encode(op.def.name, {}, words);
      if (!base.ok) throw new Error(base.error.message);
      let checked = 0;
      for (let w = 0; w < words; w++) {
        for (let b = 0n; b < 64n; b++) {
          const bit = 1n << b;
          if ((op.used[w]! & bit) !== 0n) continue;
          const bad = [...base.value];
          bad[w]! |= bit;
          const dec = codec.decode(bad);
          if (dec.name !== op.def.name) continue; // the bit changed the type (VT-d high type bits)
          expect(dec.error, `${op.def.name} w${w} bit ${b}`).toBeDefined();
          expect(dec.error!.code).toBe(codec.arch === 'smmuv3' ? 'CERROR_ILL' : 'IQE');
          if (codec.arch === 'vtd') expect(dec.error!.value).toBe(4);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
  }

  it('rejects unknown opcodes', () => {
    const known = new Set(codec.ops.map((o) => o.def.code));
    for (let code = 0; code < (codec.arch === 'vtd' ? 0x80 : 0x100); code++) {
      if (known.has(code)) continue;
      const w0 = codec.arch === 'vtd' ? BigInt(code & 0xf) | (BigInt(code >> 4) << 9n) : BigInt(code);
      const d = codec.decode([w0, 0n]);
      expect(d.code).toBe(code);
      expect(d.error?.code).toBe(codec.arch === 'smmuv3' ? 'CERROR_ILL' : 'IQE');
      if (codec.arch === 'vtd') expect(d.error?.value).toBe(3);
    }
  });

  it('refuses values that do not fit and unknown fields', () => {
    const op = codec.ops.find((o) => o.fields.some((f) => !f.addr))!;
    const f = op.fields.find((x) => !x.addr)!;
    expect(codec.encode(op.def.name, { [f.name]: 1n << BigInt(f.width) }).ok).toBe(false);
    expect(codec.encode(op.def.name, { NO_SUCH_FIELD: 1 }).ok).toBe(false);
    expect(codec.encode('NO_SUCH_OP', {}).ok).toBe(false);
  });
});

describe('SMMUv3 examples (shared captures)', () => {
  it('TLBI_NH_VA from guest-smmuv3-strict: asid 1, 4 KiB at 0xffff6000, ttl 3, leaf', () => {
    const d = SMMUV3.decode([0x1000000000012n, 0xffff6701n]);
    expect(d.name).toBe('CMD_TLBI_NH_VA');
    expect(d.error).toBeUndefined();
    expect(d.fields).toMatchObject({ ASID: 1n, VMID: 0n, ADDR: 0xffff6000n, TG: 1n, TTL: 3n, LEAF: 1n, NUM: 0n, SCALE: 0n });
    const c = classify(d);
    expect(c.role).toBe('invalidate');
    expect(describeScope(c.scope!)).toBe('iotlb s1 vmid=0 asid=1 0xffff6000+4K leaf');
  });
  it('CFGI_ALL is CFGI_STE_RANGE with RANGE 31: every StreamID', () => {
    const d = SMMUV3.decode([0x4n, 0x1fn]);
    expect(d.name).toBe('CMD_CFGI_STE_RANGE');
    expect(describeScope(classify(d).scope!)).toBe('ste sid=*');
  });
  it('range TLBI (§3): 1 MiB = NUM 0 SCALE 8; 31 pages = NUM 30', () => {
    const mib = SMMUV3.encode('TLBI_NH_VA', { ASID: 3, TG: 1, SCALE: 8, NUM: 0, ADDR: 0x100000n });
    expect(mib.ok).toBe(true);
    expect(classify(SMMUV3.decode(mib.ok ? mib.value : [])).scope?.range).toEqual({ base: 0x100000n, bytes: 1n << 20n });
    const p31 = SMMUV3.encode('TLBI_NH_VA', { TG: 1, NUM: 30, ADDR: 0x2000n });
    expect(classify(SMMUV3.decode(p31.ok ? p31.value : [])).scope?.range?.bytes).toBe(31n * 4096n);
  });
  it('ATC_INV sizes (§3): SIZE 2 at page 8 spans pages 8..11; SIZE 52 is everything', () => {
    const s2 = SMMUV3.encode('ATC_INV', { SID: 0x100, SIZE: 2, ADDR: 0x8000n });
    expect(classify(SMMUV3.decode(s2.ok ? s2.value : [])).scope?.range).toEqual({ base: 0x8000n, bytes: 0x4000n });
    const all = SMMUV3.encode('ATC_INV', { SID: 0x100, SIZE: 52 });
    expect(classify(SMMUV3.decode(all.ok ? all.value : [])).scope?.range).toBeUndefined();
  });
  it('CMD_SYNC CS=3 is CERROR_ILL', () => {
    const d = SMMUV3.decode([0x46n | (3n << 12n), 0n]);
    expect(d.error).toMatchObject({ code: 'CERROR_ILL', value: 1, field: 'CS' });
  });
});

describe('VT-d examples (shared captures)', () => {
  it('IOTLB PSI of domain 6 at 0xffff8000, mask 0 (qemu-vtd-legacy-strict)', () => {
    const d = VTD.decode([0x600f2n, 0xffff8000n]);
    expect(d.name).toBe('iotlb_inv');
    expect(d.error).toBeUndefined();
    expect(d.fields).toMatchObject({ G: 3n, DID: 6n, ADDR: 0xffff8000n, AM: 0n, IH: 0n, DW: 1n, DR: 1n });
    expect(describeScope(classify(d).scope!)).toBe('iotlb did=6 0xffff8000+4K');
  });
  it('device-TLB "everything" (S=1, ADDR bits 12..62 set) covers the whole space', () => {
    const d = VTD.decode([0x10000000003n, 0x7ffffffffffff001n]);
    expect(d.name).toBe('dev_tlb_inv');
    expect(classify(d).scope).toEqual({ cache: 'devtlb', sid: 0x100 });
  });
  it('device-TLB S=1 sizes (§3): bit 12 = 0 gives 8 KiB, bits 12=1,13=0 give 16 KiB', () => {
    expect(classify(VTD.decode([0x3n, 0x2000n | 1n])).scope?.range).toEqual({ base: 0x2000n, bytes: 0x2000n });
    expect(classify(VTD.decode([0x3n, 0x5000n | 1n])).scope?.range).toEqual({ base: 0x4000n, bytes: 0x4000n });
  });
  it('AM: 2^AM pages aligned (IOVA 0x3000-0x4fff becomes AM 3 at 0)', () => {
    expect(classify(VTD.decode([0x20032n, 0x3n])).scope?.range).toEqual({ base: 0n, bytes: 0x8000n });
  });
  it('the Linux auto wait 0x200000025 is a status write of QI_DONE', () => {
    const d = VTD.decode([0x200000025n, 0x1046194n]);
    expect(d.name).toBe('inv_wait');
    expect(d.fields).toMatchObject({ SW: 1n, IF: 0n, FN: 0n, STATUS_DATA: 2n, STATUS_ADDR: 0x1046194n });
    expect(classify(d).role).toBe('sync');
  });
  it('PASID-based types are refused in a 128-bit queue, accepted in a 256-bit one', () => {
    expect(VTD.decode([0x20026n, 0n], { descBytes: 16 }).error).toMatchObject({ code: 'IQE', value: 3 });
    expect(VTD.decode([0x20026n, 0n, 0n, 0n]).error).toBeUndefined();
  });
  it('nonzero high type bits are an invalid type (IQEI 3)', () => {
    expect(VTD.decode([0x202n, 0n]).error).toMatchObject({ code: 'IQE', value: 3 });
  });
  it('reserved bits agree with QEMU masks, except fields QEMU does not implement (PFSID, PD)', () => {
    // spec/vtd.md §2.2: QEMU's reserved masks per type (qw0, qw1).
    const qemu: Record<string, [bigint, bigint, bigint]> = {
      // name: [qw0 mask, qw1 mask, bits we define as fields that QEMU reserves]
      cc_inv: [0xfffc00000000f1c0n, ~0n, 0n],
      iotlb_inv: [0xffffffff0000f100n, 0xf80n, 0n],
      dev_tlb_inv: [0xffff0000ffe0f1f0n, 0xffen, 0xfff000000000f000n],
      iec_inv: [0xffff000007fff1e0n, ~0n, 0n],
      inv_wait: [0xfffff180n, 0x3n, 0x80n],
      p_iotlb_inv: [0xfff000000000f1c0n, 0xf80n, 0n],
      p_dev_tlb_inv: [0xfff000000000f000n, 0x7fen, 0xfff000000000f000n],
    };
    const u64 = (1n << 64n) - 1n;
    for (const [name, [m0, m1, ours]] of Object.entries(qemu)) {
      const op = VTD.lookup(name)!;
      const typeHi = 0xe00n; // QEMU decodes the high type bits separately
      // The QEMU wait mask covers only qw0[31:0] (STATUS_DATA is qw0[63:32]).
      const rsv0 = ~op.used[0]! & u64 & (name === 'inv_wait' ? 0xffffffffn : u64);
      expect(rsv0 | ours, `${name} qw0`).toBe((m0 & ~typeHi) | ours);
      expect(~op.used[1]! & u64, `${name} qw1`).toBe(m1 & u64);
    }
  });
});
