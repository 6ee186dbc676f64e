// Error injection: where the generated guest misbehaves or a device stops answering.
//   ill@N              an illegal command at the head of the first submission from command N on
//   atc-timeout@N[:S]  device S (guest SID; default: the first one hit) stops answering ATS
//                      invalidations just before the first submission from command N on that
//                      invalidates its ATC / device TLB
// Each injection also writes what the Linux guest does next (spec/smmuv3.md §1.3, spec/vtd.md
// §1.5): see queue.ts.

import { fail, ok, type Result } from '../../formats/result.js';

export const INJECTION_KINDS = ['ill', 'atc-timeout'] as const;
export type InjectionKind = (typeof INJECTION_KINDS)[number];

export interface Injection {
  readonly kind: InjectionKind;
  /** Command count (guest sequence of commands, from 0) from which the injection may fire. */
  readonly at: number;
  /** atc-timeout: guest SID of the device; undefined = the first ATS device a submission hits. */
  readonly sid?: number;
}

export function parseInjections(text: string): Result<readonly Injection[]> {
  if (text.trim() === '' || text.trim() === 'none') return ok([]);
  const out: Injection[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*([a-z-]+)@(\d+)(?::(0x[0-9a-f]+|\d+))?\s*$/i.exec(part);
    if (m === null) return fail({ message: `"${part}" is not KIND@N or atc-timeout@N:SID` });
    const kind = m[1]!.toLowerCase();
    if (!(INJECTION_KINDS as readonly string[]).includes(kind)) {
      return fail({ message: `unknown injection "${kind}" (one of ${INJECTION_KINDS.join(', ')})` });
    }
    if (m[3] !== undefined && kind !== 'atc-timeout') return fail({ message: `${kind} takes no SID` });
    out.push({ kind: kind as InjectionKind, at: Number(m[2]), ...(m[3] !== undefined ? { sid: Number(m[3]) } : {}) });
  }
  return ok(out.sort((a, b) => a.at - b.at));
}

export function formatInjections(xs: readonly Injection[]): string {
  if (xs.length === 0) return 'none';
  return xs.map((x) => `${x.kind}@${x.at}${x.sid !== undefined ? `:0x${x.sid.toString(16)}` : ''}`).join(',');
}
