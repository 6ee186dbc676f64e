// One physical IOMMU's command queue (SMMUv3 CMDQ, VT-d invalidation queue) as several VMs' host
// drivers share it, in modelled time: a finite ring whose slots stay occupied until the
// completion point after them completes, hardware that consumes it in order (a completion point
// completes only after everything queued before it), and the host driver's lock.
//
// Order is the order submissions reach the host (the interleave, interleave.ts): a batch is
// queued behind every batch submitted before it, whatever the VMs' clocks say.
//
// The two drivers' locks, as Linux has them:
// - arm-smmu-v3 (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c, arm_smmu_cmdq_issue_cmdlist; spec
//   smmuv3.md §4.1): issuers reserve slots with one cmpxchg on PROD and never wait for each other;
//   a CPU that waits for its CMD_SYNC holds the cmdq lock *shared* (arm_smmu_cmdq_shared_lock) and
//   the last one out writes the shadow CONS (arm_smmu_cmdq_shared_tryunlock). A CPU that finds the
//   queue full refreshes CONS from the register under the lock taken *exclusive*
//   (arm_smmu_cmdq_poll_until_not_full, later arm_smmu_cmdq_poll: "grabbing exclusive cmdq access",
//   else "spin until somebody else updates it"), which it gets
//   only when no sync waiter holds it shared: freed slots become visible at the end of the busy
//   period, not when they are consumed. That difference is the SMMUv3 lock wait here.
// - VT-d (drivers/iommu/intel/dmar.c, qi_submit_sync; spec vtd.md §1.5): one raw spinlock
//   (qi->q_lock) held while the descriptors and the wait are written and IQT is moved; while it
//   polls its wait's status the submitter drops and retakes it, and while free_cnt < count + 2 it
//   spins with the lock dropped. The slots are freed (QI_FREE, reclaim_free_desc) once the wait
//   has completed. So VT-d waits for the lock only while another VM is writing its submission.

import type { Arch } from '../../formats/codec/table.js';

/** Default ring sizes of the host drivers' physical queues. */
export const HOST_QUEUE_ENTRIES: Readonly<Record<Arch, number>> = {
  // arm-smmu-v3 sizes the CMDQ to the hardware's IDR1.CMDQS (2^CMDQS, up to its own cap): 256
  // models a small implementation; `--host-queue N` sets another. [A]
  smmuv3: 256,
  // QI_LENGTH in drivers/iommu/intel/dmar.c: 256 descriptors. [V, spec vtd.md §1.5]
  vtd: 256,
};

/** What a wait for queue space cost, split as the driver would spend it. */
export interface SpaceWait {
  /** Until enough slots were consumed. */
  readonly full: number;
  /** After that, until the driver could see them (SMMUv3: the exclusive lock to refresh CONS). */
  readonly lock: number;
}

export class PhysicalQueue {
  /** Submitted batches in queue order: when written, when their completion point completed, slots. */
  private issued: number[] = [];
  private freed: number[] = [];
  private slots: number[] = [];
  private head = 0;
  /** When the last completion point queued completes (the hardware is busy until then). */
  busyUntil = 0;
  /** VT-d: when the q_lock holder writing the last submission let it go. */
  lockFree = 0;
  /** Host totals on this unit. */
  commands = 0;
  syncs = 0;
  peakSlots = 0;

  constructor(
    readonly id: number,
    readonly arch: Arch,
    readonly entries: number,
  ) {}

  /** Slots held at time `t` by batches queued so far. */
  occupancy(t: number): number {
    let n = 0;
    for (let i = this.head; i < this.freed.length; i++) if (this.freed[i]! > t) n += this.slots[i]!;
    return n;
  }

  /**
   * From time `t`, how long until `need` more slots fit (`open` of them already held by the
   * caller's own unfinished batch). A batch larger than the ring can never fit: it does not wait
   * (the host models cap a batch well below any ring: 64 slots, 16 + 2 descriptors).
   */
  spaceWait(t: number, need: number, open: number): SpaceWait {
    if (need + open > this.entries) return { full: 0, lock: 0 };
    let held = this.occupancy(t) + open;
    if (held + need <= this.entries) return { full: 0, lock: 0 };
    // Batches free in queue order (in-order consumption): walk until enough are gone.
    let at = t;
    for (let i = this.head; i < this.freed.length && held + need > this.entries; i++) {
      if (this.freed[i]! <= t) continue;
      held -= this.slots[i]!;
      at = this.freed[i]!;
    }
    const full = at - t;
    if (this.arch !== 'smmuv3') return { full, lock: 0 };
    return { full, lock: this.idleFrom(at) - at };
  }

  /** The first time ≥ t when no completion point submitted before it is still outstanding. */
  idleFrom(t: number): number {
    let end = t;
    for (let i = this.head; i < this.freed.length; i++) {
      if (this.issued[i]! <= end && this.freed[i]! > end) end = this.freed[i]!;
    }
    return end;
  }

  /** How long a completion point issued at `t` waits for the commands already ahead of it. */
  busyWait(t: number): number {
    return Math.max(0, this.busyUntil - t);
  }

  /** VT-d: how long a submitter arriving at `t` waits for q_lock. */
  lockWait(t: number): number {
    return this.arch === 'vtd' ? Math.max(0, this.lockFree - t) : 0;
  }

  /** A batch of `slots` (commands plus its completion point) written from `issuedAt` completes at `doneAt`. */
  push(issuedAt: number, doneAt: number, slots: number, commands: number): void {
    this.issued.push(issuedAt);
    this.freed.push(doneAt);
    this.slots.push(slots);
    this.busyUntil = Math.max(this.busyUntil, doneAt);
    this.commands += commands;
    this.syncs++;
    this.peakSlots = Math.max(this.peakSlots, this.occupancy(issuedAt));
  }

  /** Forgets batches freed before `floor` (no VM's clock is behind it any more). */
  prune(floor: number): void {
    while (this.head < this.freed.length && this.freed[this.head]! <= floor && this.issued[this.head]! <= floor) this.head++;
    if (this.head > 4096 && this.head * 2 > this.freed.length) {
      this.issued = this.issued.slice(this.head);
      this.freed = this.freed.slice(this.head);
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
  }
}
