// One ingest in a fresh process, for bench/ingest.bench.ts: `node ingest-child.js OUT FILE...` ingests
// FILE... into OUT and prints {"rows", "maxRssMiB", "cpuSeconds"} as JSON, so that each run's peak
// RSS and CPU time (all threads, zlib's included) are its own.

import { ingest } from '../formats/ingest/ingest.js';

const [output, ...files] = process.argv.slice(2);
const s = await ingest(files, { output: output! });
const u = process.resourceUsage();
process.stdout.write(
  `${JSON.stringify({ rows: s.rows, maxRssMiB: u.maxRSS / 1024, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6 })}\n`,
);
