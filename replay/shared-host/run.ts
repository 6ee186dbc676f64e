// One call for the CLI: open several traces, resolve each VM's topology, the costs and the
// policies, place the VMs on one host (placement.ts), replay them together (host-replay.ts) and
// each alone on the same host model, and put both side by side (output.ts). With an output
// folder, each VM's result tables go to DIR/vm-K/ (a replay folder of its own, with the wait
// kinds in host_ops) and the whole comparison to DIR/shared-host.json.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../formats/atomic.js';
import { InputFault } from '../../formats/result.js';
import { openTrace } from '../../formats/trace/io.js';
import { loadCosts } from '../cost/params.js';
import { queueDevices } from '../../formats/trace/queues.js';
import { partitionAvailable, resolvePolicies, type ResolvedPolicy } from '../policies/index.js';
import { bareOutput, replayOutput, summaryRow, tableSinks } from '../replayer.js';
import { ReplayTables } from '../results.js';
import type { LeftOut } from '../summary.js';
import { completionsSpec, hostOpsSpec, summarySpec, violationsSpec } from '../tables.js';
import { resolveTopology } from '../topology.js';
import { replayHost, type HostRun, type VmRun } from './host-replay.js';
import type { Interleave } from './interleave.js';
import { sharedHostOutput, type SharedHostOutput } from './output.js';
import { HOST_QUEUE_ENTRIES } from './physical-queue.js';
import { placeVms, type VmSpec } from './placement.js';

export interface SharedHostRunOptions {
  readonly policies: readonly string[];
  /** Per trace, in order: its topology file (undefined: the trace's own). */
  readonly topologyFiles?: readonly (string | undefined)[];
  readonly costsFile?: string;
  readonly interleave?: Interleave;
  /** Slots of each physical queue (default per architecture, physical-queue.ts). */
  readonly queueEntries?: number;
  /** Give every VM's devices free physical SIDs (placement.ts). */
  readonly renumberPsids?: boolean;
  readonly outDir?: string;
  /** How each trace is named in the output (default its path). */
  readonly names?: readonly string[];
}

export async function runSharedHost(paths: readonly string[], opts: SharedHostRunOptions): Promise<SharedHostOutput> {
  if (paths.length < 1) throw new InputFault({ message: 'shared host: give the traces of the VMs' });
  const [costs, asked] = await Promise.all([loadCosts(opts.costsFile), resolvePolicies(opts.policies)]);
  const specs: VmSpec[] = [];
  for (const [k, path] of paths.entries()) {
    const trace = await openTrace(path);
    const topology = await resolveTopology(trace, opts.topologyFiles?.[k]);
    if (topology.topology.devices.length === 0)
      throw new InputFault({
        file: path,
        message: 'no devices: the trace names none and the header has no topology (give --topology FILE)',
      });
    specs.push({ path, trace, topology });
  }
  const vms = placeVms(specs, opts.renumberPsids === true);
  // A policy runs on the shared host only if it can run for every VM.
  const leftOut: LeftOut[] = [];
  const policies: ResolvedPolicy[] = [];
  for (const p of asked) {
    // A VM with several guest queues: hw-direct needs them one to one onto physical IOMMUs.
    const why = vms
      .map((v) => ({
        v,
        out: partitionAvailable(
          [p],
          v.topology.topology,
          v.trace.header.queues === undefined
            ? undefined
            : queueDevices(v.trace.header, v.topology.topology, { file: v.trace.path, source: v.topology.source }),
        ).leftOut[0],
      }))
      .find((x) => x.out !== undefined);
    if (why === undefined) policies.push(p);
    else leftOut.push({ policy: p.name, why: `${opts.names?.[why.v.vm] ?? why.v.path}: ${why.out!.why}` });
  }
  if (policies.length === 0)
    throw new InputFault({
      file: paths[0],
      message: `shared host: no policy can run on every VM (${leftOut.map((l) => `${l.policy}: ${l.why}`).join('; ')})`,
    });
  const queueEntries = opts.queueEntries ?? HOST_QUEUE_ENTRIES[vms[0]!.trace.header.arch];
  const tables =
    opts.outDir === undefined
      ? undefined
      : vms.map((v) =>
          openVmTables(
            join(opts.outDir!, `vm-${v.vm}`),
            policies.map((p) => p.name),
          ),
        );
  try {
    // One pass per policy (each its own host and interleave), then each VM alone on the same host
    // model (its placement kept, so only the neighbours differ).
    const shared: HostRun[] = [];
    const alone: VmRun[][] = [];
    let interleave = opts.interleave;
    for (const policy of policies) {
      const h = await replayHost(vms, {
        policy,
        costs,
        queueEntries,
        ...(interleave ? { interleave } : {}),
        ...(tables ? { sinks: tables.map(tableSinks) } : {}),
      });
      interleave = h.interleave;
      shared.push(h);
      const one: VmRun[] = [];
      for (const v of vms) one.push((await replayHost([v], { policy, costs, queueEntries, interleave })).vms[0]!);
      alone.push(one);
    }
    const result = sharedHostOutput(vms, shared, alone, {
      queueEntries,
      interleave: interleave ?? 'round-robin',
      leftOut,
      costs,
      ...(opts.names ? { names: opts.names } : {}),
    });
    if (opts.outDir !== undefined && tables !== undefined) {
      vms.forEach((v, k) => {
        const t = tables[k]!;
        const runs = shared.map((h) => h.vms[k]!);
        for (const r of runs) t.summary.push(summaryRow(r.summary));
        t.close();
        const r = { events: runs[0]?.events ?? 0, doorbells: runs[0]?.doorbells ?? 0, summaries: runs.map((x) => x.summary) };
        const one = { ...replayOutput(v.trace, v.topology, r, bareOutput(runs[0]!.bare)), left_out: leftOut };
        writeFileAtomic(
          join(opts.outDir!, `vm-${v.vm}`, 'replay.json'),
          `${JSON.stringify({ ...one, shared_host: { vm: v.vm, of: vms.length, notes: v.notes } }, null, 2)}\n`,
        );
      });
      writeFileAtomic(join(opts.outDir, 'shared-host.json'), `${JSON.stringify(result, null, 2)}\n`);
    }
    return result;
  } finally {
    for (const t of tables ?? []) t.abort();
  }
}

function openVmTables(dir: string, policies: readonly string[]): ReplayTables {
  mkdirSync(dir, { recursive: true });
  return new ReplayTables(dir, {
    host_ops: hostOpsSpec(policies, true),
    completions: completionsSpec(policies),
    violations: violationsSpec(policies),
    summary: summarySpec(policies),
  });
}
