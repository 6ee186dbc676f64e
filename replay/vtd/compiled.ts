// Hot-path helpers built once from the shared descriptor table (formats/vtd/descriptors.ts, through
// the VTD codec), so no field position is written here: a bounded cache of decoded descriptors for
// a unit's consume loop, and encoders that place field values without the codec's per-call name
// lookup and range checks (for descriptors the host model builds from values it computed).

import type { Decoded, DecodeOptions } from '../../formats/codec/codec.js';
import { VTD } from '../../formats/codecs.js';
import { unwrap } from '../../formats/result.js';

/**
 * Decoded descriptors by (qw0, qw1). Guest queues repeat themselves (Linux's waits cycle through
 * 256 status words; unmaps reuse IOVAs), so most fetches hit. Bounded: a full cache is emptied
 * before the next insert. 256-bit slots with a nonzero qw2/qw3 are decoded every time (they fail
 * validation anyway). Decoded values are immutable, so sharing one between fetches is safe.
 */
export class DecodeCache {
  private readonly byQw0 = new Map<bigint, Map<bigint, Decoded>>();
  private count = 0;

  constructor(private readonly opts: DecodeOptions, readonly capacity = 4096) {}

  decode(words: readonly bigint[]): Decoded {
    if (words.length > 2 && (words[2] !== 0n || words[3] !== 0n)) return VTD.decode(words, this.opts);
    const qw0 = words[0]!;
    const qw1 = words[1]!;
    let m = this.byQw0.get(qw0);
    const hit = m?.get(qw1);
    if (hit !== undefined) return hit;
    const d = VTD.decode(words, this.opts);
    if (this.count >= this.capacity) {
      this.byQw0.clear();
      this.count = 0;
      m = undefined;
    }
    if (m === undefined) {
      m = new Map();
      this.byQw0.set(qw0, m);
    }
    m.set(qw1, d);
    this.count++;
    return d;
  }
}

export type Encoder = (values: Readonly<Record<string, bigint | number>>) => bigint[];

/** An encoder for one descriptor type, `words` wide. Values must fit their fields (not checked). */
export function encoder(name: string, words: 2 | 4): Encoder {
  const op = VTD.lookup(name);
  if (op === undefined) throw new Error(`no VT-d descriptor ${name}`);
  const typeOnly = unwrap(VTD.encode(op.def.code, {}, words));
  const fields = op.fields;
  return (values) => {
    const out = typeOnly.slice();
    for (const f of fields) {
      const raw = values[f.name];
      if (raw === undefined) continue;
      const v = BigInt(raw);
      if (f.addr) {
        out[f.parts[0]!.w]! |= v & f.inPlaceMask;
        continue;
      }
      for (const p of f.parts) out[p.w]! |= ((v >> p.at) & p.mask) << p.lo;
    }
    return out;
  };
}
