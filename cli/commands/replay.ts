// `invtrace replay TRACE [--policy P,...|all] -o DIR` and `invtrace compare TRACE [--policy ...]
// [--json|--csv|--markdown]`: replay under each policy; write the result tables, or print the
// side-by-side comparison. Exit 1 with --fail-on-violation when any policy is incorrect.

import { join } from 'node:path';
import { runReplay } from '../../replay/run.js';
import { pickReporter, reporters } from '../reporters/index.js';
import { EXIT_CHECK_FAILED, out } from '../run.js';
import { progress } from '../render/progress.js';

export interface ReplayCliOptions {
  readonly policy: string;
  readonly topology?: string;
  readonly costs?: string;
  readonly output?: string;
  readonly failOnViolation?: boolean;
  readonly json?: boolean;
  readonly csv?: boolean;
  readonly markdown?: boolean;
  readonly jobs?: number;
}


/** `linear-batch:split_on_wrap=true,vmm=prepass,per-command` → the two specs. */
export function splitPolicyList(list: string): string[] {
  const out: string[] = [];
  for (const part of list.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    if (/^[^:=]+=/.test(p) && out.length > 0 && out[out.length - 1]!.includes(':')) out[out.length - 1] += `,${p}`;
    else out.push(p);
  }
  return out;
}

export async function replayCommand(trace: string, opts: ReplayCliOptions): Promise<number> {
  const p = progress(`replaying ${trace}`);
  const r = await runReplay(trace, {
    policies: splitPolicyList(opts.policy),
    ...(opts.topology ? { topologyFile: opts.topology } : {}),
    ...(opts.costs ? { costsFile: opts.costs } : {}),
    ...(opts.output ? { outDir: opts.output } : {}),
    ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
    onProgress: p.update,
  });
  p.done();
  out(reporters.table(r));
  if (opts.output) out(`\nwrote ${['host_ops', 'completions', 'violations', 'summary'].map((t) => join(opts.output!, `${t}.arrow`)).join(', ')} and replay.json`);
  return opts.failOnViolation && r.policies.some((x) => !x.correct) ? EXIT_CHECK_FAILED : 0;
}

export async function compareCommand(trace: string, opts: ReplayCliOptions): Promise<number> {
  const structured = opts.json || opts.csv || opts.markdown;
  const p = progress(structured ? undefined : `replaying ${trace}`);
  const r = await runReplay(trace, {
    policies: splitPolicyList(opts.policy),
    ...(opts.topology ? { topologyFile: opts.topology } : {}),
    ...(opts.costs ? { costsFile: opts.costs } : {}),
    ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
    onProgress: p.update,
  });
  p.done();
  out(pickReporter(opts)(r));
  return opts.failOnViolation && r.policies.some((x) => !x.correct) ? EXIT_CHECK_FAILED : 0;
}

