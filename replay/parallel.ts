// Policies in parallel: the policies are cut into contiguous shares, the first replayed in this
// thread and each other in a worker thread (share.ts, worker.ts); every share replays the whole
// trace, with bare hardware of its own or, when a core is left for it (bare-launch.ts
// sharesBareThread), reading what bare hardware's thread computed once (bare-thread.ts), and spills
// its rows tagged with their place in the serial order.
// The main thread merges the shares — host_ops and violations by (phase, event ordinal), ties in
// policy order; completions and summaries share after share — into the same result tables, batch
// for batch, that a serial run writes: output is byte-identical (bench/replay-hashes.ts checks it).

import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { OpenTrace } from '../formats/trace/io.js';
import { workerJob, workerScript } from '../formats/worker-job.js';
import { openTables, replayOutput, summaryRow } from './replayer.js';
import { replayShare, shareFiles, type ShareDone, type ShareMessage, type ShareSpec } from './share.js';
import { BareLaunch, sharesBareThread } from './bare-launch.js';
import type { Float64, Int32, Uint8, Uint32, Uint64 } from 'apache-arrow';
import type { DictCol, NumCol } from '../formats/arrow/columns.js';
import { CompletionsSpill, HostOpsSpill, LineReader } from './spill.js';
import type { PolicySummary, ReplayOutput } from './summary.js';
import type { ResolvedTopology } from './topology.js';

/** `n` policies cut into `jobs` contiguous shares, as even as can be. */
export function shares<T>(items: readonly T[], jobs: number): T[][] {
  const k = Math.max(1, Math.min(jobs, items.length));
  const out: T[][] = [];
  let from = 0;
  for (let i = 0; i < k; i++) {
    const n = Math.floor(items.length / k) + (i < items.length % k ? 1 : 0);
    out.push(items.slice(from, from + n));
    from += n;
  }
  return out;
}

export interface ParallelOptions {
  readonly policies: readonly string[];
  readonly jobs: number;
  readonly topologyFile?: string;
  readonly costsFile?: string;
  readonly outDir?: string;
  readonly onProgress?: (rows: number) => void;
  /** Bare hardware computed once, on a thread of its own, for every share (default); false: each share its own. */
  readonly bareThread?: boolean;
  /** That thread launched already (bare-launch.ts launchBareEarly), taken when it has one reader per share; the caller ends it. */
  readonly bareLaunch?: BareLaunch;
}

type Done = ShareDone;

function runShare(spec: ShareSpec, onProgress?: (rows: number) => void): { done: Promise<Done>; stop(): void } {
  const job = workerJob<ShareMessage>(
    workerScript(import.meta.url, 'replay/worker.js'),
    { workerData: spec, transferList: spec.bare !== undefined ? [spec.bare.port] : [] },
    {
      note: (m) => onProgress?.(m.rows),
      exitMessage: (code) => `replay worker ended with exit code ${code}`,
      internal: (message) => `replay worker: ${message}`,
    },
  );
  return { done: job.done, stop: () => void job.terminate() };
}

/** Replays `trace` with its policies spread over `opts.jobs` worker threads. */
export async function replayParallel(trace: OpenTrace, topology: ResolvedTopology, opts: ParallelOptions): Promise<ReplayOutput> {
  const parts = shares(opts.policies, opts.jobs);
  const scratch = mkdtempSync(join(tmpdir(), 'invtrace-parallel-'));
  const tables = opts.outDir !== undefined;
  // Set by a share that fails, so the others stop at their next trace batch (share.ts).
  const stop = new SharedArrayBuffer(4);
  const launch = sharesBareThread(parts.length, opts)
    ? opts.bareLaunch?.readers === parts.length
      ? opts.bareLaunch
      : new BareLaunch(parts.length)
    : undefined;
  const feeds = launch?.begin(trace.path, topology);
  const specs: ShareSpec[] = parts.map((policies, index) => ({
    index,
    trace: trace.path,
    policies,
    scratch,
    tables,
    progress: index === 0 && opts.onProgress !== undefined,
    ...(opts.topologyFile !== undefined ? { topologyFile: opts.topologyFile } : {}),
    ...(opts.costsFile !== undefined ? { costsFile: opts.costsFile } : {}),
    ...(feeds !== undefined ? { bare: feeds[index]! } : {}),
    stop,
  }));
  // Every share but the first in a worker thread, started first; the first (the largest: shares
  // gives the first ones the extra policies) in this thread, whose modules are loaded already.
  const workers = specs.slice(1).map((spec) => runShare(spec));
  const running = [{ done: replayShare(specs[0]!, opts.onProgress), stop: () => {} }, ...workers];
  try {
    const settled = await Promise.allSettled(running.map((r) => r.done));
    const failure = shareFailure(settled, Atomics.load(new Int32Array(stop), 0));
    if (failure !== undefined) throw failure.reason;
    const done = settled.map((r) => (r as PromiseFulfilledResult<Done>).value);
    const summaries = done.flatMap((d) => d.summaries);
    if (opts.outDir !== undefined) mergeTables(opts.outDir, scratch, done, summaries);
    return replayOutput(trace, topology, { events: done[0]!.events, doorbells: done[0]!.doorbells, summaries }, done[0]!.bare);
  } finally {
    for (const r of running) r.stop();
    launch?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The failure a parallel replay reports, if any share failed: the first failing share's, whose
 * index + 1 it recorded in the shared flag (`recorded`, share.ts), not the ShareStopped of the
 * shares it stopped; else (a thread that died without a word records nothing) the first rejection.
 */
export function shareFailure(settled: readonly PromiseSettledResult<unknown>[], recorded: number): PromiseRejectedResult | undefined {
  const first = settled[recorded - 1];
  return first?.status === 'rejected' ? first : settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
}

/** The columns of a host_ops table (tables.ts hostOpsSpec), in order. */
type HostOpsColumns = [DictCol, NumCol<Uint32>, DictCol, NumCol<Int32>, NumCol<Uint32>, NumCol<Uint32>, NumCol<Uint64>, NumCol<Float64>];
/** The columns of a completions table (tables.ts completionsSpec), in order. */
type CompletionsColumns = [
  DictCol,
  NumCol<Uint32>,
  NumCol<Uint32>,
  NumCol<Uint32>,
  NumCol<Uint8>,
  NumCol<Uint8>,
  NumCol<Float64>,
  NumCol<Uint32>,
];

/**
 * The shares' spilled rows into the result tables, in serial order. Each row's cells go straight
 * into the table's columns, the policy and kind as the dictionary codes the spill holds.
 */
function mergeTables(dir: string, scratch: string, done: readonly Done[], summaries: readonly PolicySummary[]): void {
  const names = summaries.map((s) => s.policy);
  const firstOf: number[] = [];
  done.reduce((n, d) => (firstOf.push(n), n + d.summaries.length), 0);
  const t = openTables(dir, names);
  const files = done.map((_, i) => shareFiles(scratch, i));
  try {
    // host_ops: by event ordinal, share order on a tie (a share's rows of one event are contiguous).
    const ops = done.map((d, i) => HostOpsSpill.read(files[i]!.hostOps, d.records.hostOps));
    const [policy, seq, kind, iommu, count, entries, bytes, cost] = t.hostOps.columns as HostOpsColumns;
    // Per share, its policies' codes as the table's dictionary gives them (pushing the names would).
    const policyCodes = done.map((d, i) => d.summaries.map((_, k) => policy.dict.indexOf(names[firstOf[i]! + k]!)));
    for (;;) {
      let pick = -1;
      for (let i = 0; i < ops.length; i++) if (ops[i]!.live && (pick < 0 || ops[i]!.key < ops[pick]!.key)) pick = i;
      if (pick < 0) break;
      const r = ops[pick]!;
      // The picked share keeps the lead while its key stays below the others' least (held by share
      // `by`), or equal to it with a lower share index: up to key `last`, its rows go in one run.
      let bound = Infinity;
      let by = ops.length;
      for (let i = 0; i < ops.length; i++)
        if (i !== pick && ops[i]!.live && ops[i]!.key < bound) {
          bound = ops[i]!.key;
          by = i;
        }
      const last = pick < by ? bound : bound - 1;
      const codes = policyCodes[pick]!;
      // The run a block at a time, cut where the table's batch ends (the batches' bytes are the serial run's).
      while (r.live && r.key <= last) {
        const b = r.block;
        const from = r.at;
        const most = Math.min(r.length, from + t.hostOps.room);
        let to = from + 1;
        while (to < most && b.key[to]! <= last) to++;
        policy.appendCodes(b.policy, from, to, codes);
        seq.appendFrom(b.seq, from, to);
        // an index in OP_KINDS (share.ts spills with it): this table's kind dictionary (hostOpsSpec)
        kind.appendCodes(b.kind, from, to);
        iommu.appendFrom(b.iommu, from, to);
        count.appendFrom(b.count, from, to);
        entries.appendFrom(b.entries, from, to);
        bytes.appendFrom(b.bytes, from, to);
        cost.appendFrom(b.cost, from, to);
        t.hostOps.endRows(to - from);
        r.take(to - from);
      }
    }
    for (const r of ops) r.close();
    // violations: by (phase, event ordinal), share order on a tie.
    const vs = files.map((f) => new LineReader(f.violations));
    const cur: (unknown[] | undefined)[] = vs.map((r) => (r.next() ? (JSON.parse(r.line) as unknown[]) : undefined));
    const before = (a: unknown[], b: unknown[]) =>
      (a[0] as number) < (b[0] as number) || (a[0] === b[0] && (a[1] as number) < (b[1] as number));
    for (;;) {
      let pick = -1;
      for (let i = 0; i < vs.length; i++) if (cur[i] !== undefined && (pick < 0 || before(cur[i]!, cur[pick]!))) pick = i;
      if (pick < 0) break;
      const v = cur[pick]!;
      t.violations.push([names[firstOf[pick]! + (v[2] as number)]!, v[3] as number, v[4] as string, v[5] as string, v[6] as string]);
      cur[pick] = vs[pick]!.next() ? (JSON.parse(vs[pick]!.line) as unknown[]) : undefined;
    }
    for (const r of vs) r.close();
    // completions: share after share (each share wrote its policies in order).
    const c = t.completions.columns as CompletionsColumns;
    const codes = names.map((n) => c[0].dict.indexOf(n));
    done.forEach((d, i) => {
      const r = CompletionsSpill.read(files[i]!.completions, d.records.completions);
      const first = firstOf[i]!;
      while (r.next()) {
        c[0].pushCode(codes[first + r.policy]!);
        c[1].push(r.seq);
        c[2].push(r.slot);
        c[3].push(r.doorbellSeq);
        c[4].push(r.completed);
        c[5].push(r.refCompleted);
        const latency = r.latency;
        if (latency === latency) c[6].push(latency);
        else c[6].pushNull();
        c[7].push(r.commands);
        t.completions.endRow();
      }
      r.close();
    });
    for (const s of summaries) t.summary.push(summaryRow(s));
    t.close();
  } finally {
    t.abort();
  }
}
