// The CI outcome as JSON for scripts: every trace × policy with its status and changes.

import type { Comparison } from '../../analyzers/ci/compare.js';
import { toJson } from '../render/json.js';
import type { CiSummary } from './text.js';

export function ciJson(cmp: Comparison, s: CiSummary, exit: number): string {
  return toJson({
    suite: s.suite,
    baseline: s.baseline,
    traces: s.traces,
    seconds: +s.seconds.toFixed(3),
    baseline_updated: s.updated,
    counts: cmp.counts,
    exit,
    outcomes: cmp.outcomes.map((o) => ({
      trace: o.trace,
      policy: o.policy,
      spec: o.spec,
      status: o.status,
      changes: o.changes,
      current: o.current,
    })),
    missing: cmp.missing,
    left_out: cmp.leftOut,
  });
}
