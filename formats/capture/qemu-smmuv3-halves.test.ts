// The SMMUv3 rebuild on numbers (qemu-smmuv3-halves.ts) against the codec's BigInt encoder and
// smmuv3-rebuild.ts: the fields placed at the table's positions for every opcode with random
// values, the known masks as the fields' bits, refusals where the encoder refuses; and the range
// rebuild from numeric records against smmuv3-rebuild.ts on random chunks.
import { describe, expect, it } from 'vitest';
import { SMMUV3 } from '../codecs.js';
import { DetailRecords, FIELD, REC, Smmuv3Halves } from './qemu-smmuv3-halves.js';
import { rebuildSmmuv3 } from './smmuv3-rebuild.js';

/** A small deterministic generator (xorshift32), so a failure names the values that made it. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** A random value of `bits` bits (as a BigInt), of up to 64 bits. */
const valueOf = (rnd: () => number, bits: number): bigint => {
  let v = 0n;
  for (let b = 0; b < bits; b += 16) v = (v << 16n) | BigInt(Math.floor(rnd() * 65536));
  return v & ((1n << BigInt(bits)) - 1n);
};

const halvesOf = (h: Uint32Array): [bigint, bigint] => [(BigInt(h[1]!) << 32n) | BigInt(h[0]!), (BigInt(h[3]!) << 32n) | BigInt(h[2]!)];

/** The bits of field `name` of op `code`, per word (smmuv3-rebuild.ts fieldMask). */
function fieldBits(code: number, name: string): [bigint, bigint] {
  const m: [bigint, bigint] = [0n, 0n];
  for (const p of SMMUV3.lookup(code)!.fields.find((f) => f.name === name)!.parts) m[p.w as 0 | 1] |= p.mask << p.lo;
  return m;
}

describe('Smmuv3Halves: fields placed at the codec table positions', () => {
  const names = Object.keys(FIELD) as (keyof typeof FIELD)[];
  it.each(SMMUV3.ops.map((op) => [op.def.name, op.def.code] as const))('%s: random values = SMMUV3.encode', (_, code) => {
    const op = SMMUV3.lookup(code)!;
    const told = op.fields.filter((f) => (names as string[]).includes(f.name));
    const rnd = random(code * 7919);
    for (let round = 0; round < 200; round++) {
      const h = new Smmuv3Halves();
      expect(h.begin(code)).toBe(true);
      const values: Record<string, bigint> = {};
      const known: [bigint, bigint] = [0xffn, 0n]; // the opcode, DW0[7:0]
      for (const f of told) {
        if (rnd() < 0.3) continue; // not every field is told
        // An address keeps its value in place: its low bits below the field are zero.
        const v = f.addr ? valueOf(rnd, f.width) & f.inPlaceMask : valueOf(rnd, f.width);
        const isKnown = rnd() < 0.8;
        values[f.name] = v;
        expect(h.tellHalves(FIELD[f.name as keyof typeof FIELD], Number(v >> 32n), Number(v & 0xffffffffn), isKnown)).toBe(true);
        if (isKnown) {
          const m = fieldBits(code, f.name);
          known[0] |= m[0];
          known[1] |= m[1];
        }
      }
      const r = SMMUV3.encode(code, values);
      if (!r.ok) throw new Error(r.error.message);
      expect(
        halvesOf(h.words),
        JSON.stringify(values, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v)),
      ).toEqual(r.value);
      expect(halvesOf(h.known)).toEqual(known);
      expect(h.opcodeKept()).toBe(true);
    }
  });

  it.each(SMMUV3.ops.filter((op) => op.fields.some((f) => f.name in FIELD)).map((op) => [op.def.name, op.def.code] as const))(
    '%s: a value the field cannot hold is refused, as the encoder refuses it',
    (_, code) => {
      for (const f of SMMUV3.lookup(code)!.fields.filter((x) => x.name in FIELD)) {
        // one bit above the field (an address: one below it, or above it)
        const bad = f.addr ? [(f.inPlaceMask & -f.inPlaceMask) >> 1n, f.width < 64 ? 1n << BigInt(f.width) : 0n] : [1n << BigInt(f.width)];
        for (const v of bad.filter((x) => x !== 0n && x < 1n << 64n)) {
          expect(SMMUV3.encode(code, { [f.name]: v }).ok).toBe(false);
          const h = new Smmuv3Halves();
          h.begin(code);
          expect(h.tellHalves(FIELD[f.name as keyof typeof FIELD], Number(v >> 32n), Number(v & 0xffffffffn))).toBe(false);
        }
        const h = new Smmuv3Halves();
        h.begin(code);
        expect(h.tell(FIELD[f.name as keyof typeof FIELD], -1)).toBe(false); // negative: refused
      }
    },
  );

  it('opcodes the table lacks (QEMU SMMU_CMD_CFGI_ALL 0x07) are not rebuilt here', () => {
    expect(new Smmuv3Halves().begin(0x07)).toBe(false);
  });
});

describe('DetailRecords.rebuild = smmuv3-rebuild.ts on random range chunks', () => {
  const VA = [
    ['SMMU_CMD_TLBI_NH_VA', 0x12],
    ['SMMU_CMD_TLBI_NH_VAA', 0x13],
    ['SMMU_CMD_TLBI_EL2_VA', 0x22],
    ['SMMU_CMD_TLBI_S2_IPA', 0x2a],
  ] as const;
  it.each(VA)('%s', (name, code) => {
    const rnd = random(code);
    let fast = 0;
    for (let round = 0; round < 2000; round++) {
      const recs = new DetailRecords();
      const tg = Math.floor(rnd() * 4);
      const granule = 2 ** (2 * tg + 10);
      let addr = Math.floor(rnd() * 2 ** 20) * 4096 + (rnd() < 0.05 ? 0x800 : 0);
      const chunks = 1 + Math.floor(rnd() * 3);
      const vmid = rnd() < 0.1 ? -1 : Math.floor(rnd() * 70000);
      const asid = rnd() < 0.1 ? -1 : Math.floor(rnd() * 65536);
      for (let i = 0; i < chunks; i++) {
        const pages = rnd() < 0.05 ? 0 : 1 + Math.floor(rnd() * 40);
        const v = recs.add(REC.RANGE, 10 + i);
        const x = recs.values;
        x[v] = vmid;
        x[v + 1] = rnd() < 0.03 ? asid + 1 : asid;
        x[v + 2] = Math.floor(addr / 2 ** 32);
        x[v + 3] = addr >>> 0;
        x[v + 4] = tg;
        x[v + 5] = 0;
        x[v + 6] = pages;
        x[v + 7] = 3;
        x[v + 8] = 1;
        addr += rnd() < 0.05 ? granule : pages * granule;
      }
      const h = new Smmuv3Halves();
      const want = rebuildSmmuv3(name, recs.events());
      if (recs.rebuild(code, h)) {
        fast++;
        expect(want.problems).toEqual([]);
        expect(halvesOf(h.words)).toEqual(want.words);
        expect(halvesOf(h.known)).toEqual(want.known);
      } else expect(want.problems.length).toBeGreaterThan(0); // off the fast path only where a problem is reported
    }
    expect(fast).toBeGreaterThan(500); // most are rebuilt here
  });
});
