// What the workload model (driver-model.ts) asks of a guest IOMMU driver model (smmuv3.ts, vtd.ts): the command
// sequences Linux emits for each trigger, cut into submissions the way the driver submits them.

import type { Words } from './encode.js';
import type { Cause } from '../../formats/trace/schema.js';
import type { GenDevice } from './topology.js';

/** One call of the driver's submit routine: commands written together, one doorbell. */
export interface Submission {
  readonly cmds: readonly Words[];
  /** Ends with a completion point the caller waits for (CMD_SYNC / invalidation wait). */
  readonly sync: boolean;
  /** Guest SIDs whose ATC / device TLB the submission invalidates (fault injection aims here). */
  readonly ats?: readonly number[];
  /** Why its invalidations were sent: a map (caching mode / tlbi-on-map) or an unmap (trace column `cause`). */
  readonly cause?: Cause;
}

/** The same submissions, their invalidations marked with `cause`. */
export function withCause(subs: readonly Submission[], cause: Cause): Submission[] {
  return subs.map((s) => ({ ...s, cause }));
}

/** A guest domain as the driver sees it at the time of a call. */
export interface DomainView {
  readonly index: number;
  /** VT-d DID or SMMUv3 ASID. */
  readonly tag: number;
  /** ATS-enabled devices attached so far, in attach order. */
  readonly ats: readonly GenDevice[];
}

export interface LinuxDriver {
  /** Descriptor width in 64-bit words (VT-d scalable mode: 4). */
  readonly words: 2 | 4;
  /** Reset-time set-up, before any device is attached. */
  boot(): Submission[];
  /** A device joins its domain (`first`: the domain's first device). */
  attach(dev: GenDevice, dom: DomainView, first: boolean): Submission[];
  /** Set-up after the devices are attached (VT-d: interrupt-entry cache invalidations). */
  afterAttach(devices: readonly GenDevice[]): Submission[];
  /** A DMA mapping was created (VT-d caching mode: PSI on map). */
  map(dom: DomainView, iova: number, bytes: number): Submission[];
  /** A DMA mapping is removed in strict mode. */
  unmap(dom: DomainView, iova: number, bytes: number): Submission[];
  /** Flush-queue drain or domain-wide flush (lazy mode). */
  flushAll(dom: DomainView): Submission[];
  /** The completion command the submit routine appends in `slot`. */
  completion(slot: number): Words;
  /** A command the hardware refuses (injected). */
  illegal(): Words;
}

/**
 * Splits commands into submissions of at most `max`. SMMUv3 (`syncEach` false): a full batch goes
 * out without a CMD_SYNC, the rest with one (arm_smmu_cmdq_batch_add/submit, spec/smmuv3.md §4.1).
 * VT-d (`syncEach` true): every qi_submit_sync ends with its wait (spec/vtd.md §4.1).
 */
export function batched(cmds: readonly Words[], max: number, syncEach: boolean, atsOf?: readonly (number | undefined)[]): Submission[] {
  const out: Submission[] = [];
  for (let i = 0; i < cmds.length; i += max) {
    const last = i + max >= cmds.length;
    const ats = atsOf?.slice(i, i + max).filter((s): s is number => s !== undefined) ?? [];
    out.push({ cmds: cmds.slice(i, i + max), sync: syncEach || last, ...(ats.length ? { ats } : {}) });
  }
  return out;
}
