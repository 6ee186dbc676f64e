// Invariants every replay must keep, whatever the workload (issue 12 item 4). Each check returns
// the broken rule as one line (empty: kept). The rules:
//   determinism   the same trace replayed twice gives identical summaries (every count, verdict
//                 and finding)
//   hw-direct     a queue the hardware consumes shows the guest what bare hardware shows: no
//                 wrong-consumer-index, wrong-error, never-completed or executed-past-error, on
//                 every trace (the commands it does not take go through the trapped path, which
//                 emulates them); and no violation at all when the direct queue took every command
//   per-command   correct (no violation of any kind) on every fault-free trace of valid commands
//   counts        trapped policies trap exactly once per doorbell and acknowledgement; no policy
//                 makes more ioctls than invalidations × host objects; every ioctl copies at least
//                 one entry; a completion point completes at most once; an in-order VMM handles
//                 no more commands than were written plus one re-read per acknowledgement (a
//                 prepass VMM walks again what it passed before the stop); on fault-free traces, batching never adds ioctls
//                 (linear-batch ≤ per-command, prepass ≤ in order), devtlb-nop never adds ioctls,
//                 raw-ring's VMM decodes no more than linear-batch's, and every policy that is
//                 correct completes what bare hardware completes.

import type { PolicySummary, ReplayOutput } from '../../replay/replayer.js';

export interface TraceCounts {
  readonly commands: number;
  readonly doorbells: number;
  readonly acks: number;
  /** Commands whose role is an invalidation (what a VMM may forward). */
  readonly invalidations: number;
  readonly syncs: number;
  /** iommufd objects a VMM invalidates on: VT-d nested HWPTs, SMMUv3 vIOMMUs. */
  readonly hostObjects: number;
  readonly entryLen: number;
}

const TRAPPED = [
  'per-command',
  'linear-batch',
  'linear-batch:split_on_wrap=true',
  'linear-batch:vmm=prepass',
  'raw-ring',
  'raw-ring:vmm=inorder',
  'devtlb-nop',
  'devtlb-nop:fanout=all',
];
const PREPASS = ['linear-batch:vmm=prepass', 'raw-ring'];
const COUNTED = ['hw-direct', ...TRAPPED];
const GUEST_VISIBLE = ['wrong-consumer-index', 'wrong-error', 'never-completed', 'executed-past-error'] as const;

const by = (r: ReplayOutput) => Object.fromEntries(r.policies.map((p) => [p.policy, p])) as Record<string, PolicySummary>;
const kinds = (p: PolicySummary) =>
  Object.entries(p.violations_by_kind)
    .map(([k, n]) => `${k}×${n}`)
    .join(', ');
const first = (p: PolicySummary, ks?: readonly string[]) => {
  const v = p.first_violations.find((x) => ks === undefined || ks.includes(x.kind));
  return v ? ` — first: seq ${v.seq} ${v.kind}: ${v.explanation}` : '';
};

/** A stable text of everything a replay reports (for the determinism check). */
export function fingerprint(r: ReplayOutput): string {
  return JSON.stringify({ policies: r.policies, reference: r.reference, events: r.events, doorbells: r.doorbells });
}

export function checkDeterminism(a: ReplayOutput, b: ReplayOutput): string[] {
  if (fingerprint(a) === fingerprint(b)) return [];
  const pa = by(a);
  const diff = b.policies.filter((p) => JSON.stringify(p) !== JSON.stringify(pa[p.policy])).map((p) => p.policy);
  return [`determinism: a second replay of the same trace differs (${diff.join(', ') || 'reference/events'})`];
}

export function checkHwDirect(r: ReplayOutput): string[] {
  const p = by(r)['hw-direct'];
  if (p === undefined) return [];
  const out: string[] = [];
  const bad = GUEST_VISIBLE.filter((k) => (p.violations_by_kind[k] ?? 0) > 0);
  if (bad.length > 0)
    out.push(
      `hw-direct: the guest sees what bare hardware does not (${bad.map((k) => `${k}×${p.violations_by_kind[k]}`).join(', ')})${first(p, bad)}`,
    );
  if (p.traps === 0 && p.violations > 0) out.push(`hw-direct: every command went to the hardware queue, yet ${kinds(p)}${first(p)}`);
  return out;
}

export function checkPerCommand(r: ReplayOutput, faultFree: boolean): string[] {
  const p = by(r)['per-command'];
  if (!faultFree || p === undefined || p.correct) return [];
  return [`per-command: not correct on a fault-free trace (${kinds(p)})${first(p)}`];
}

export function checkCounts(r: ReplayOutput, t: TraceCounts, faultFree: boolean): string[] {
  const out: string[] = [];
  const b = by(r);
  const fail = (rule: string) => out.push(`counts: ${rule}`);
  for (const name of TRAPPED) {
    const p = b[name];
    if (p && p.traps !== t.doorbells + t.acks) fail(`${name} traps ${p.traps} ≠ doorbells ${t.doorbells} + acks ${t.acks}`);
  }
  // The identities below are those of the policies DESIGN.md describes by IOMMU_HWPT_INVALIDATE
  // (the nine of issue 5); a policy added later keeps determinism and its own tests.
  for (const p of r.policies.filter((x) => COUNTED.includes(x.policy))) {
    if (p.ioctls > t.invalidations * t.hostObjects)
      fail(`${p.policy} ioctls ${p.ioctls} > invalidations ${t.invalidations} × host objects ${t.hostObjects}`);
    if (p.bytes_copied < p.ioctls * t.entryLen)
      fail(`${p.policy} copies ${p.bytes_copied} bytes in ${p.ioctls} ioctls (< one ${t.entryLen}-byte entry each)`);
    if (p.bytes_copied % t.entryLen !== 0)
      fail(`${p.policy} copies ${p.bytes_copied} bytes, not a whole number of ${t.entryLen}-byte entries`);
    if (p.completions > t.syncs) fail(`${p.policy} completes ${p.completions} completion points of ${t.syncs}`);
    // After an acknowledgement the walk resumes at CONS, so the command there is looked at again.
    // A prepass VMM (linear-batch:vmm=prepass, raw-ring) already walked past CONS before the stop
    // and walks those commands again: the bound holds for in-order walks only.
    if (!PREPASS.includes(p.policy) && p.vmm_commands > t.commands + t.acks)
      fail(`${p.policy} VMM handled ${p.vmm_commands} commands of ${t.commands} written + ${t.acks} acks`);
    if (p.traps > t.doorbells + t.acks) fail(`${p.policy} traps ${p.traps} > doorbells + acks ${t.doorbells + t.acks}`);
    if (p.correct && p.completions !== r.reference.completions)
      fail(`${p.policy} is correct but completes ${p.completions} where bare hardware completes ${r.reference.completions}`);
  }
  if (faultFree) {
    const le = (a: string, bName: string, key: 'ioctls' | 'vmm_commands') => {
      const x = b[a];
      const y = b[bName];
      if (x && y && x[key] > y[key]) fail(`${a} ${key} ${x[key]} > ${bName} ${y[key]}`);
    };
    le('linear-batch', 'per-command', 'ioctls');
    le('linear-batch:vmm=prepass', 'linear-batch', 'ioctls');
    le('raw-ring', 'per-command', 'ioctls');
    le('devtlb-nop:fanout=all', 'per-command', 'ioctls');
    le('devtlb-nop', 'devtlb-nop:fanout=all', 'ioctls');
    le('hw-direct', 'per-command', 'ioctls');
    le('raw-ring', 'linear-batch', 'vmm_commands');
  }
  return out;
}
