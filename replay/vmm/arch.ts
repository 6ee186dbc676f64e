// What a VMM knows about one architecture's guest commands: who handles each (the host through
// IOMMU_HWPT_INVALIDATE, the VMM itself, a completion point, or nobody because it is illegal),
// how a forwarded command becomes host entries on which iommufd objects, and how host failures
// are shown to the guest.

import type { Decoded } from '../../formats/codec/codec.js';
import type { Arch, Owner } from '../../formats/codec/table.js';
import type { Errno, HostModel, HostObject, Smmuv3InvEntry, VtdInvEntry } from '../host.js';
import type { GuestError } from '../unit.js';

/** Who handles a guest command: the table's owner column, or illegal (formats/codec/table.ts). */
export type { Owner } from '../../formats/codec/table.js';

export type InvEntry = Smmuv3InvEntry | VtdInvEntry;

/** One host entry and the iommufd object it goes to. */
export interface HostInv {
  readonly object: number;
  readonly entry: InvEntry;
}

/** Which nested objects of a guest domain a forwarded command goes to. */
export type Fanout = 'all' | 'first';

/** A failed ioctl as the guest sees it; `atSync`: shown at the next completion point instead. */
export interface HostFailure {
  readonly error: GuestError;
  readonly atSync: boolean;
}

export interface VmmArch {
  readonly arch: Arch;
  /** IOMMU_HWPT_INVALIDATE data_type and entry_len for this architecture. */
  readonly dataType: number;
  readonly entryLen: number;
  owner(d: Decoded): Owner;
  /** The error the guest unit raises for an illegal command. */
  illegal(d: Decoded): GuestError;
  /** The host entries a forwarded command becomes. */
  forward(d: Decoded, host: HostModel, fanout: Fanout): HostInv[];
  /** Executes a VMM-owned command (not a completion point). */
  execute(d: Decoded, host: HostModel): void;
  /**
   * raw-ring: what the host gets when it walks the guest ring itself, for a command the VMM does
   * not own — its raw words for the host to convert (or refuse: EIO), without the VMM's checks.
   * Undefined: this architecture's host takes converted entries only, so the walk stops at an
   * illegal command as the VMM would.
   */
  forwardRaw?(d: Decoded, host: HostModel): HostInv[];
  /**
   * hw-direct: the words a guest driver aware of the hardware queue would have written for this
   * command (SMMUv3: a Tegra VCMDQ takes CMD_SYNC with CS=NONE only, and Linux forces it there).
   */
  directForm(d: Decoded): readonly bigint[];
  /** What a failed ioctl means to the guest; undefined: the VMM logs it and carries on. */
  hostFailure(errno: Errno, d: Decoded): HostFailure | undefined;
  /**
   * devtlb-nop: the device-TLB/ATC invalidations the VMM adds for a forwarded IOTLB invalidation,
   * for architectures whose host does not flush device TLBs by itself (SMMUv3). Empty when the
   * host already does (VT-d: spec/vtd.md §5.1 "The device TLB will be invalidated automatically").
   */
  companionDevtlb(d: Decoded, host: HostModel): HostInv[];
}

/** Objects holding at least one of the given guest devices, in topology order. */
export function objectsWithDevices(host: HostModel, sids: readonly number[]): HostObject[] {
  return host.objects.filter((o) => o.devices.some((s) => sids.includes(s)));
}
