// The comparison's columns, shared by every reporter: header, value, alignment.

import type { PolicySummary } from '../../replay/replayer.js';

export interface Column {
  readonly header: string;
  readonly value: (p: PolicySummary) => string | number;
}

const us = (x: number) => (x >= 1000 ? x.toFixed(0) : x.toFixed(2));

export const COMPARE_COLUMNS: readonly Column[] = [
  { header: 'policy', value: (p) => p.policy },
  { header: 'verdict', value: (p) => (p.correct ? 'correct' : `${p.violations} violation${p.violations === 1 ? '' : 's'}`) },
  { header: 'traps', value: (p) => p.traps },
  { header: 'ioctls', value: (p) => p.ioctls },
  { header: 'host cmds', value: (p) => p.host_commands },
  { header: 'host syncs', value: (p) => p.host_syncs },
  { header: 'dev invs', value: (p) => p.device_invalidations },
  { header: 'direct', value: (p) => p.direct_commands },
  { header: 'bytes', value: (p) => p.bytes_copied },
  { header: 'modeled us', value: (p) => us(p.modeled_us) },
  { header: 'p50 us', value: (p) => us(p.p50_us) },
  { header: 'p99 us', value: (p) => us(p.p99_us) },
  { header: 'max us', value: (p) => us(p.max_us) },
];
