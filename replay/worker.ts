// One worker thread of a parallel replay (parallel.ts): replays its share of the policies, with its
// own bare hardware, and spills every result row with the position it takes in the serial order
// (event ordinal, phase) to scratch files the main thread merges. Progress and the summaries go back
// as messages.

import { parentPort, workerData } from 'node:worker_threads';
import { InputFault } from '../formats/result.js';
import { openTrace } from '../formats/trace/io.js';
import { loadCosts } from './cost/params.js';
import { bareOutput, replayRuns, type ReplayPhase } from './replayer.js';
import { kitFor } from './kits.js';
import type { HostOpsRowSink } from './ledger.js';
import { HOST_OPS_WIDTH, COMPLETIONS_WIDTH, shareFiles, type ShareMessage, type ShareSpec } from './parallel.js';
import { resolvePolicies } from './policies/index.js';
import type { RunSinks } from './policy-run.js';
import { LineSpill, Spill } from './spill.js';
import { OP_KINDS } from './tables.js';
import { resolveTopology } from './topology.js';

const port = parentPort!;
const post = (m: ShareMessage) => port.postMessage(m);

async function run(spec: ShareSpec): Promise<void> {
  const trace = await openTrace(spec.trace);
  const [topology, costs, policies] = await Promise.all([
    resolveTopology(trace, spec.topologyFile),
    loadCosts(spec.costsFile),
    resolvePolicies(spec.policies),
  ]);
  const local = new Map(policies.map((p, i) => [p.name, i]));
  const files = shareFiles(spec.scratch, spec.index);
  const at: ReplayPhase = { phase: 0, event: 0 };
  let hostOps: Spill | undefined;
  let completions: Spill | undefined;
  let violations: LineSpill | undefined;
  let sinks: RunSinks = {};
  if (spec.tables) {
    const ops = (hostOps = new Spill(files.hostOps, HOST_OPS_WIDTH));
    const comps = (completions = new Spill(files.completions, COMPLETIONS_WIDTH));
    const viol = (violations = new LineSpill(files.violations));
    const kindIndex = new Map<string, number>(OP_KINDS.map((k, i) => [k, i]));
    let policy = 0;
    let seq = 0;
    const write: HostOpsRowSink = (kind, iommu, count, entries, bytes, cost) => {
      const i = ops.next();
      const b = ops.buffer;
      b[i] = at.event;
      b[i + 1] = policy;
      b[i + 2] = seq;
      b[i + 3] = kindIndex.get(kind)!;
      b[i + 4] = iommu;
      b[i + 5] = count;
      b[i + 6] = entries;
      b[i + 7] = bytes;
      b[i + 8] = cost;
      ops.commit();
    };
    sinks = {
      hostOps: (name, s) => {
        policy = local.get(name)!;
        seq = s;
        return write;
      },
      violation: (name, v) => viol.push(JSON.stringify([at.phase, at.event, local.get(name)!, v.seq, v.kind, v.scope, v.explanation])),
      completion: (name, s, slot, doorbellSeq, done, refDone, latency, commands) => {
        const i = comps.next();
        const b = comps.buffer;
        b[i] = local.get(name)!;
        b[i + 1] = s;
        b[i + 2] = slot;
        b[i + 3] = doorbellSeq;
        b[i + 4] = done ? 1 : 0;
        b[i + 5] = refDone ? 1 : 0;
        b[i + 6] = latency === null ? NaN : latency;
        b[i + 7] = commands;
        comps.commit();
      },
    };
  }
  let last = 0;
  const r = await replayRuns(
    trace,
    {
      kit: kitFor(trace.header.arch),
      topology,
      costs,
      policies,
      ...(spec.progress
        ? {
            onProgress: (rows: number) => {
              const now = Date.now();
              if (now - last < 50) return;
              last = now;
              post({ type: 'progress', rows });
            },
          }
        : {}),
    },
    sinks,
    at,
  );
  hostOps?.close();
  completions?.close();
  violations?.close();
  post({
    type: 'done',
    events: r.events,
    doorbells: r.doorbells,
    summaries: r.summaries,
    bare: bareOutput(r.bare),
    records: { hostOps: hostOps?.records ?? 0, completions: completions?.records ?? 0 },
  });
}

try {
  await run(workerData as ShareSpec);
} catch (e) {
  post(e instanceof InputFault ? { type: 'error', input: e.detail } : { type: 'error', message: (e as Error).stack ?? String(e) });
}
