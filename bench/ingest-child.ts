// One ingest in a fresh process, for bench/ingest.bench.ts: `node ingest-child.js OUT FILE...` ingests
// FILE... into OUT and prints {"rows", "maxRssMiB"} as JSON, so that each run's peak RSS is its own.

import { ingest } from '../formats/ingest/ingest.js';

const [output, ...files] = process.argv.slice(2);
const s = await ingest(files, { output: output! });
process.stdout.write(`${JSON.stringify({ rows: s.rows, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
