// Fast command encoders for the generator's hot loop, compiled from the codec tables: the same bit
// placement as Codec.encode (formats/codec/codec.ts), with the field lookup done once per op
// instead of once per command. encode.test.ts checks both agree.

import type { Codec, CompiledField } from '../../formats/codec/codec.js';

export type Words = readonly bigint[];

/** Encodes one op from values given in the order of `fields`. */
export type Encoder = (values: readonly bigint[]) => bigint[];

export function compileEncoder(codec: Codec, op: string, fields: readonly string[], words: 2 | 4 = 2): Encoder {
  const base = codec.encode(op, {}, words);
  if (!base.ok) throw new Error(`encoder: ${base.error.message}`);
  const compiled = codec.lookup(op)!;
  const parts: CompiledField[] = fields.map((name) => {
    const f = compiled.fields.find((x) => x.name === name);
    if (f === undefined) throw new Error(`encoder: ${compiled.def.name} has no field ${name}`);
    return f;
  });
  const start = base.value;
  return (values) => {
    const out = start.slice();
    for (let i = 0; i < parts.length; i++) {
      const f = parts[i]!;
      const v = values[i]!;
      if (f.addr) {
        if ((v & ~f.inPlaceMask) !== 0n) throw new Error(`encoder: ${f.name} 0x${v.toString(16)} has bits outside its field`);
        out[f.parts[0]!.w]! |= v;
        continue;
      }
      if (v < 0n || v >> BigInt(f.width) !== 0n) throw new Error(`encoder: ${f.name} ${v} does not fit ${f.width} bits`);
      for (const p of f.parts) out[p.w]! |= ((v >> p.at) & p.mask) << p.lo;
    }
    return out;
  };
}

/** A command without variable fields, encoded once. */
export function constant(codec: Codec, op: string, values: Readonly<Record<string, bigint | number>>, words: 2 | 4 = 2): Words {
  const r = codec.encode(op, values, words);
  if (!r.ok) throw new Error(`encoder: ${r.error.message}`);
  return Object.freeze(r.value);
}
