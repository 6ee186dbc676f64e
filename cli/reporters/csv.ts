// The comparison as CSV: one row per policy, every summary count.

import type { PolicySummary, ReplayOutput } from '../../replay/replayer.js';
import { SUMMARY_COUNTS } from '../../replay/tables.js';

const KEYS = [
  'policy',
  'correct',
  'violations',
  ...SUMMARY_COUNTS,
  'completions',
  'modeled_us',
  'p50_us',
  'p99_us',
  'max_us',
] as const satisfies readonly (keyof PolicySummary)[];

const cell = (v: unknown) => {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function csv(r: ReplayOutput): string {
  return [KEYS.join(','), ...r.policies.map((p) => KEYS.map((k) => cell(p[k])).join(','))].join('\n');
}
