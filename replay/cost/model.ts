// The cost model (DESIGN.md "Cost"): one table saying, for each kind of work a VMM or the host
// does, which host_ops kind it is written as, which summary count it adds to, and which cost
// parameter (replay/cost/params.ts) prices it. An ioctl also pays copy_per_entry per entry; an
// ATS invalidation to a device that never answers pays atc_timeout (the PCIe completion time-out)
// instead of the round trip. Nothing here reads free text: a host op says `timedOut` itself.
//
// `compileCosts` turns the table and a parameter set into flat arrays indexed by work kind, so
// charging one op is a few array reads (replay/ledger.ts does the charging).

import type { Arch } from '../../formats/codec/table.js';
import type { HostOpKind } from '../host.js';
import type { VmmOpKind } from '../policy.js';
import { ALL_OP_KINDS, SUMMARY_COUNTS, type OpKind, type SummaryCount } from '../tables.js';
import type { CostKey, Costs } from './params.js';

/** Every kind of work a policy run is charged for: VMM work (policy.ts) and host work (host.ts). */
export type WorkKind = VmmOpKind | HostOpKind | HostWaitKind;

/** Waiting on a physical unit shared with other VMs (replay/shared-host/physical-queue.ts). */
export type HostWaitKind = 'lock_wait' | 'queue_full_wait' | 'queue_busy_wait';

export interface WorkCost {
  readonly work: WorkKind;
  /** The host_ops `kind` it is written as. */
  readonly op: OpKind;
  /** The summary count it adds one to (none: it is only priced). */
  readonly count?: SummaryCount;
  /** Its cost per operation; per architecture where the hardware differs. */
  readonly param: CostKey | Readonly<Record<Arch, CostKey>>;
  /** Added per entry passed (an ioctl's copy_from_user). */
  readonly perEntry?: CostKey;
  /** Replaces `param` when the op timed out (a device that never answers an ATS invalidation). */
  readonly timedOut?: CostKey;
}

export const COST_MODEL: readonly WorkCost[] = [
  // VMM work (ctx.op)
  { work: 'trap', op: 'trap', count: 'traps', param: 'trap_user' },
  { work: 'trap_kernel', op: 'trap', count: 'traps', param: 'trap_kernel' },
  { work: 'vmm_cmd', op: 'vmm_cmd', count: 'vmm_commands', param: 'vmm_per_cmd' },
  { work: 'pt_read', op: 'pt_read', param: 'pt_read' },
  { work: 'pin', op: 'pin', param: 'pin_page' },
  { work: 'map_ioctl', op: 'ioctl', count: 'ioctls', param: 'ioctl' },
  // Host work (the host model's op sink)
  { work: 'ioctl', op: 'ioctl', count: 'ioctls', param: 'ioctl', perEntry: 'copy_per_entry' },
  { work: 'host_cmd', op: 'host_cmd', count: 'host_commands', param: 'host_cmd' },
  { work: 'host_sync', op: 'host_sync', count: 'host_syncs', param: { smmuv3: 'smmu_sync', vtd: 'vtd_wait' } },
  { work: 'host_doorbell', op: 'host_doorbell', count: 'host_doorbells', param: 'host_doorbell' },
  { work: 'devtlb_inv', op: 'devtlb_inv', count: 'device_invalidations', param: 'atc_inv_rtt', timedOut: 'atc_timeout' },
  { work: 'direct_cmd', op: 'direct_cmd', count: 'direct_commands', param: 'host_cmd' },
  // Shared-host waits (replay/shared-host/physical-queue.ts): the waited time itself comes from the
  // host timeline (Ledger.wait); the row adds the hand-off of the contended cache line once the
  // wait ends. lock_wait: VT-d's qi_submit_sync q_lock, arm-smmu-v3's cmdq lock taken exclusive to
  // refresh CONS; queue_full_wait: no free slot on the physical queue; queue_busy_wait: a physical
  // completion point waits behind other VMs' commands ahead of it in the same queue.
  { work: 'lock_wait', op: 'lock_wait', param: 'line_handoff' },
  { work: 'queue_full_wait', op: 'queue_wait', param: 'line_handoff' },
  { work: 'queue_busy_wait', op: 'queue_wait', param: 'line_handoff' },
];

/** Work kinds in table order; a work kind's number is its index here. */
export const WORK_KINDS: readonly WorkKind[] = COST_MODEL.map((w) => w.work);
const WORK_INDEX = new Map<string, number>(WORK_KINDS.map((w, i) => [w, i]));

export function workIndex(work: WorkKind): number {
  const i = WORK_INDEX.get(work);
  if (i === undefined) throw new Error(`cost model: no row for work kind "${work}"`);
  return i;
}

/** The table priced for one parameter set and architecture, as arrays indexed by work kind. */
export interface CompiledCosts {
  /** OP_KINDS index of the host_ops kind. */
  readonly op: Uint8Array;
  /** SUMMARY_COUNTS index, or -1. */
  readonly count: Int8Array;
  readonly cost: Float64Array;
  readonly perEntry: Float64Array;
  /** Cost when timed out (NaN: the kind never times out). */
  readonly timedOut: Float64Array;
}

export function compileCosts(costs: Costs, arch: Arch): CompiledCosts {
  const n = COST_MODEL.length;
  const out = {
    op: new Uint8Array(n),
    count: new Int8Array(n),
    cost: new Float64Array(n),
    perEntry: new Float64Array(n),
    timedOut: new Float64Array(n),
  };
  COST_MODEL.forEach((w, i) => {
    out.op[i] = ALL_OP_KINDS.indexOf(w.op);
    out.count[i] = w.count === undefined ? -1 : SUMMARY_COUNTS.indexOf(w.count);
    out.cost[i] = costs[typeof w.param === 'string' ? w.param : w.param[arch]];
    out.perEntry[i] = w.perEntry === undefined ? 0 : costs[w.perEntry];
    out.timedOut[i] = w.timedOut === undefined ? NaN : costs[w.timedOut];
  });
  return out;
}
