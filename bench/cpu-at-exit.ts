// Loaded into a measured process by `npm run bench -- sql` (node --import): at exit, writes the
// process's CPU seconds (user + system, every thread: DuckDB's worker included) to the file
// $INVTRACE_BENCH_CPU_FILE names. CPU time is far less sensitive than wall time to the other
// processes on a shared machine, so the bench prints both.

import { writeFileSync } from 'node:fs';

const file = process.env.INVTRACE_BENCH_CPU_FILE;
if (file)
  process.on('exit', () => {
    const u = process.cpuUsage();
    writeFileSync(file, `${(u.user + u.system) / 1e6}\n`);
  });
