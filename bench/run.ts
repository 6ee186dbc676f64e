// `npm run bench`: runs every compiled bench/*.bench.js (or those named on the command line,
// e.g. `npm run bench -- codec`) and prints name, value, unit.

import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Bench } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js') && (only.length === 0 || only.some((o) => f.includes(o))))
  .sort();
for (const f of files) {
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { benches: readonly Bench[] };
  for (const b of mod.benches) {
    const results = await b.run();
    for (const m of results) {
      console.log(
        `${`${b.name}: ${m.name}`.padEnd(60)} ${m.value.toLocaleString('en-US', { maximumFractionDigits: 2 }).padStart(14)} ${m.unit}${m.note ? `  (${m.note})` : ''}`,
      );
    }
  }
}
