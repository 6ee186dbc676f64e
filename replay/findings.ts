// Key findings from a comparison, in a few sentences a VMM developer would write on a mailing
// list: who is incorrect and why, what bare hardware shows too (guest findings, never a policy's),
// and what the correct ones cost against each other. Computed from the results, never canned.

import type { PolicySummary, ReplayOutput } from './replayer.js';

const pct = (a: number, b: number) => (b === 0 ? 0 : Math.round((100 * (b - a)) / b));
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

function find(r: ReplayOutput, name: string): PolicySummary | undefined {
  return r.policies.find((p) => p.policy === name);
}

export function findings(r: ReplayOutput): string[] {
  const out: string[] = [];
  const bad = r.policies.filter((p) => !p.correct);
  const good = r.policies.filter((p) => p.correct);
  if (bad.length === 0)
    out.push(`All ${r.policies.length} policies are correct on this trace: no stale translation, the guest sees what bare hardware shows.`);
  for (const p of bad) {
    const kinds = Object.entries(p.violations_by_kind)
      .map(([k, n]) => `${fmt(n)} ${k}`)
      .join(', ');
    const v = p.first_violations[0];
    out.push(`${p.policy} is incorrect: ${kinds}${v ? ` (first: ${v.explanation})` : ''}.`);
  }
  const per = find(r, 'per-command');
  const lin = find(r, 'linear-batch');
  if (per && lin && per.correct && lin.correct) {
    out.push(
      lin.ioctls < per.ioctls
        ? `linear-batch needs ${fmt(lin.ioctls)} ioctls where per-command needs ${fmt(per.ioctls)} (${pct(lin.ioctls, per.ioctls)}% fewer), modelled ${fmt(lin.modeled_us)} µs against ${fmt(per.modeled_us)} µs.`
        : `linear-batch saves no ioctl over per-command here (${fmt(per.ioctls)} each): the guest publishes about one invalidation per doorbell, so there is nothing to batch.`,
    );
  }
  const nop = find(r, 'devtlb-nop');
  if (per && nop && nop.correct && per.correct && nop.ioctls < per.ioctls) {
    out.push(
      `devtlb-nop stays correct and drops ${pct(nop.ioctls, per.ioctls)}% of the ioctls (${fmt(nop.ioctls)} against ${fmt(per.ioctls)}).`,
    );
  }
  const hw = find(r, 'hw-direct');
  const cheapestTrapped = good.filter((p) => p.policy !== 'hw-direct').sort((a, b) => a.modeled_us - b.modeled_us)[0];
  if (hw && cheapestTrapped) {
    out.push(
      `hw-direct (the lower bound) models ${fmt(hw.modeled_us)} µs, ${Math.round((100 * hw.modeled_us) / cheapestTrapped.modeled_us)}% of the cheapest correct trapped policy (${cheapestTrapped.policy}, ${fmt(cheapestTrapped.modeled_us)} µs); ` +
        `${fmt(hw.traps)} doorbells still trap for the commands a direct queue does not take.`,
    );
  }
  const guest = Object.entries((r as Partial<typeof r>).guest_findings_by_kind ?? {}); // absent in a replay.json written before them
  if (guest.length > 0) {
    out.push(
      `Bare hardware shows ${guest.map(([k, n]) => `${fmt(n)} ${k}`).join(', ')} on the same queue: the guest's own doing, counted against no policy (docs/oracle.md).`,
    );
  }
  if (per && cheapestTrapped)
    out.push(
      `Median completion latency: ${per.p50_us} µs per-command, ${cheapestTrapped.p50_us} µs ${cheapestTrapped.policy}${hw ? `, ${hw.p50_us} µs hw-direct` : ''}.`,
    );
  return out;
}
