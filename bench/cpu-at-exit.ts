// Loaded into a measured process by `npm run bench -- sql` and `-- ingest` (node --import): at exit,
// writes the process's CPU seconds (user + system, every thread: DuckDB's worker included) to the
// file $INVTRACE_BENCH_CPU_FILE names, and {"cpuSeconds", "maxRssMiB"} as JSON to the one
// $INVTRACE_BENCH_USAGE_FILE names. CPU time is far less sensitive than wall time to the other
// processes on a shared machine, so the benches print both.

import { createRequire } from 'node:module';
import { peakRssMiB } from './peak-rss.js';

// Through require, as in peak-rss.ts: the measured process should load nothing the CLI does not.
const { writeFileSync } = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');

const file = process.env.INVTRACE_BENCH_CPU_FILE;
const usage = process.env.INVTRACE_BENCH_USAGE_FILE;
if (file || usage)
  process.on('exit', () => {
    const u = process.resourceUsage();
    const cpuSeconds = (u.userCPUTime + u.systemCPUTime) / 1e6;
    if (file) writeFileSync(file, `${cpuSeconds}\n`);
    if (usage) writeFileSync(usage, `${JSON.stringify({ cpuSeconds, maxRssMiB: peakRssMiB() })}\n`);
  });
