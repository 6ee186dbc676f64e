// The contract every emulated IOMMU unit meets (SMMUv3 and VT-d, guest-facing "bare hardware" or a
// physical instance driven by the host model): a queue it consumes on doorbells, the errors it
// raises, the events it reports, and translation probes against its caches.

import type { Arch } from '../formats/codec/table.js';
import type { CacheKind, Scope } from '../formats/scope.js';

/** Queue errors as the hardware reports them (spec/smmuv3.md §1.3, spec/vtd.md §1.3). */
export type QueueErrorCode = 'CERROR_ILL' | 'CERROR_ABT' | 'CERROR_ATC_INV_SYNC' | 'IQE' | 'ITE' | 'ICE';

export interface QueueError {
  readonly code: QueueErrorCode;
  /** CMDQ_CONS.ERR (1 ILL, 2 ABT, 3 ATC_INV_SYNC), or IQERCD.IQEI for IQE; 0 for ITE/ICE. */
  readonly value: number;
  /** Slot the consumer stopped at (the failing command; for ITE the head at the time). */
  readonly slot: number;
  /** ITE/ICE: the requester (IQERCD.ITESID / ICESID); ATC_INV_SYNC: the device that timed out. */
  readonly sid?: number;
  readonly message: string;
}

/** The guest-visible error a policy raises (what the guest reads from CMDQ_CONS.ERR / FSTS+IQERCD). */
export interface GuestError {
  readonly code: string;
  readonly value: number;
  /**
   * The device that did not answer: VT-d ITE's IQERCD.ITESID (guest-visible), or the device of an
   * SMMUv3 CERROR_ATC_INV_SYNC (not in any register; the oracle uses it, see docs/oracle.md).
   */
  readonly sid?: number;
}

/** What a cache invalidation actually removed. */
export interface CacheEffect {
  readonly cache: CacheKind | 'walk';
  /** Entries removed. */
  readonly dropped: number;
  readonly scope: Scope;
  /** QEMU-comparable detail (e.g. the aligned chunks of a range TLBI). */
  readonly detail?: string;
}

export type UnitEvent =
  /** A command was consumed and took effect. */
  | { readonly kind: 'exec'; readonly slot: number; readonly name: string; readonly effects: readonly CacheEffect[] }
  /** A completion point completed: CMD_SYNC consumed, or a wait descriptor's status write / interrupt. */
  | { readonly kind: 'complete'; readonly slot: number }
  /** The consumer stopped on an error. */
  | { readonly kind: 'error'; readonly error: QueueError }
  /** VT-d ITE: a pending wait descriptor was aborted (it will never complete). */
  | { readonly kind: 'abort_wait'; readonly slot: number }
  /** Software acknowledged the error; consumption may resume. */
  | { readonly kind: 'resume' };

export interface ConsumerState {
  /** Consumer index (CMDQ_CONS.RD index / IQH index) and SMMU wrap bit (VT-d: 0). */
  readonly index: number;
  readonly wrap: number;
  /** Pending error: consumption stays stopped until acknowledged. */
  readonly error: QueueError | undefined;
}

/** Cache lookups for one (device, PASID/SSID, address), without filling anything. */
export interface CacheHits {
  /** Leaf translation in the IOMMU TLB. */
  readonly iotlb: boolean;
  /** Non-leaf (table walk) entries covering the address. */
  readonly walk: boolean;
  /** Configuration: SMMUv3 STE/CD, VT-d context/PASID entry. */
  readonly config: boolean;
  /** The device's own ATC / device TLB (ATS). */
  readonly atc: boolean;
}

/** CacheHits as bits (Translator.hits): one number per probe, no object. */
export const HIT_IOTLB = 1;
export const HIT_WALK = 2;
export const HIT_CONFIG = 4;
export const HIT_ATC = 8;
/** Every HIT_* bit: what `hits` answers unless asked for fewer. */
export const HIT_ALL = HIT_IOTLB | HIT_WALK | HIT_CONFIG | HIT_ATC;

export const hitBits = (h: CacheHits): number =>
  (h.iotlb ? HIT_IOTLB : 0) | (h.walk ? HIT_WALK : 0) | (h.config ? HIT_CONFIG : 0) | (h.atc ? HIT_ATC : 0);

export const hitsOf = (bits: number): CacheHits => ({
  iotlb: (bits & HIT_IOTLB) !== 0,
  walk: (bits & HIT_WALK) !== 0,
  config: (bits & HIT_CONFIG) !== 0,
  atc: (bits & HIT_ATC) !== 0,
});

export interface Translation {
  readonly ok: boolean;
  readonly pa?: bigint;
  readonly fault?: string;
}

/** A DMA probe: walks the tables and fills the caches, as a device access would. */
export interface Translator {
  /**
   * The answer may be one object the unit reuses: read it before the next call. `page`, when
   * given, is `iova`'s 4 KiB page number (probe-plan.ts pageOf): a unit may index its caches by it
   * instead of converting the BigInt again (the oracle has it for every probe).
   */
  translate(sid: number, pasid: number | undefined, iova: bigint, page?: number): Translation;
  cached(sid: number, pasid: number | undefined, iova: bigint): CacheHits;
  /**
   * The same lookups as `cached`, as HIT_* bits: what the oracle calls per probe (no object).
   * `want` (default HIT_ALL): the bits the caller reads; a unit may skip the lookups of the others
   * (their bits are then 0 or right, never wrong for the bits asked). `page` as for translate.
   */
  hits?(sid: number, pasid: number | undefined, iova: bigint, want?: number, page?: number): number;
}

export interface QueueUnit extends Translator {
  readonly arch: Arch;
  /**
   * Programs the queue (SMMUv3 CMDQ_BASE; VT-d IQA) and resets its indices, empty at `start`
   * (default 0) as if the entries before it had been consumed (a trace that begins mid-ring).
   */
  configureQueue(base: bigint, entries: number, descBytes: 16 | 32, start?: number): void;
  /** The doorbell (SMMUv3 CMDQ_PROD; VT-d IQT): consumes synchronously, as QEMU does. */
  writeProducer(index: number, wrap: number): void;
  /** Error acknowledgement (SMMUv3 GERRORN := GERROR; VT-d FSTS write-1-to-clear). Resumes. */
  acknowledge(): void;
  consumer(): ConsumerState;
  /** `consumer()` as one object the unit reuses (read it before the next call): bare hardware asks after every event. */
  consumerNow(): ConsumerState;
  /** Device `sid` stops (or resumes) answering ATS invalidations (injected fault). */
  setAtcTimeout(sid: number, timedOut: boolean): void;
}

export type EventSink = (e: UnitEvent) => void;
