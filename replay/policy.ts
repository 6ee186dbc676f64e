// The contract between the replay engine and a mediation policy (DESIGN.md "Mediation
// policies"): what a VMM does when the guest rings the doorbell of its invalidation queue. A policy
// reads the guest ring, drives the host model, and produces the guest-visible state (consumer
// index, error, completions), reporting every piece of work to the ledger for the cost model.
// Positions are absolute: lap * entries + index, increasing over the whole trace.

import type { Decoded } from '../formats/codec/codec.js';
import type { Arch } from '../formats/codec/table.js';
import type { Topology, TraceHeader } from '../formats/trace/header.js';
import type { HostModel } from './host.js';
import type { GuestError } from './unit.js';
import type { Variant } from './variant.js';
import type { VmmArch } from './vmm/arch.js';

export type { GuestError };
export { checkVariant, parsePolicySpec, variantBool, variantChoice, type Variant } from './variant.js';

/**
 * Work the VMM does itself (host work arrives through the host model's op sink). trap: a guest
 * exit to the VMM in user space (trap_user); trap_kernel: an exit handled in the host kernel
 * (kernel-ring); pt_read: the VMM reads one guest page-table entry (shadow); pin: one 4 KiB page
 * pinned or unpinned for a VFIO/IOAS mapping; map_ioctl: one VFIO_IOMMU_MAP_DMA/UNMAP_DMA or
 * IOMMU_IOAS_MAP/UNMAP call (counted as an ioctl).
 */
export type VmmOpKind = 'trap' | 'vmm_cmd' | 'trap_kernel' | 'pt_read' | 'pin' | 'map_ioctl';

/** Why the guest sent an invalidation, when the trace records it (trace column `cause`). */
export type Cause = 'map' | 'unmap';

/** What a policy adds to its summary line (compare --json `detail`): numbers and short notes. */
export type PolicyDetail = Readonly<Record<string, number | string | boolean | readonly Readonly<Record<string, number | string>>[]>>;

export interface PolicyContext {
  readonly arch: Arch;
  readonly header: TraceHeader;
  readonly topology: Topology;
  readonly host: HostModel;
  /** Architecture-specific VMM knowledge: who owns a command, how to forward it. */
  readonly vmm: VmmArch;
  /** Guest consumer position (absolute) as the guest currently sees it. */
  readonly cons: number;
  /** The guest's pending queue error, if any (consumption is stopped until `ack`). */
  readonly error: GuestError | undefined;
  /** The command in the guest ring at an absolute position, decoded. */
  command(pos: number): Decoded;
  /** Moves the guest-visible consumer to `pos` (every command before it has taken effect). */
  setCons(pos: number): void;
  /** Stops the queue at `pos` with an error, as the hardware would report it. */
  raise(pos: number, error: GuestError): void;
  /** A completion point (CMD_SYNC / wait) at `pos` completed. */
  complete(pos: number): void;
  /** The guest command at `pos` took effect (executed by the VMM, or handled by the host). */
  executed(pos: number): void;
  /** VMM-side work for the cost model (host work is reported by the host model). */
  op(kind: VmmOpKind, detail: string): void;
  /** Why the guest sent the command at `pos` (map/unmap), when the trace records it. */
  cause(pos: number): Cause | undefined;
  /**
   * Runs `fn` as host-kernel code (kernel-ring): host invalidations it makes are calls inside the
   * kernel, not IOMMU_HWPT_INVALIDATE ioctls — no ioctl, no copy from user space.
   */
  inKernel<T>(fn: () => T): T;
  /** Modelled time of this run so far (µs), for policies that report their own split. */
  readonly modeledUs: number;
  /** The guest sequence number (trace row) of the command at `pos`. */
  seqAt(pos: number): number;
  /** Rows in the whole trace, counted before the replay when a policy's factory asks (needsTraceLength). */
  readonly traceEvents: number | undefined;
  /** Guest sequence number of the doorbell or acknowledgement being handled. */
  readonly eventSeq: number;
}

export interface Policy {
  /** Name with its variant, e.g. `linear-batch:split_on_wrap=true`; kept in every output. */
  readonly name: string;
  /** The guest published entries up to (not including) absolute position `prod`. */
  doorbell(ctx: PolicyContext, prod: number): void;
  /** The guest acknowledged the queue error; consumption resumes at ctx.cons. */
  ack(ctx: PolicyContext, prod: number): void;
  /** Numbers and notes the policy adds to its summary (e.g. migrate's per-side costs). */
  detail?(): PolicyDetail;
}

export type PolicyFactory = ((variant: Variant, name: string) => Policy) & {
  /** The policy needs ctx.traceEvents (e.g. migrate's at=50%): the engine counts rows first. */
  readonly needsTraceLength?: (variant: Variant) => boolean;
  /**
   * Why the policy cannot run on this topology (e.g. hw-direct: one guest queue fronting several
   * physical SMMUs); the replay then leaves it out of the comparison with that note. `queues`: the
   * guest SIDs behind each guest queue, when the trace has several (header `queues`).
   */
  readonly unavailable?: (variant: Variant, topology: Topology, queues?: readonly (readonly number[])[]) => string | undefined;
};
