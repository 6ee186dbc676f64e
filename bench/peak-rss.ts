// The peak resident set of this process, for the benches (in-process and in a measured process at
// its exit, bench/cpu-at-exit.ts). node:fs is taken through `require`: an `import` of it builds its
// ES namespace, which loads node's stream modules (~32 M instructions) into the very process being
// measured, a cost the CLI does not have (rolldown.config.js fsPlain).

import { createRequire } from 'node:module';

const { readFileSync } = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');

/**
 * Peak resident set size of this process so far, in MiB: /proc/self/status VmHWM where there is one
 * (Linux). Not `resourceUsage().maxRSS` there: Linux keeps the larger of the memory the process had
 * before `exec` and after, and before `exec` a bench's child is the bench's own fork (measured: a
 * `node -e` child reports 42 MiB beside a small bench and 98 MiB beside one holding a 99 MB log;
 * VmHWM 42 MiB both times).
 */
export function peakRssMiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // no procfs: rusage's figure
  }
  return process.resourceUsage().maxRSS / 1024;
}
