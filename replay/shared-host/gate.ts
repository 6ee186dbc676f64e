// One VM's policy run on a shared host: sees each host op the run makes before it is charged
// (policy-run.ts HostGate), places the VM's batches on the shared physical queues
// (physical-queue.ts) at the VM's time on the host timeline, and charges what it has to wait for
// (lock, queue space, commands of other VMs ahead of its completion point) to the run's ledger,
// so the wait lands in the VM's modelled time and in the latency of its completion points.
//
// The VM's time on the host timeline is its ledger clock (work and waits) plus the idle time
// before its doorbells: with timestamps (interleave=time) a doorbell cannot start before it was
// rung, relative to the VM's first event; round-robin VMs are never idle.
//
// A host batch is what the host drivers emit per physical unit: host_cmd… then host_sync (the
// completion point), then host_doorbell (CMDQ_PROD / IQT). direct_cmd and the host_sync after it
// are a hardware-direct queue of the VM's own and touch nothing shared.

import { workIndex } from '../cost/model.js';
import type { HostOp } from '../host.js';
import type { Ledger } from '../ledger.js';
import type { HostGate } from '../policy-run.js';
import type { PhysicalQueue } from './physical-queue.js';

const LOCK_WAIT = workIndex('lock_wait');
const QUEUE_FULL_WAIT = workIndex('queue_full_wait');
const QUEUE_BUSY_WAIT = workIndex('queue_busy_wait');

/** What one VM's run waited for on the shared host (µs, and how many times). */
export interface WaitTotals {
  lock_wait_us: number;
  queue_full_wait_us: number;
  queue_busy_wait_us: number;
  waits: number;
}

export const noWaits = (): WaitTotals => ({ lock_wait_us: 0, queue_full_wait_us: 0, queue_busy_wait_us: 0, waits: 0 });

/** A batch being written to one physical queue. */
interface OpenBatch {
  /** When its first slot was written (its slots are held from then until its completion point completes). */
  readonly openAt: number;
  slots: number;
  commands: number;
  /** When its completion point was issued (after the busy wait), once it was. */
  syncAt: number | undefined;
  /**
   * Device round trips charged inside the batch (the ledger charges an ATS invalidation where its
   * descriptor is written; the hardware does it after the doorbell, during the wait).
   */
  deviceUs: number;
}

export class SharedHostGate implements HostGate {
  /** Idle time of the VM on the host timeline before its doorbells (µs). */
  private idle = 0;
  private readonly open = new Map<number, OpenBatch>();
  /** Units whose last op was a direct-queue command. */
  private readonly direct = new Set<number>();
  /** An ATS invalidation being charged: its unit and the VM's time before it. */
  private device: { iommu: number; from: number } | undefined;
  readonly waits = noWaits();
  /** Called when the VM has just published a batch and holds none open: another VM may come in here. */
  onIdle: (() => void) | undefined;

  constructor(
    private readonly units: ReadonlyMap<number, PhysicalQueue>,
    private ledger?: Ledger,
  ) {}

  /** The VM's time on the host timeline. */
  now(): number {
    return this.idle + (this.ledger?.clock ?? 0);
  }

  /** A doorbell rung at `atUs` (relative to the VM's first event) starts no earlier than that. */
  arrive(atUs: number, ledger: Ledger): void {
    this.ledger = ledger;
    const now = this.now();
    if (atUs > now) this.idle += atUs - now;
  }

  private charge(
    ledger: Ledger,
    w: number,
    iommu: number,
    us: number,
    key: 'lock_wait_us' | 'queue_full_wait_us' | 'queue_busy_wait_us',
  ): void {
    if (!(us > 0)) return;
    ledger.wait(w, iommu, us);
    this.waits[key] += us;
    this.waits.waits++;
  }

  before(op: HostOp, ledger: Ledger): void {
    this.ledger = ledger;
    if (this.device !== undefined) {
      const b = this.open.get(this.device.iommu);
      if (b !== undefined) b.deviceUs += this.now() - this.device.from;
      this.device = undefined;
    }
    const q = this.units.get(op.iommu);
    if (q === undefined) return;
    switch (op.kind) {
      case 'devtlb_inv':
        if (!this.direct.has(op.iommu)) this.device = { iommu: op.iommu, from: this.now() };
        return;
      case 'direct_cmd':
        this.direct.add(op.iommu);
        return;
      case 'host_cmd':
        this.direct.delete(op.iommu);
        this.slot(q, ledger, true);
        return;
      case 'host_sync': {
        if (this.direct.has(op.iommu)) return;
        const open = this.open.get(op.iommu);
        if (open !== undefined) open.slots++; // its slot was reserved with the commands'
        const b = open ?? this.slot(q, ledger, false);
        // The completion point completes only after everything queued before it (in-order
        // consumption): the hardware starts this batch, device round trips included, once it is free.
        this.charge(ledger, QUEUE_BUSY_WAIT, op.iommu, q.busyWait(this.now() - b.deviceUs), 'queue_busy_wait_us');
        b.syncAt = this.now();
        return;
      }
      case 'host_doorbell':
        if (this.direct.has(op.iommu)) return;
        this.close(op.iommu);
        return;
      case 'ioctl': // the call itself takes no slot: the host_cmd/host_sync ops it causes do
        return;
    }
  }

  /** Takes one slot on `q` for the open batch (opening it: lock, space); `command`: not the completion point. */
  private slot(q: PhysicalQueue, ledger: Ledger, command: boolean): OpenBatch {
    let b = this.open.get(q.id);
    if (b === undefined) this.charge(ledger, LOCK_WAIT, q.id, q.lockWait(this.now()), 'lock_wait_us');
    // Room for this slot and the completion point still to come (VT-d: count + 2, one kept empty).
    const need = command ? (q.arch === 'vtd' ? 3 : 2) : q.arch === 'vtd' ? 2 : 1;
    const w = q.spaceWait(this.now(), need, b?.slots ?? 0);
    this.charge(ledger, QUEUE_FULL_WAIT, q.id, w.full, 'queue_full_wait_us');
    // SMMUv3: the exclusive lock to refresh CONS; VT-d: q_lock retaken after spinning without it.
    this.charge(ledger, LOCK_WAIT, q.id, q.arch === 'smmuv3' ? w.lock : w.full > 0 ? q.lockWait(this.now()) : 0, 'lock_wait_us');
    if (b === undefined) {
      b = { openAt: this.now(), slots: 0, commands: 0, syncAt: undefined, deviceUs: 0 };
      this.open.set(q.id, b);
    }
    b.slots++;
    if (command) b.commands++;
    return b;
  }

  /** The batch on `iommu` was published: it holds its slots until its completion point completes (now). */
  private close(iommu: number): void {
    const b = this.open.get(iommu);
    const q = this.units.get(iommu);
    if (b === undefined || q === undefined) return;
    this.open.delete(iommu);
    const now = this.now();
    const syncAt = b.syncAt ?? now;
    q.push(b.openAt, now, b.slots, b.commands);
    // VT-d: q_lock was held while the submission was written, up to the IQT write before the wait
    // (the device round trips happen after it, in hardware).
    if (q.arch === 'vtd') q.lockFree = Math.max(q.lockFree, syncAt - b.deviceUs);
    if (this.open.size === 0) this.onIdle?.();
  }

  /** The event is over: a batch left open (a host path that queued without publishing) is closed now. */
  endEvent(): void {
    const idle = this.onIdle;
    this.onIdle = undefined; // the segment is over: the interleave goes on from the main loop
    for (const iommu of [...this.open.keys()]) this.close(iommu);
    this.onIdle = idle;
  }
}
