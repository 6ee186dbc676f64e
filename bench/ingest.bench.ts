// Ingest throughput on the largest capture (qemu-vtd-scalable-strict.log, 10.97 MB, 151,351 lines),
// read gzipped (as bundled) and uncompressed, alone and with its guest side (both sides aligned):
// lines per second and megabytes of log text per second, end to end (read, parse, rebuild the
// queue, align, decode, write the Arrow file), best of REPS runs, with the mean CPU time per run
// (wall time suffers when the machine is shared); plus the peak RSS of the process.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { ingest } from '../formats/ingest/ingest.js';
import { peakRssMiB, timeIt, type Bench, type Measurement } from './harness.js';

const captures = (name: string) => fileURLToPath(new URL(`../../samples/captures/${name}`, import.meta.url));
const QEMU = 'qemu-vtd-scalable-strict.log.gz';
const GUEST = 'guest-vtd-scalable-strict.txt.gz';
const REPS = 3;

/** Uncompressed size and line count of a gzipped capture, and a plain copy of it in `dir`. */
function unpack(name: string, dir: string): { plain: string; bytes: number; lines: number } {
  const text = gunzipSync(readFileSync(captures(name)));
  const plain = join(dir, name.replace(/\.gz$/, ''));
  writeFileSync(plain, text);
  let lines = 0;
  for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) lines++;
  return { plain, bytes: text.length, lines };
}

export const benches: readonly Bench[] = [
  {
    name: 'ingest',
    async run() {
      const dir = mkdtempSync(join(tmpdir(), 'invtrace-bench-'));
      try {
        const q = unpack(QEMU, dir);
        const g = unpack(GUEST, dir);
        const output = join(dir, 'out.arrow');
        const out: Measurement[] = [];
        const measure = async (label: string, files: string[], lines: number, bytes: number) => {
          const cpu0 = process.cpuUsage();
          const t = await timeIt(() => ingest(files, { output }), REPS);
          const c = process.cpuUsage(cpu0);
          const cpu = (c.user + c.system) / 1e6 / REPS;
          out.push({ name: `${label}: lines`, value: lines / t.seconds, unit: 'lines/s', note: `${lines.toLocaleString('en-US')} lines in ${t.seconds.toFixed(3)} s; ${cpu.toFixed(3)} s CPU per run` });
          out.push({ name: `${label}: text`, value: bytes / 1e6 / t.seconds, unit: 'MB/s', note: `${(bytes / 1e6).toFixed(2)} MB of log text` });
        };
        await measure(`${QEMU.replace(/\.gz$/, '')} (uncompressed)`, [q.plain], q.lines, q.bytes);
        await measure(`${QEMU} (gzip)`, [captures(QEMU)], q.lines, q.bytes);
        await measure('QEMU + guest sides, aligned (gzip)', [captures(QEMU), captures(GUEST)], q.lines + g.lines, q.bytes + g.bytes);
        out.push({ name: 'peak RSS of the bench process', value: peakRssMiB(), unit: 'MiB' });
        return out;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
