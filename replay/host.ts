// The contract of the Linux host model (iommufd IOMMU_HWPT_INVALIDATE and the VMM-facing
// operations around it) that mediation policies drive, and of each architecture's replay kit.
// spec/smmuv3.md §5 and spec/vtd.md §5 describe the kernel behaviour the models follow.

import type { Arch } from '../formats/codec/table.js';
import type { Topology } from '../formats/trace/header.js';
import type { GuestMemory } from './memory.js';
import type { Arrangement } from './vmm/arrangement.js';
import type { EventSink, QueueUnit, Translator } from './unit.js';

/**
 * What `byId` holds for iommufd object `id` (both hosts number their objects from 1, densely, and
 * keep them in arrays by id). An ioctl's id may be anything: only small integers name an object.
 */
export function objectAt<T>(byId: readonly (T | undefined)[], id: number): T | undefined {
  return Number.isInteger(id) && id >= 0 && id < byId.length ? byId[id] : undefined;
}

export type Errno = 'EINVAL' | 'EOPNOTSUPP' | 'ENOENT' | 'EIO' | 'EFAULT' | 'E2BIG' | 'ETIMEDOUT';

/** One unit of host work, for the cost model and the host_ops table. */
export type HostOpKind =
  | 'ioctl' // an IOMMU_HWPT_INVALIDATE call (count = 1; entries = entry_num in)
  | 'host_cmd' // a command/descriptor placed on a physical queue
  | 'host_sync' // a physical completion point (CMD_SYNC / wait descriptor)
  | 'host_doorbell' // a physical producer write (CMDQ_PROD / IQT)
  | 'devtlb_inv' // an ATS invalidation sent to a device (ATC_INV / device-TLB descriptor)
  | 'direct_cmd'; // a guest command consumed by hardware directly (VCMDQ-like), no trap

export interface HostOp {
  readonly kind: HostOpKind;
  /** Physical IOMMU index (topology.iommus[].id). */
  readonly iommu: number;
  /** How many (entries of an ioctl, bytes copied ...) where the kind counts more than one. */
  readonly entries?: number;
  readonly bytes?: number;
  /** devtlb_inv: the device never answered (the cost model charges the completion time-out). */
  readonly timedOut?: boolean;
  /**
   * For a reader (tests, debugging), never parsed and in no table: the command or descriptor
   * name, the register or the ioctl. A physical queue reports the same record for every op of
   * one kind and text (made once, not per command), so a sink reads an op; it keeps no identity.
   */
  readonly detail: string;
}

export type HostOpSink = (op: HostOp) => void;

/**
 * SMMUv3 entry: the raw 16-byte guest command (iommu_viommu_arm_smmuv3_invalidate). Words past
 * the second model the trailing bytes of an entry_len > 16 user entry (little-endian).
 */
export type Smmuv3InvEntry = readonly [bigint, bigint, ...bigint[]];

/** VT-d entry: struct iommu_hwpt_vtd_s1_invalidate (addr, npages, flags, __reserved). */
export interface VtdInvEntry {
  readonly addr: bigint;
  readonly npages: bigint;
  /** IOMMU_VTD_INV_FLAGS_LEAF = bit 0. */
  readonly flags: number;
  readonly reserved: number;
}

/** The IOMMU_HWPT_INVALIDATE argument (struct iommu_hwpt_invalidate). */
export interface HwptInvalidate<E> {
  /** SMMUv3: a vIOMMU id; VT-d: a nested HWPT id (HostModel.objects). */
  readonly id: number;
  readonly dataType: number;
  readonly entryLen: number;
  /** The user array; null models data_uptr = 0. */
  readonly entries: readonly E[] | null;
  /** entry_num in. */
  readonly entryNum: number;
  readonly reserved?: number;
  /**
   * Not part of the ioctl: the Decoded.key of the guest command each entry was made from (-1 or
   * absent: none), [0, entryNum). A VMM hands the same entry array for every write of one
   * command (vmm/memo.ts), so a host may keep what it derives from an entry by this number
   * (formats/codec/word-cache.ts WordsTable) instead of hashing the array.
   */
  readonly entryKeys?: readonly number[];
  /**
   * Not part of the ioctl either: present on a request its maker never changes (the same id, type,
   * entries and count at every call; vmm/forward.ts makes one per forwarded command and object),
   * a box in which the host may keep what it derived from this very request, so that the next
   * call with it skips the copy and conversion of its entries (replay/smmuv3/host.ts). A request
   * that is reused with other entries (a batch's) has none.
   */
  readonly memo?: RequestMemo;
}

/** HwptInvalidate.memo: what the host keeps for one unchanging request (undefined until it does). */
export class RequestMemo {
  value: unknown = undefined;
}

export interface HwptInvalidateResult {
  /** 0 on success. */
  readonly errno: Errno | 0;
  /** entry_num out, exactly as the kernel computes it. */
  readonly entryNum: number;
}

/** An iommufd object the VMM holds for this VM. */
export interface HostObject {
  readonly id: number;
  readonly kind: 'viommu' | 'nested_hwpt';
  /** Physical IOMMU it lives on (viommu=shared: the first of those it spans). */
  readonly iommu: number;
  /** viommu=shared: every physical IOMMU (topology id) the kernel fans its invalidations out to. */
  readonly spans?: readonly number[];
  /** Guest devices (guest SIDs) behind it. */
  readonly devices: readonly number[];
  /** VT-d nested HWPT: the guest domain (DID) and host page table it nests. */
  readonly domain?: number;
  readonly hwpt?: number;
}

/** Result of handing a guest command to a hardware-direct queue. */
export interface DirectResult {
  /** False: the hardware queue does not accept this command (the VMM must trap-and-emulate it). */
  readonly accepted: boolean;
  /** Error the hardware raised on it (seen by the guest on its own queue); sid: the device (guest SID). */
  readonly error?: { readonly code: string; readonly value: number; readonly message: string; readonly sid?: number };
  /** VT-d: a wait the hardware will abort (a device-TLB invalidation before it timed out). */
  readonly aborted?: boolean;
  /** VT-d: that wait has FN=1, nothing after it is fetched. */
  readonly fence?: boolean;
}

export interface HostModel<E = Smmuv3InvEntry | VtdInvEntry> extends Translator {
  readonly arch: Arch;
  readonly topology: Topology;
  /** The physical IOMMUs, indexed like topology.iommus. */
  readonly units: readonly QueueUnit[];
  readonly objects: readonly HostObject[];
  /** IOMMU_HWPT_INVALIDATE: converts, submits to the physical queues, reports host ops. */
  invalidate(req: HwptInvalidate<E>): HwptInvalidateResult;
  /**
   * The VMM re-installs a device's nested configuration after the guest changed it (SMMUv3
   * CFGI_STE/CFGI_CD done by the VMM; VT-d context/PASID-cache invalidation): the host's own
   * configuration-cache maintenance runs on the physical unit.
   */
  reattach(guestSid: number): void;
  /**
   * A hardware-direct (VCMDQ-like) queue consumes one guest command. `iommu` (a topology id): the
   * queue is that physical unit's own (one guest queue per physical IOMMU) and the command runs
   * there only; absent, it reaches every unit the VM spans. `key`: the Decoded.key of the guest
   * command `words` is the direct form of (-1 or absent: none), by which a host may keep its plan
   * for the array (as HwptInvalidate.entryKeys).
   */
  direct(words: readonly bigint[], iommu?: number, key?: number): DirectResult;
  /**
   * The hardware-direct queue's pass over a doorbell ended: an error reported at the end of a pass
   * (VT-d ITE after a device-TLB time-out, spec/vtd.md §1.3), if any; `iommu` as for `direct`.
   */
  directPassEnd?(iommu?: number): DirectResult['error'];
  /** The guest device stops (or resumes) answering ATS invalidations. */
  setAtcTimeout(guestSid: number, timedOut: boolean): void;
}

/**
 * What replay needs from one architecture: the bare unit a guest queue would meet (the reference
 * for the oracle) and the host model behind a mediating VMM.
 */
export interface ReplayKit {
  readonly arch: Arch;
  /** Bare hardware on the guest's own queue, configured from the guest's view of the topology. */
  /**
   * `exec` false: `events` gets no 'exec' events (nor builds their cache effects and trace text):
   * bare hardware reads only completions, errors, aborted waits and resumes.
   */
  guestUnit(topology: Topology, mem: GuestMemory, events?: EventSink, exec?: boolean): QueueUnit;
  /**
   * The host: physical units behind the VM as the topology says, and the iommufd model with its
   * objects arranged one per physical IOMMU (default) or shared across them (vmm/arrangement.ts).
   */
  host(topology: Topology, ops: HostOpSink, events?: EventSink, arrangement?: Arrangement, ids?: HostIds): HostModel;
}

/**
 * Identifiers the host hands out that must not collide with another VM's on the same physical
 * unit (shared-host replays, replay/shared-host/placement.ts). SMMUv3 VMIDs come from the
 * topology (iommus[].vmid); VT-d host DIDs are allocated by the host model from `firstDid`.
 */
export interface HostIds {
  readonly firstDid?: number;
}
