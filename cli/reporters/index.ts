// Reporters: one file per output format, one signature. Each name but `table` is also a flag
// (--json, --csv, --markdown). Reporters only format; they never analyze or print.

import type { ReplayOutput } from '../../replay/replayer.js';
import { csv } from './csv.js';
import { json } from './json.js';
import { markdown } from './markdown.js';
import { table } from './table.js';

export type Reporter = (r: ReplayOutput) => string;

export const reporters = Object.freeze({ table, json, csv, markdown } satisfies Record<string, Reporter>);
export type ReporterName = keyof typeof reporters;

export function pickReporter(opts: Partial<Record<ReporterName, unknown>>): Reporter {
  const chosen = (Object.keys(reporters) as ReporterName[]).filter((k) => k !== 'table' && opts[k]);
  return reporters[chosen[0] ?? 'table'];
}
