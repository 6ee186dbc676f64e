// Loaded into a measured process by `npm run bench -- sql` and `-- ingest` (node --import): at exit,
// writes the process's CPU seconds (user + system, every thread: DuckDB's worker included) to the
// file $INVTRACE_BENCH_CPU_FILE names, and {"cpuSeconds", "maxRssMiB"} as JSON to the one
// $INVTRACE_BENCH_USAGE_FILE names. CPU time is far less sensitive than wall time to the other
// processes on a shared machine, so the benches print both.

import { readFileSync, writeFileSync } from 'node:fs';

/**
 * The process's peak RSS in MiB: /proc/self/status VmHWM where there is one (Linux). Not
 * `resourceUsage().maxRSS` there: Linux keeps the larger of the memory the process had before
 * `exec` and after, and before `exec` a child of a bench is the bench's own fork (measured: a
 * `node -e` child reports 42 MiB beside a small bench and 98 MiB beside one holding a 99 MB log;
 * VmHWM 42 MiB both times).
 */
function peakRssMiB(maxRssKiB: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // no procfs: rusage's figure
  }
  return maxRssKiB / 1024;
}

const file = process.env.INVTRACE_BENCH_CPU_FILE;
const usage = process.env.INVTRACE_BENCH_USAGE_FILE;
if (file || usage)
  process.on('exit', () => {
    const u = process.resourceUsage();
    const cpuSeconds = (u.userCPUTime + u.systemCPUTime) / 1e6;
    if (file) writeFileSync(file, `${cpuSeconds}\n`);
    if (usage) writeFileSync(usage, `${JSON.stringify({ cpuSeconds, maxRssMiB: peakRssMiB(u.maxRSS) })}\n`);
  });
