// The multi-VM run: several VMs, each its own guest queue, bare hardware, VMM and policy runs
// (the engine's own PolicyRun and event handling, replayer.ts traceHandlers), replayed together
// on one host. For each policy the host is one set of physical queues (physical-queue.ts) that
// every VM's run of that policy shares through its gate (gate.ts); VMs' segments (events up to a
// doorbell, events.ts) are fed in the interleave's order (interleave.ts). Verdicts stay per VM:
// each VM's runs are checked against that VM's own bare hardware by its own oracle.
//
// The emulated physical caches stay one instance per VM: with VMIDs/DIDs kept apart
// (placement.ts) an invalidation of one VM cannot touch another's entries, so a shared instance
// would hold the same answers; what the VMs do share — queue slots, the hardware's order and the
// driver's lock — is the host timeline here.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileCosts } from '../cost/model.js';
import type { Costs } from '../cost/params.js';
import { BareHardware } from '../bare.js';
import { GuestQueue } from '../guest-queue.js';
import { kitFor } from '../kits.js';
import { PolicyRun, type RunShared, type RunSinks } from '../policy-run.js';
import type { ResolvedPolicy } from '../policies/index.js';
import { traceHandlers, type ReplayPhase } from '../replayer.js';
import type { PolicySummary } from '../summary.js';
import { deliver, EventSource, type Segment } from './events.js';
import { noWaits, SharedHostGate, type WaitTotals } from './gate.js';
import { defaultInterleave, pickNext, type Interleave } from './interleave.js';
import { PhysicalQueue } from './physical-queue.js';
import { sharedUnits, type PlacedVm } from './placement.js';

export interface HostReplayOptions {
  readonly policies: readonly ResolvedPolicy[];
  readonly costs: Costs;
  /** Default: `time` when every trace's first doorbell has a timestamp, else `round-robin`. */
  readonly interleave?: Interleave;
  /** Slots of each physical queue (default HOST_QUEUE_ENTRIES of the architecture). */
  readonly queueEntries: number;
  /** Rows of VM v go to sinks[v] (absent: summaries only). */
  readonly sinks?: readonly RunSinks[];
}

/** One physical unit's totals under one policy. */
export interface UnitTotals {
  readonly iommu: number;
  readonly host_commands: number;
  readonly host_syncs: number;
  /** Most slots held at once (at a batch's completion point). */
  readonly peak_slots: number;
  readonly entries: number;
}

export interface VmRun {
  readonly events: number;
  readonly doorbells: number;
  readonly bare: BareHardware;
  readonly summaries: readonly PolicySummary[];
  /** Per policy, what the VM waited for on the shared host. */
  readonly waits: readonly WaitTotals[];
  /** Per policy, when the VM's last work ended on the host timeline (µs). */
  readonly endUs: readonly number[];
}

export interface HostRun {
  readonly interleave: Interleave;
  readonly vms: readonly VmRun[];
  /** Per policy, per physical unit. */
  readonly units: readonly (readonly UnitTotals[])[];
}

interface VmState {
  readonly vm: PlacedVm;
  readonly source: EventSource;
  readonly runs: PolicyRun[];
  readonly gates: SharedHostGate[];
  readonly handlers: ReturnType<typeof traceHandlers>;
  readonly at: ReplayPhase;
  readonly bare: BareHardware;
  head: Segment | null | undefined;
  events: number;
  doorbells: number;
}

/** Replays `vms` together on one host (one VM: the same engine with the host to itself). */
export async function replayHost(vms: readonly PlacedVm[], opts: HostReplayOptions): Promise<HostRun> {
  const scratch = mkdtempSync(join(tmpdir(), 'invtrace-shared-host-'));
  const states: VmState[] = [];
  const units = sharedUnits(vms);
  const arch = vms[0]!.trace.header.arch;
  // One host (a set of physical queues) per policy: the VMs' runs of that policy share it.
  const hosts = opts.policies.map(() => new Map(units.map((id) => [id, new PhysicalQueue(id, arch, opts.queueEntries)])));
  try {
    for (const vm of vms) {
      const trace = vm.trace;
      const kit = kitFor(trace.header.arch);
      const q = new GuestQueue(trace.header);
      const bare = new BareHardware(kit, vm.topology.topology, q);
      let traceEvents: number | undefined;
      if (opts.policies.some((p) => p.needsTraceLength)) {
        traceEvents = 0;
        for await (const b of trace.batches()) traceEvents += b.numRows;
      }
      const shared: RunShared = { q, ref: bare, kit, topology: vm.topology.topology, costs: compileCosts(opts.costs, trace.header.arch), traceEvents, hostIds: vm.hostIds };
      const gates = opts.policies.map((_, i) => new SharedHostGate(hosts[i]!));
      const sinks = opts.sinks?.[vm.vm] ?? {};
      const runs = opts.policies.map((p, i) => new PolicyRun(p, shared, sinks, join(scratch, `completions-${vm.vm}-${i}.f64`), gates[i]));
      const at: ReplayPhase = { phase: 0, event: -1 };
      states.push({ vm, source: new EventSource(trace), runs, gates, handlers: traceHandlers(q, bare, runs, at), at, bare, head: undefined, events: 0, doorbells: 0 });
    }
    const load = async (s: VmState) => {
      if (s.head === undefined) s.head = (await s.source.next()) ?? null;
    };
    await Promise.all(states.map(load));
    const mode = opts.interleave ?? defaultInterleave(states.map((s) => s.head?.atUs));
    const timed = mode === 'time';
    let last = -1;
    for (;;) {
      await Promise.all(states.map(load));
      const v = pickNext(mode, states.map((s) => (s.head === null ? null : s.head!.atUs)), last);
      if (v < 0) break;
      const s = states[v]!;
      const seg = s.head!;
      s.head = undefined;
      last = v;
      if (timed && seg.atUs !== undefined) s.runs.forEach((r, i) => s.gates[i]!.arrive(seg.atUs!, r.ledger));
      for (const e of seg.events) {
        deliver(e, s.handlers);
        s.events++;
        if (e.kind === 'doorbell') s.doorbells++;
      }
      for (const g of s.gates) g.endEvent();
      // Nothing earlier than the slowest VM still running can be asked about any more.
      hosts.forEach((h, i) => {
        const floor = Math.min(...states.filter((x) => x.head !== null).map((x) => x.gates[i]!.now()));
        if (Number.isFinite(floor)) for (const u of h.values()) u.prune(floor);
      });
    }
    const out: VmRun[] = states.map((s) => {
      s.at.phase = 1;
      for (const r of s.runs) r.compare(Math.max(0, s.events - 1));
      s.at.phase = 2;
      const summaries = s.runs.map((r) => r.finish());
      return { events: s.events, doorbells: s.doorbells, bare: s.bare, summaries, waits: s.gates.map((g) => ({ ...g.waits })), endUs: s.gates.map((g) => g.now()) };
    });
    const unitTotals = hosts.map((h) => [...h.values()].map((u): UnitTotals => ({ iommu: u.id, host_commands: u.commands, host_syncs: u.syncs, peak_slots: u.peakSlots, entries: u.entries })));
    return { interleave: mode, vms: out, units: unitTotals };
  } finally {
    for (const s of states) for (const r of s.runs) r.dispose();
    rmSync(scratch, { recursive: true, force: true });
  }
}

export { noWaits };
