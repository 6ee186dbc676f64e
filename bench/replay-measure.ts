// One measurement of the replay bench (bench/replay.bench.ts), run in a child process of its own so
// that its peak RSS is that figure's alone: reading the trace once (apache-arrow, touching every
// command word; and the same into reused memory, formats/trace/reused-batches.ts, as replay reads), the bare SMMUv3 emulator's consume loop on the trace's commands (preloaded into
// typed arrays, so only the unit is timed), a replay through runReplay (as `compare`/`replay` run
// it), or the TUI's background replay job (cli/tui/jobs: a worker thread, --policy all, tables
// written). Prints one JSON line: {seconds, rssMiB, commands}.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTrace } from '../formats/trace/io.js';
import { queueBase } from '../replay/feed.js';
import { kitFor } from '../replay/kits.js';
import { GuestMemory } from '../replay/memory.js';
import { runReplay } from '../replay/run.js';
import { resolveTopology } from '../replay/topology.js';
import { peakRssMiB } from './harness.js';

export type MeasureKind = 'read' | 'read-reused' | 'bare' | 'replay' | 'tui';

export interface MeasureSpec {
  readonly kind: MeasureKind;
  readonly trace: string;
  readonly policies?: readonly string[];
  readonly jobs?: number;
  /** Write the result tables (as `replay -o`), not only the summary (as `compare`). */
  readonly tables?: boolean;
  /** RunOptions.bareThread: false keeps bare hardware beside the policies (each share its own). */
  readonly bareThread?: boolean;
}

export interface MeasureResult {
  readonly seconds: number;
  /**
   * CPU time (user + system, every thread of the process) over the same span: on a shared machine
   * the load stretches wall time but hardly the work done, so A/B comparisons read this one.
   */
  readonly cpuSeconds: number;
  readonly rssMiB: number;
  readonly commands: number;
}

/** CPU seconds (user + system) since `from` (a process.cpuUsage() reading). */
const cpuSince = (from: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
};

const KIND_CMD = 'cmd';

/**
 * Reads every batch and folds every command word into a checksum (the floor of any replay), with
 * apache-arrow's reader (OpenTrace.batches), or with `reused` the batches read into reused memory
 * (OpenTrace.reusingBatches, what a replay reads with).
 */
async function readOnce(path: string, reused = false): Promise<number> {
  const t = await openTrace(path);
  let x = 0n;
  let commands = 0;
  for await (const b of reused ? t.reusingBatches!() : t.batches()) {
    const kind = b.getChild('kind')!;
    const w0 = b.getChild('w0')!;
    const w1 = b.getChild('w1')!;
    for (let c = 0; c < w0.data.length; c++) {
      const k = kind.data[c]!;
      const codes = k.values as Int8Array | Int16Array | Int32Array;
      const names = (k.dictionary as unknown as { toArray(): string[] }).toArray();
      const cmd = names.indexOf(KIND_CMD);
      const a = w0.data[c]!.values as BigUint64Array;
      const d = w1.data[c]!.values as BigUint64Array;
      for (let i = 0; i < a.length; i++) {
        if (codes[i] !== cmd) continue;
        x ^= a[i]! ^ d[i]!;
        commands++;
      }
    }
  }
  if (x === 0xdeadn) console.error('');
  return commands;
}

/** The trace's commands and doorbells into typed arrays, then through a fresh bare unit: only the consume loop is timed. */
async function bareConsume(path: string): Promise<{ seconds: number; cpuSeconds: number; commands: number }> {
  const t = await openTrace(path);
  const topology = (await resolveTopology(t)).topology;
  const kinds: number[] = [];
  const slots: number[] = [];
  const wraps: number[] = [];
  const w0s: bigint[] = [];
  const w1s: bigint[] = [];
  for await (const b of t.batches()) {
    const kind = b.getChild('kind')!;
    const slot = b.getChild('slot')!;
    const wrap = b.getChild('wrap')!;
    const w0 = b.getChild('w0')!;
    const w1 = b.getChild('w1')!;
    for (let i = 0; i < b.numRows; i++) {
      const k = kind.get(i) as string;
      if (k !== 'cmd' && k !== 'doorbell') continue;
      kinds.push(k === 'cmd' ? 0 : 1);
      slots.push(Number(slot.get(i)));
      wraps.push(Number(wrap.get(i) ?? 0));
      w0s.push((w0.get(i) as bigint | null) ?? 0n);
      w1s.push((w1.get(i) as bigint | null) ?? 0n);
    }
  }
  const h = t.header;
  const base = queueBase(h);
  const mem = new GuestMemory();
  mem.addRegion(base, h.queue_entries * h.desc_bytes);
  const unit = kitFor(h.arch).guestUnit(topology, mem);
  unit.configureQueue(base, h.queue_entries, h.desc_bytes, h.start ?? 0);
  const w: bigint[] = [0n, 0n];
  let commands = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < kinds.length; i++) {
    if (kinds[i] === 0) {
      w[0] = w0s[i]!;
      w[1] = w1s[i]!;
      mem.writeWords(base + BigInt(slots[i]! * h.desc_bytes), w);
      commands++;
    } else unit.writeProducer(slots[i]!, wraps[i]!);
  }
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpuSeconds: cpuSince(c0), commands };
}

async function tuiReplay(path: string): Promise<void> {
  const { startJob } = await import('../cli/tui/jobs/jobs.js');
  const dir = mkdtempSync(join(tmpdir(), 'invtrace-bench-tui-replay-'));
  try {
    await startJob({ kind: 'replay', trace: path, policies: ['all'], outDir: join(dir, 'replay') }).done;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function measure(spec: MeasureSpec): Promise<MeasureResult> {
  const t0 = process.hrtime.bigint();
  const since = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const c0 = process.cpuUsage();
  let commands = 0;
  let seconds: number;
  let cpuSeconds = 0;
  switch (spec.kind) {
    case 'read':
    case 'read-reused':
      commands = await readOnce(spec.trace, spec.kind === 'read-reused');
      seconds = since();
      break;
    case 'bare': {
      const r = await bareConsume(spec.trace);
      commands = r.commands;
      seconds = r.seconds;
      cpuSeconds = r.cpuSeconds;
      break;
    }
    case 'replay': {
      const dir = spec.tables ? mkdtempSync(join(tmpdir(), 'invtrace-bench-replay-')) : undefined;
      try {
        await runReplay(spec.trace, {
          policies: spec.policies ?? ['all'],
          ...(dir ? { outDir: dir } : {}),
          ...(spec.jobs !== undefined ? { jobs: spec.jobs } : {}),
          ...(spec.bareThread !== undefined ? { bareThread: spec.bareThread } : {}),
        });
      } finally {
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
      seconds = since();
      break;
    }
    case 'tui':
      await tuiReplay(spec.trace);
      seconds = since();
      break;
  }
  if (spec.kind !== 'bare') cpuSeconds = cpuSince(c0);
  return { seconds, cpuSeconds, rssMiB: peakRssMiB(), commands };
}
