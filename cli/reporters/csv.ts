// The comparison as CSV: one row per policy, every summary count.

import type { PolicySummary, ReplayOutput } from '../../replay/replayer.js';

const KEYS = [
  'policy',
  'correct',
  'violations',
  'traps',
  'vmm_commands',
  'ioctls',
  'host_commands',
  'host_syncs',
  'host_doorbells',
  'device_invalidations',
  'direct_commands',
  'bytes_copied',
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
