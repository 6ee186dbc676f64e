// Hot-path encoders built once from the shared descriptor table (formats/vtd/descriptors.ts, through
// the VTD codec), so no field position is written here: they place field values without the
// codec's per-call name lookup and range checks (for descriptors the host model builds from values
// it computed). A descriptor is built as 32-bit halves (low half of qw0 first) with number
// arithmetic, the form the host writes into its queue (GuestMemory.writeHalvesAt) and the unit's
// fetch reads in place, so no BigInt is made per field; `wordsOf` gives the 64-bit words. The
// decode cache of a unit's consume loop is replay/decode-cache.ts.

import { VTD } from '../../formats/codecs.js';
import { unwrap } from '../../formats/result.js';
import type { VtdDescName } from '../../formats/vtd/descriptors.js';

/** A field value: a number, or a BigInt (an address may pass 2^53). */
export type FieldValue = number | bigint;

/**
 * Fills `out` (2 halves per word) with a descriptor of the field values, given as arguments in the
 * order the encoder was built with, and returns it. Arguments, not an array: the builders' arrays
 * were of several elements kinds (small integers, doubles, BigInts) at one load site, so the
 * optimized encoder turned every double array into an object array (a copy and a box per double)
 * on each call, besides allocating the array.
 */
export type HalvesEncoder = (out: Uint32Array, ...values: FieldValue[]) => Uint32Array;

/** The most fields an encoder takes (iotlb_inv has 7). */
const MAX_FIELDS = 8;

const TWO32 = 2 ** 32;

/** One bit range of a field in the halves: value bits [at, at+width) at bit `sh` of half `h` (and h+1 past bit 31). */
interface HalfPart {
  readonly h: number;
  readonly sh: number;
  readonly width: number;
  /** 2^at, 2^width, 2^sh, 2^(32−sh): the part's arithmetic as double multiplies and divides (exact below 2^53). */
  readonly atScale: number;
  readonly span: number;
  readonly shScale: number;
  readonly lowSpan: number;
}

/** How one named field is placed: by parts, or in place (an address field keeps its bits where they are). */
interface HalfField {
  readonly parts: readonly HalfPart[];
  /** Address fields: the half of their word's low 32 bits, and the masks of the field's bits in each half. */
  readonly inPlace: { readonly h: number; readonly lowMask: number; readonly highMask: number } | undefined;
}

/**
 * An encoder for one descriptor type, `words` wide, of the fields `names` (in that order).
 * Values must fit their fields (not checked: number values below 2^53, non-negative).
 */
export function halvesEncoder(name: VtdDescName, words: 2 | 4, names: readonly string[]): HalvesEncoder {
  const op = VTD.lookup(name);
  if (op === undefined) throw new Error(`no VT-d descriptor ${name}`);
  if (names.length > MAX_FIELDS) throw new Error(`an encoder takes at most ${MAX_FIELDS} fields, not ${names.length}`);
  const typeOnly = halvesOf(unwrap(VTD.encode(op.def.code, {}, words)));
  const fields: HalfField[] = names.map((n) => {
    const f = op.fields.find((x) => x.name === n);
    if (f === undefined) throw new Error(`VT-d descriptor ${name} has no field ${n}`);
    if (f.addr) {
      const w = f.parts[0]!.w;
      const m = f.inPlaceMask;
      return { parts: [], inPlace: { h: 2 * w, lowMask: Number(m & 0xffffffffn) | 0, highMask: Number((m >> 32n) & 0xffffffffn) | 0 } };
    }
    const parts = f.parts.map((p): HalfPart => {
      const lo = Number(p.lo);
      const width = Number(p.mask).toString(2).length;
      const sh = lo % 32;
      return {
        h: 2 * p.w + (lo >= 32 ? 1 : 0),
        sh,
        width,
        atScale: 2 ** Number(p.at),
        span: 2 ** width,
        shScale: 2 ** sh,
        lowSpan: 2 ** (32 - sh),
      };
    });
    return { parts, inPlace: undefined };
  });
  const n = fields.length;
  return (out, v0, v1, v2, v3, v4, v5, v6, v7) => {
    // The type's bits and zeros, element by element (8 halves at most: no TypedArray.prototype.set call).
    for (let h = 0; h < typeOnly.length; h++) out[h] = typeOnly[h]!;
    if (n > 0) place(out, fields[0]!, v0);
    if (n > 1) place(out, fields[1]!, v1);
    if (n > 2) place(out, fields[2]!, v2);
    if (n > 3) place(out, fields[3]!, v3);
    if (n > 4) place(out, fields[4]!, v4);
    if (n > 5) place(out, fields[5]!, v5);
    if (n > 6) place(out, fields[6]!, v6);
    if (n > 7) place(out, fields[7]!, v7);
    return out;
  };
}

/** ORs field `f` of value `raw` into `out`. */
function place(out: Uint32Array, f: HalfField, raw: FieldValue): void {
  const ip = f.inPlace;
  if (ip !== undefined) {
    const lo = typeof raw === 'number' ? raw % TWO32 : Number(raw & 0xffffffffn);
    const hi = typeof raw === 'number' ? Math.floor(raw / TWO32) : Number((raw >> 32n) & 0xffffffffn);
    out[ip.h] = out[ip.h]! | (lo & ip.lowMask);
    out[ip.h + 1] = out[ip.h + 1]! | (hi & ip.highMask);
    return;
  }
  const v = typeof raw === 'number' ? raw : Number(raw);
  for (const p of f.parts) {
    const bits = Math.floor(v / p.atScale) % p.span;
    if (p.sh + p.width <= 32) out[p.h] = out[p.h]! | (bits * p.shScale);
    else {
      out[p.h] = out[p.h]! | ((bits % p.lowSpan) * p.shScale);
      out[p.h + 1] = out[p.h + 1]! | Math.floor(bits / p.lowSpan);
    }
  }
}

/** 32-bit halves of 64-bit words, low half first. */
export function halvesOf(words: readonly bigint[]): Uint32Array {
  const out = new Uint32Array(words.length * 2);
  words.forEach((w, k) => {
    out[2 * k] = Number(w & 0xffffffffn);
    out[2 * k + 1] = Number((w >> 32n) & 0xffffffffn);
  });
  return out;
}

/** 64-bit words from their 32-bit halves, low half first. */
export function wordsOf(halves: Uint32Array): bigint[] {
  const out: bigint[] = [];
  for (let k = 0; k + 1 < halves.length; k += 2) out.push((BigInt(halves[k + 1]!) << 32n) | BigInt(halves[k]!));
  return out;
}
