// Hot-path encoders built once from the shared descriptor table (formats/vtd/descriptors.ts, through
// the VTD codec), so no field position is written here: they place field values without the
// codec's per-call name lookup and range checks (for descriptors the host model builds from values
// it computed). The decode cache of a unit's consume loop is replay/decode-cache.ts.

import { VTD } from '../../formats/codecs.js';
import { unwrap } from '../../formats/result.js';
import type { VtdDescName } from '../../formats/vtd/descriptors.js';

export type Encoder = (values: Readonly<Record<string, bigint | number>>) => bigint[];

/** An encoder for one descriptor type, `words` wide. Values must fit their fields (not checked). */
export function encoder(name: VtdDescName, words: 2 | 4): Encoder {
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
