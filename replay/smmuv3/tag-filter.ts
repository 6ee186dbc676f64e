// The tags of the SMMU's translation caches (tlb.ts buckets) and which of them an invalidation
// reaches. A TLBI selects TLB buckets by regime, stage, VMID and ASID, an ATC_INV a device's ATC
// buckets by SubstreamID (spec/smmuv3.md §2, §3); the emulator sets one reused filter per command
// instead of making a closure per command, and hands the cache its `match`.

export interface TlbTag {
  /** 0: NS-EL1 ("nh"), 1: EL2. */
  readonly regime: 0 | 1;
  readonly stage: 1 | 2;
  /** -1: not tagged with a VMID (EL2). */
  readonly vmid: number;
  /** -1: not tagged with an ASID (stage 2). */
  readonly asid: number;
}

export interface AtcTag {
  /** SubstreamID (PASID) of the entry; -1: translated without a PASID. */
  readonly ssid: number;
}

/** A filter field that matches every tag value. */
export const ANY = -2;

/**
 * A TLB tag as one exact number, a bucket's key. Any one-to-one encoding would do (keys only name
 * buckets); this one keeps VMID+1 in the high part and regime/stage in the low bits, so that with a
 * VMID below 2046 (every host this replays) the key is a small integer (below 2^30): a larger key is
 * a heap number, allocated whenever a lookup passes it on (10 MB of garbage per 300k commands in
 * the oracle's probes alone). One-to-one for 16-bit VMIDs and ASIDs (and -1 for none).
 */
export const tlbKey = (regime: number, stage: number, vmid: number, asid: number): number =>
  ((vmid + 1) * 65537 + (asid + 1)) * 8 + (regime * 4 + stage);

/** The key of the one bucket a selection names, when no field is ANY; undefined otherwise. */
export const exactTlbKey = (regime: number, stage: number, vmid: number, asid: number): number | undefined =>
  regime === ANY || stage === ANY || vmid === ANY || asid === ANY ? undefined : tlbKey(regime, stage, vmid, asid);

/** TLB buckets by regime, stage, VMID and ASID (each ANY or the value to match). */
export class TlbFilter {
  private regime = ANY;
  private stage = ANY;
  private vmid = ANY;
  private asid = ANY;

  /** Whether a bucket's tag is selected (one function, made once). */
  readonly match = (t: TlbTag): boolean =>
    (this.regime === ANY || t.regime === this.regime) &&
    (this.stage === ANY || t.stage === this.stage) &&
    (this.vmid === ANY || t.vmid === this.vmid) &&
    (this.asid === ANY || t.asid === this.asid);

  /** Selects the tags with these fields; returns `match` (valid until the next `select`). */
  select(regime: number, stage: number, vmid: number, asid: number): (t: TlbTag) => boolean {
    this.regime = regime;
    this.stage = stage;
    this.vmid = vmid;
    this.asid = asid;
    return this.match;
  }
}

/** ATC buckets of one SubstreamID, or of every one (SSV=0 reaches entries with and without one). */
export class AtcFilter {
  private ssid = ANY;

  readonly match = (t: AtcTag): boolean => this.ssid === ANY || t.ssid === this.ssid;

  select(ssid: number | undefined): (t: AtcTag) => boolean {
    this.ssid = ssid ?? ANY;
    return this.match;
  }
}
