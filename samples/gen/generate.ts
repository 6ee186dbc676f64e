// `invtrace gen`: a workload and its options → a plan (topology, header, effective settings) → the
// workload model (driver-model.ts) driving the Linux driver model into a TraceBuilder, streamed to an Arrow file. The same
// plan and seed give the same bytes: the only randomness is the seeded Rng, timestamps come from
// the model clock, and the header holds no wall-clock time.

import type { Arch } from '../../formats/codec/table.js';
import { fail, InputFault, ok, type Result } from '../../formats/result.js';
import { TraceBuilder, type BatchSink } from '../../formats/trace/builder.js';
import type { QueueSpec, TraceHeader } from '../../formats/trace/header.js';
import { TraceFileWriter, withVersion } from '../../formats/trace/io.js';
import { Rng } from '../rng.js';
import type { LinuxDriver } from './driver.js';
import { DriverModel } from './driver-model.js';
import type { Injection } from './inject.js';
import { flagName, OPTIONS, resolveOptions, showOptions, type GenOptions, type Mode, type OptionKey, type Stage } from './options.js';
import { GuestQueue } from './queue.js';
import { Smmuv3Linux } from './smmuv3.js';
import { buildTopology, TOPOLOGY_KEYS, type GenTopology } from './topology.js';
import { VtdLinux } from './vtd.js';
import { findWorkload, WORKLOADS, type Workload } from './workloads.js';

/** What the driver model actually does with the options (the kernel may override a request). */
export interface Effective {
  readonly mode: Mode;
  /** Why strict mode was used although lazy was asked for. */
  readonly strictForcedBy?: string;
  readonly stage?: Stage;
}

export interface GenPlan {
  readonly workload: Workload;
  readonly options: GenOptions;
  readonly topology: GenTopology;
  readonly effective: Effective;
  readonly header: TraceHeader;
}

export interface GenSummary {
  readonly output: string;
  readonly workload: string;
  readonly arch: Arch;
  readonly seed: number;
  readonly rows: number;
  readonly commands: number;
  readonly doorbells: number;
  readonly wraps: number;
  readonly requests: number;
  /** Guest time the generated run covers, in seconds (model clock). */
  readonly model_seconds: number;
  readonly mode: Mode;
  readonly injections_fired: number;
  /** Injections the run ended before reaching. */
  readonly injections_unfired: readonly Injection[];
}

/** Resolves a workload name and the user's option strings into a plan; bad input fails with the flag named. */
export function plan(workloadName: string, user: Readonly<Partial<Record<OptionKey, string>>>): Result<GenPlan> {
  const workload = findWorkload(workloadName);
  if (workload === undefined) {
    return fail({ field: workloadName, message: `unknown workload (one of ${WORKLOADS.map((w) => w.name).join(', ')}; see gen --list)` });
  }
  const r = resolveOptions(workload.arch, workload.options, user);
  if (!r.ok) return r;
  const o = r.value.options;
  const topology = buildTopology(workload.arch, o, workload, r.value.explicit);
  for (const inj of o.inject) {
    if (inj.kind !== 'atc-timeout') continue;
    const ats = topology.devices.filter((d) => d.ats && d.weight > 0);
    if (ats.length === 0) return fail({ field: '--inject', message: 'atc-timeout needs a device with ATS and traffic (--ats)' });
    if (inj.sid !== undefined && !ats.some((d) => d.sid === inj.sid)) {
      return fail({
        field: '--inject',
        message: `0x${inj.sid.toString(16)} is not an ATS device with traffic (${ats.map((d) => `0x${d.sid.toString(16)}`).join(', ')})`,
      });
    }
  }
  const effective = effectiveOf(workload.arch, o);
  const descBytes = workload.arch === 'vtd' && o.scalable ? 32 : 16;
  const header = withVersion({
    invtrace: 1,
    arch: workload.arch,
    queue_entries: o.queue,
    desc_bytes: descBytes,
    queue_base: `0x${o.queueBase.toString(16)}`,
    topology: topology.header,
    ...(o.vsmmus === 'per-iommu' && workload.arch === 'smmuv3' ? { queues: vsmmuQueues(o, topology, descBytes) } : {}),
    notes: {
      generator: 'invtrace gen',
      workload: workload.name,
      ...(workload.capture ? { capture: workload.capture } : {}),
      model: `Linux ${o.kernel} ${workload.arch === 'vtd' ? 'intel-iommu' : 'arm-smmu-v3'} guest driver (samples/gen)`,
      options: noteOptions(workload.arch, o, topology),
      effective: {
        mode: effective.mode,
        ...(effective.strictForcedBy ? { strict_forced_by: effective.strictForcedBy } : {}),
        ...(effective.stage ? { stage: effective.stage } : {}),
      },
      clock: 'ts_ns: generator model time since the guest IOMMU reset',
    },
  });
  return ok({ workload, options: o, topology, effective, header });
}

/**
 * One guest queue per vSMMU instance, one instance per physical SMMU: the devices behind it, its
 * rings laid out one after the other from --queue-base (each aligned to its size).
 */
function vsmmuQueues(o: GenOptions, t: GenTopology, descBytes: number): QueueSpec[] {
  const bytes = o.queue * descBytes;
  const base = Math.ceil(o.queueBase / bytes) * bytes;
  return Array.from({ length: t.queues }, (_, k) => ({
    id: k,
    queue_entries: o.queue,
    queue_base: `0x${(k === 0 ? o.queueBase : base + k * bytes).toString(16)}`,
    devices: t.devices.filter((d) => (d.queue ?? 0) === k).map((d) => d.sid),
    iommu: k,
    name: `vsmmu${k}`,
  }));
}

/** The knobs that shaped this trace: not the other architecture's, not the topology ones a profile's device list replaced. */
function noteOptions(arch: Arch, o: GenOptions, t: GenTopology): Record<string, string> {
  const shown = showOptions(o);
  for (const d of OPTIONS) {
    if ((d.arch !== undefined && d.arch !== arch) || (t.fromWorkload && TOPOLOGY_KEYS.includes(d.key))) delete shown[flagName(d)];
  }
  // One vSMMU is the shape of every trace made before the option existed: their headers stay as they were.
  if (o.vsmmus === 'single') delete shown['vsmmus'];
  return shown;
}

function effectiveOf(arch: Arch, o: GenOptions): Effective {
  if (arch === 'smmuv3') return { mode: o.mode };
  const stage: Stage = o.scalable ? o.stage : 'second';
  // "IOMMU batching disallowed due to virtualization": caching mode forces strict; a 2023 patch
  // (in 6.12, not in 6.1) exempts first-stage domains (spec/vtd.md §4.3).
  if (o.mode === 'lazy' && o.cachingMode && (o.kernel === '6.1' || stage === 'second')) {
    return { mode: 'strict', strictForcedBy: 'caching mode', stage };
  }
  return { mode: o.mode, stage };
}

function driverOf(p: GenPlan): LinuxDriver {
  const o = p.options;
  if (p.workload.arch === 'smmuv3') return new Smmuv3Linux({ kernel: o.kernel, ril: o.ril, cachingMode: o.cachingMode });
  return new VtdLinux({ kernel: o.kernel, cachingMode: o.cachingMode, scalable: o.scalable, firstStage: p.effective.stage === 'first' });
}

export interface RunResult {
  readonly rows: number;
  readonly commands: number;
  readonly doorbells: number;
  readonly wraps: number;
  readonly requests: number;
  readonly endNs: number;
  readonly fired: readonly Injection[];
  readonly unfired: readonly Injection[];
}

/** Runs a plan into any batch sink (a file writer, or memory in tests). */
export function run(p: GenPlan, sink: BatchSink): RunResult {
  const builder = new TraceBuilder(p.header, sink, 1 << 16, 'gen');
  const driver = driverOf(p);
  // One ring per guest queue (vSMMU instance); injected errors fire on queue 0.
  const queues = Array.from(
    { length: p.topology.queues },
    (_, k) => new GuestQueue(builder, p.options.queue, driver, k === 0 ? p.options.inject : [], p.workload.arch, k),
  );
  const model = new DriverModel(
    p.options,
    p.topology,
    driver,
    queues,
    new Rng(p.options.seed),
    p.workload.arch,
    p.effective.mode === 'lazy',
  );
  const r = model.run();
  builder.flush();
  const sum = (f: (q: GuestQueue) => number) => queues.reduce((n, q) => n + f(q), 0);
  return {
    rows: builder.rows,
    commands: sum((q) => q.commands),
    doorbells: sum((q) => q.doorbells),
    wraps: sum((q) => q.wraps),
    requests: r.requests,
    endNs: r.endNs,
    fired: queues[0]!.fired,
    unfired: queues[0]!.pendingInjections,
  };
}

/** Generates the plan's trace into `output` (atomically). */
export async function generate(p: GenPlan, output: string): Promise<GenSummary> {
  const w = new TraceFileWriter(output, p.header);
  let r: RunResult;
  try {
    r = run(p, w);
    await w.close();
  } catch (e) {
    w.abort();
    if (e instanceof InputFault) throw new InputFault({ ...e.detail, file: e.detail.file ?? output });
    throw e;
  }
  return {
    output,
    workload: p.workload.name,
    arch: p.workload.arch,
    seed: p.options.seed,
    rows: r.rows,
    commands: r.commands,
    doorbells: r.doorbells,
    wraps: r.wraps,
    requests: r.requests,
    model_seconds: r.endNs / 1e9,
    mode: p.effective.mode,
    injections_fired: r.fired.length,
    injections_unfired: r.unfired,
  };
}
