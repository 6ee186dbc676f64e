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
import { traceRows } from '../../formats/trace/io.js';
import { compileCosts } from '../cost/model.js';
import type { Costs } from '../cost/params.js';
import { BareHardware } from '../bare.js';
import { kitFor } from '../kits.js';
import { PolicyRun, type RunShared, type RunSinks } from '../policy-run.js';
import type { ResolvedPolicy } from '../policies/index.js';
import { guestLanes } from '../lanes.js';
import { traceHandlers, type ReplayPhase } from '../replayer.js';
import type { PolicySummary } from '../summary.js';
import { deliver, EventSource, type Segment } from './events.js';
import { SharedHostGate, type WaitTotals } from './gate.js';
import { defaultInterleave, pickNext, type Interleave } from './interleave.js';
import { PhysicalQueue } from './physical-queue.js';
import { sharedUnits, type PlacedVm } from './placement.js';

export interface HostReplayOptions {
  readonly policy: ResolvedPolicy;
  readonly costs: Costs;
  /** Default: `time` when every trace's first doorbell has a timestamp, else `round-robin`. */
  readonly interleave?: Interleave;
  /** Slots of each physical queue (default HOST_QUEUE_ENTRIES of the architecture). */
  readonly queueEntries: number;
  /** Rows of VM v go to sinks[v] (absent: summaries only). */
  readonly sinks?: readonly RunSinks[];
}

/** One physical unit's totals. */
export interface UnitTotals {
  readonly iommu: number;
  readonly host_commands: number;
  readonly host_syncs: number;
  /** Most slots held at once (when a batch's completion point was issued). */
  readonly peak_slots: number;
  readonly entries: number;
}

export interface VmRun {
  readonly events: number;
  readonly doorbells: number;
  /** Bare hardware on each of the VM's guest queues. */
  readonly bare: readonly BareHardware[];
  readonly summary: PolicySummary;
  /** What the VM waited for on the shared host. */
  readonly waits: WaitTotals;
  /** When the VM's last work ended on the host timeline (µs). */
  readonly endUs: number;
  /** Segments of this VM that came in while another VM was between two host batches of one doorbell. */
  readonly cutIns: number;
}

export interface HostRun {
  readonly interleave: Interleave;
  readonly vms: readonly VmRun[];
  readonly units: readonly UnitTotals[];
}

interface VmState {
  readonly vm: PlacedVm;
  readonly source: EventSource;
  readonly run: PolicyRun;
  readonly gate: SharedHostGate;
  readonly handlers: ReturnType<typeof traceHandlers>;
  readonly at: ReplayPhase;
  readonly bare: readonly BareHardware[];
  head: Segment | null | undefined;
  events: number;
  doorbells: number;
  cutIns: number;
}

/**
 * Replays `vms` together on one host under one policy (one VM: the same engine with the host to
 * itself). Each policy is a pass of its own, so each has its own interleave: with `time`, a VM
 * whose doorbell was rung before another VM's current time comes in at that VM's next batch
 * boundary (between two ioctls of one doorbell, say) — the VMs' host drivers run on different
 * CPUs; `round-robin` takes whole doorbells in turn.
 */
export async function replayHost(vms: readonly PlacedVm[], opts: HostReplayOptions): Promise<HostRun> {
  const scratch = mkdtempSync(join(tmpdir(), 'invtrace-shared-host-'));
  const states: VmState[] = [];
  const arch = vms[0]!.trace.header.arch;
  const host = new Map(sharedUnits(vms).map((id) => [id, new PhysicalQueue(id, arch, opts.queueEntries)]));
  try {
    for (const vm of vms) {
      const trace = vm.trace;
      const kit = kitFor(trace.header.arch);
      // Each guest queue of the VM (one, or one per vSMMU) with its own ring and bare unit.
      const lanes = guestLanes(trace, kit, vm.topology);
      let traceEvents: number | undefined;
      if (opts.policy.needsTraceLength) {
        traceEvents = await traceRows(trace);
      }
      const shared: RunShared = {
        lanes,
        kit,
        topology: vm.topology.topology,
        costs: compileCosts(opts.costs, trace.header.arch),
        traceEvents,
        hostIds: vm.hostIds,
      };
      const gate = new SharedHostGate(host);
      const run = new PolicyRun(opts.policy, shared, opts.sinks?.[vm.vm] ?? {}, join(scratch, `completions-${vm.vm}.f64`), gate);
      const at: ReplayPhase = { phase: 0, event: -1 };
      states.push({
        vm,
        source: new EventSource(trace),
        run,
        gate,
        handlers: traceHandlers(lanes, [run], at),
        at,
        bare: lanes.map((l) => l.ref),
        head: undefined,
        events: 0,
        doorbells: 0,
        cutIns: 0,
      });
    }
    const load = async (s: VmState) => {
      if (s.head === undefined) s.head = (await s.source.next()) ?? null;
    };
    await Promise.all(states.map(load));
    const mode = opts.interleave ?? defaultInterleave(states.map((s) => s.head?.atUs));
    const timed = mode === 'time';
    /** When a loaded segment would start on the host timeline (time interleave). */
    const startOf = (s: VmState): number | undefined => (s.head?.atUs === undefined ? undefined : Math.max(s.head.atUs, s.gate.now()));
    const play = (s: VmState) => {
      const seg = s.head!;
      s.head = undefined;
      if (timed && seg.atUs !== undefined) s.gate.arrive(seg.atUs, s.run.ledger);
      for (const e of seg.events) {
        deliver(e, s.handlers);
        s.events++;
        if (e.kind === 'doorbell') s.doorbells++;
      }
      s.gate.endEvent();
    };
    // Time: between two batches of one VM, another VM whose doorbell came first goes (one level deep).
    let cutting = false;
    if (timed && states.length > 1) {
      for (const s of states) {
        s.gate.onIdle = () => {
          if (cutting) return;
          cutting = true;
          try {
            for (;;) {
              const now = s.gate.now();
              let next: VmState | undefined;
              for (const o of states) {
                const t = o === s || o.head === null || o.head === undefined ? undefined : startOf(o);
                if (t !== undefined && t <= now && (next === undefined || t < startOf(next)!)) next = o;
              }
              if (next === undefined) break;
              next.cutIns++;
              play(next);
            }
          } finally {
            cutting = false;
          }
        };
      }
    }
    let last = -1;
    for (;;) {
      await Promise.all(states.map(load));
      const v = pickNext(
        mode,
        states.map((s) => (s.head === null ? null : timed ? startOf(s) : undefined)),
        last,
      );
      if (v < 0) break;
      last = v;
      play(states[v]!);
      // Nothing earlier than the slowest VM still running can be asked about any more.
      const floor = Math.min(...states.filter((x) => x.head !== null).map((x) => x.gate.now()));
      if (Number.isFinite(floor)) for (const u of host.values()) u.prune(floor);
    }
    const out: VmRun[] = states.map((s) => {
      s.at.phase = 1;
      s.run.compare(Math.max(0, s.events - 1));
      s.at.phase = 2;
      return {
        events: s.events,
        doorbells: s.doorbells,
        bare: s.bare,
        summary: s.run.finish(),
        waits: { ...s.gate.waits },
        endUs: s.gate.now(),
        cutIns: s.cutIns,
      };
    });
    const units = [...host.values()].map((u): UnitTotals => ({
      iommu: u.id,
      host_commands: u.commands,
      host_syncs: u.syncs,
      peak_slots: u.peakSlots,
      entries: u.entries,
    }));
    return { interleave: mode, vms: out, units };
  } finally {
    for (const s of states) s.run.dispose();
    rmSync(scratch, { recursive: true, force: true });
  }
}
