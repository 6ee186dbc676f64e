// Policy results as the TUI shows them: the side-by-side summary (`compare --json`'s shape) and
// every violation of the replay's violations table, read from a replay output folder (`replay -o
// DIR`: replay.json + violations.arrow) or from the folder a background replay wrote.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openArrow } from '../../../analyzers/arrow-files.js';
import { InputFault } from '../../../formats/result.js';
import type { PolicySummary, ReplayOutput } from '../../../replay/replayer.js';

export interface Violations {
  readonly count: number;
  /** Index into `PolicyResults.output.policies`. */
  readonly policy: Uint8Array;
  readonly seq: Uint32Array;
  readonly kind: readonly string[];
  readonly scope: readonly string[];
  readonly explanation: readonly string[];
}

export interface PolicyResults {
  /** Where they came from: a replay folder given on the command line, or the background replay. */
  readonly from: 'folder' | 'replay';
  readonly dir: string;
  readonly output: ReplayOutput;
  /** Every violation, by policy then sequence number. */
  readonly violations: Violations;
}

export const policyNames = (r: PolicyResults): string[] => r.output.policies.map((p) => p.policy);

/** The violations of one policy (its index), as indices into `violations`. */
export function violationsOf(r: PolicyResults, policy: number): Uint32Array {
  const v = r.violations;
  let n = 0;
  for (let i = 0; i < v.count; i++) if (v.policy[i] === policy) n++;
  const out = new Uint32Array(n);
  for (let i = 0, k = 0; i < v.count; i++) if (v.policy[i] === policy) out[k++] = i;
  return out;
}

/** A per-row mark of the rows with a violation (under `policy`, or any policy when undefined). */
export function violationMarks(r: PolicyResults, rows: number, policy?: number): Uint8Array {
  const marks = new Uint8Array(rows);
  const v = r.violations;
  for (let i = 0; i < v.count; i++) if ((policy === undefined || v.policy[i] === policy) && v.seq[i]! < rows) marks[v.seq[i]!] = 1;
  return marks;
}

/** Reads replay.json and violations.arrow of a replay output folder. */
export async function loadResults(dir: string, from: PolicyResults['from']): Promise<PolicyResults> {
  const jsonPath = join(dir, 'replay.json');
  let output: ReplayOutput;
  try {
    output = JSON.parse(await readFile(jsonPath, 'utf8')) as ReplayOutput;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputFault({ file: jsonPath, message: code === 'ENOENT' ? 'no such file' : `not a replay summary: ${(e as Error).message}` });
  }
  if (!Array.isArray(output.policies)) throw new InputFault({ file: jsonPath, message: 'not a replay summary: no policies' });
  const names = new Map(output.policies.map((p: PolicySummary, i) => [p.policy, i]));
  const src = await openArrow(join(dir, 'violations.arrow'));
  const policy: number[] = [],
    seq: number[] = [],
    kind: string[] = [],
    scope: string[] = [],
    explanation: string[] = [];
  for await (const b of src.batches()) {
    const cols = ['policy', 'seq', 'kind', 'scope', 'explanation'].map((c) => b.getChild(c));
    if (cols.some((c) => c === null))
      throw new InputFault({ file: src.path, message: 'not a violations table (columns policy, seq, kind, scope, explanation)' });
    const [p, s, k, sc, ex] = cols as NonNullable<(typeof cols)[number]>[];
    for (let i = 0; i < b.numRows; i++) {
      const name = String(p!.get(i));
      const idx = names.get(name);
      if (idx === undefined) throw new InputFault({ file: src.path, message: `row ${i}: policy ${name} is not in replay.json` });
      policy.push(idx);
      seq.push(Number(s!.get(i)));
      kind.push(String(k!.get(i)));
      scope.push(String(sc!.get(i) ?? ''));
      explanation.push(String(ex!.get(i) ?? ''));
    }
  }
  const order = policy.map((_, i) => i).sort((a, b) => policy[a]! - policy[b]! || seq[a]! - seq[b]! || a - b);
  return {
    from,
    dir,
    output,
    violations: {
      count: order.length,
      policy: Uint8Array.from(order, (i) => policy[i]!),
      seq: Uint32Array.from(order, (i) => seq[i]!),
      kind: order.map((i) => kind[i]!),
      scope: order.map((i) => scope[i]!),
      explanation: order.map((i) => explanation[i]!),
    },
  };
}
