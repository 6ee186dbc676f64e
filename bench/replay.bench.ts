// Replay speed and memory (`npm run bench -- replay`), on a generated SMMUv3 trace of 1M commands
// (`invtrace gen smmuv3 --commands 1000000 --seed 1`; INVTRACE_BENCH_REPLAY_COMMANDS to change,
// INVTRACE_BENCH_REPLAY_10M=1 adds the same figures at 10M commands). Every figure is measured in a
// child process of its own (bench/replay-measure.ts: its peak RSS is that figure's) and printed as
// a ratio to two peers measured in the same run, since the machine is shared and noisy:
//   read  reading the trace once with apache-arrow, touching every command word (the floor);
//         printed beside it, not a peer: the same read into reused memory (formats/trace/reused-batches.ts),
//         which is how a replay reads the trace;
//   bare  the bare SMMUv3 emulator's consume loop on the same commands (the limit of this design:
//         every policy drives at least one such unit, plus bare hardware for the oracle).
// Each note also gives the figure's CPU time (user + system, all threads) and its ratio to the
// read's: the load of other processes stretches wall time, hardly CPU time, so compare builds on
// that (a 2-thread figure's CPU time is both threads' work, not its wall time).
// Bare hardware runs on a thread of its own by default when a core is left for it (one policy on 2
// cores: replay/bare-thread.ts), else each share replays it beside its policies (bare-launch.ts
// sharesBareThread); the `--jobs 1` line and the `bare hardware on a thread of its own` line are
// the other choice in each case, measured in the same run.
// Goals (issue 13): one policy ≤ 3x read; all 9 policies on 2 cores ≤ 8x read; peak RSS of all
// policies ≤ 1 GB, about the same at 10M commands. Also the TUI's background replay job.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ALL_POLICIES } from '../replay/policies/index.js';
import { generate, plan } from '../samples/gen/generate.js';
import type { Bench, Measurement } from './harness.js';
import type { MeasureResult, MeasureSpec } from './replay-measure.js';

const COMMANDS = Number(process.env.INVTRACE_BENCH_REPLAY_COMMANDS ?? 1_000_000);

/** Runs one measurement in a child process (a script file, not --eval: worker threads inherit the child's flags). */
function child(dir: string, spec: MeasureSpec): MeasureResult {
  const mod = pathToFileURL(join(import.meta.dirname, 'replay-measure.js')).href;
  const script = join(dir, 'measure.mjs');
  writeFileSync(
    script,
    `const { measure } = await import(${JSON.stringify(mod)}); console.log(JSON.stringify(await measure(${JSON.stringify(spec)})));\n`,
  );
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', maxBuffer: 1 << 22 });
  if (r.status !== 0) throw new Error(`replay bench child failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as MeasureResult;
  process.stderr.write(
    `replay bench: ${JSON.stringify(spec.policies ?? spec.kind)}${spec.jobs !== undefined ? ` jobs ${spec.jobs}` : ''}${spec.tables ? ' tables' : ''}: ${out.seconds.toFixed(2)} s, cpu ${out.cpuSeconds.toFixed(2)} s, ${out.rssMiB.toFixed(0)} MiB\n`,
  );
  return out;
}

async function figures(commands: number): Promise<Measurement[]> {
  const dir = mkdtempSync(join(tmpdir(), 'invtrace-bench-replay-'));
  try {
    const trace = join(dir, `gen-${commands}.arrow`);
    const p = plan('smmuv3', { commands: String(commands), seed: '1' });
    if (!p.ok) throw new Error(p.error.message);
    await generate(p.value, trace);
    const label = `${(commands / 1e6).toLocaleString('en-US')}M commands`;
    const read = child(dir, { kind: 'read', trace });
    const readReused = child(dir, { kind: 'read-reused', trace });
    const bare = child(dir, { kind: 'bare', trace });
    const out: Measurement[] = [
      {
        name: `${label}: read the trace once`,
        value: read.seconds,
        unit: 's',
        note: `${read.commands.toLocaleString('en-US')} commands, cpu ${read.cpuSeconds.toFixed(2)} s, peak RSS ${read.rssMiB.toFixed(0)} MiB`,
      },
      {
        name: `${label}: read the trace once into reused memory (as replay reads it; not the floor)`,
        value: readReused.seconds,
        unit: 's',
        note: `${(readReused.seconds / read.seconds).toFixed(2)}x read; cpu ${readReused.cpuSeconds.toFixed(2)} s, peak RSS ${readReused.rssMiB.toFixed(0)} MiB`,
      },
      {
        name: `${label}: bare emulator consume loop`,
        value: bare.seconds,
        unit: 's',
        note: `${(bare.commands / bare.seconds / 1e6).toFixed(2)} M commands/s; ${(bare.seconds / read.seconds).toFixed(2)}x read`,
      },
    ];
    const cores = Math.min(availableParallelism(), ALL_POLICIES.length);
    const runs: [string, MeasureSpec][] = [
      ['per-command (compare)', { kind: 'replay', trace, policies: ['per-command'] }],
      // The same in one thread (bare hardware beside the policy): the peer of the line above.
      ['per-command, --jobs 1 (compare)', { kind: 'replay', trace, policies: ['per-command'], jobs: 1 }],
      ['hw-direct (compare)', { kind: 'replay', trace, policies: ['hw-direct'] }],
      [`all ${ALL_POLICIES.length} policies, ${cores} threads (compare)`, { kind: 'replay', trace, policies: ['all'] }],
      // The same with bare hardware on a thread of its own, read by every share (the default when a core is left for it).
      [
        `all ${ALL_POLICIES.length} policies, ${cores} threads, bare hardware on a thread of its own`,
        { kind: 'replay', trace, policies: ['all'], bareThread: true },
      ],
      [`all ${ALL_POLICIES.length} policies, serial --jobs 1 (compare)`, { kind: 'replay', trace, policies: ['all'], jobs: 1 }],
      ['TUI background replay job (all policies, tables)', { kind: 'tui', trace }],
    ];
    for (const [name, spec] of runs) {
      const r = child(dir, spec);
      out.push({
        name: `${label}: ${name}`,
        value: r.seconds / read.seconds,
        unit: 'x read',
        note: `${r.seconds.toFixed(1)} s, ${(r.seconds / bare.seconds).toFixed(1)}x bare; cpu ${r.cpuSeconds.toFixed(1)} s, ${(r.cpuSeconds / read.cpuSeconds).toFixed(1)}x read's; peak RSS ${r.rssMiB.toFixed(0)} MiB`,
      });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const benches: readonly Bench[] = [
  {
    name: 'replay',
    async run() {
      const out = await figures(COMMANDS);
      if (process.env.INVTRACE_BENCH_REPLAY_10M === '1') out.push(...(await figures(10 * COMMANDS)));
      return out;
    },
  },
];
