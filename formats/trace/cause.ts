// Inferring why each VT-d IOTLB invalidation of a capture was sent (the `cause` column: map or
// unmap), for captures of a guest under caching mode (CAP.CM = 1, QEMU caching-mode=on), where
// Linux invalidates on map as well as on unmap (spec/vtd.md §4.3). Ingest infers while it builds
// the rows (a CauseWatch in the trace builder, one pass): the cause of each invalidation is known
// at its row, caching mode only at the end. A trace that turns out not to be caching mode gets its
// cause columns nulled again (strip-causes.ts `stripCauses`, a second pass over that trace only).
//
// Evidence of caching mode: Linux flushes the device TLBs of ATS devices on unmap but never on map
// (6.1 iommu_flush_iotlb_psi: `if (!cap_caching_mode(cap) || !map) iommu_flush_dev_iotlb`), so in a
// domain whose page-selective invalidations are followed by a device-TLB invalidation of the same
// address (an ATS domain), page-selective invalidations without one are map flushes. Without
// caching mode every page-selective invalidation of an ATS domain has its device-TLB partner.
// A capture is caching mode when at least MIN_UNPAIRED_SHARE of an ATS domain's page-selective
// invalidations have no partner.
// The cause itself follows the rule that holds on every domain, ATS or not: the invalidations of
// each IOVA page alternate map, unmap, map, ... (a page is mapped, then unmapped, before the IOVA
// allocator hands it out again). Per (domain, first page of the range). Domain-wide and global
// invalidations keep a null cause. Every inferred row has cause_inferred = 1; the header's notes
// get `cause` with the counts and how often the alternation agrees with the device-TLB evidence.

import { CAUSE_DEVTLB, CAUSE_PSI, CAUSE_WAIT, causeKind, pageOf, type CauseKind } from './cause-kind.js';
import { PageSet } from './page-set.js';

export const MIN_UNPAIRED_SHARE = 0.1;

export interface CauseInference {
  readonly caching_mode: boolean;
  readonly evidence: string;
  readonly map: number;
  readonly unmap: number;
  /** ATS-domain invalidations whose alternation cause matches the device-TLB evidence. */
  readonly agree_with_devtlb?: { readonly agree: number; readonly of: number };
}

/** Per domain: page-selective invalidations, those with a device-TLB partner, those whose alternation agrees. */
interface DomainCounts {
  all: number;
  paired: number;
  agree: number;
}

/** Cause codes: the `cause` dictionary's map (0) and unmap (1), plus one. */
export type CauseCode = 1 | 2;

/**
 * The cause of each page-selective invalidation, row by row, and the caching-mode evidence, from the
 * commands of a trace in order (those whose op is known; others are not shown to it). The cause
 * needs only what came before (the page's last cause); caching mode, the whole trace (`inference`).
 */
export class CauseWatch {
  /** The last page-selective invalidation, until the next command (`hasLast`). */
  private hasLast = false;
  private lastBase = 0n;
  private lastIsMap = false;
  private lastPaired = false;
  /** Mapped pages (first page of the range, `pageOf`) per domain. */
  private readonly mapped = new Map<number, PageSet>();
  private readonly perDid = new Map<number, DomainCounts>();
  private psis = 0;
  private map = 0;
  /**
   * The domain of the last page-selective invalidation and its entries of `mapped` and `perDid`
   * (-1: none yet); `pairLast` counts into `curCounts`, the last one's domain.
   */
  private curDid = -1;
  private curPages: PageSet | undefined;
  private curCounts: DomainCounts | undefined;

  /**
   * A command with a known op, its range base (undefined: none) and its DID column (0 when null):
   * the cause of a page-selective invalidation, else undefined.
   */
  command(op: string, base: bigint | undefined, did: number): CauseCode | undefined {
    return this.commandOf(causeKind(op), base, base === undefined ? 0 : pageOf(base), did);
  }

  /** `command` for an op already classified (`causeKind`) and a base's `pageOf` (a builder keeps both per row template). */
  commandOf(kind: CauseKind, base: bigint | undefined, page: number | bigint, did: number): CauseCode | undefined {
    if (kind === CAUSE_WAIT) return undefined;
    if (kind === CAUSE_DEVTLB) {
      if (base !== undefined) this.pairLast(base);
      return undefined;
    }
    this.hasLast = false;
    if (kind !== CAUSE_PSI || base === undefined) return undefined;
    return this.psiAt(did, base, page);
  }

  /** A page-selective invalidation: map when its page was not mapped, else unmap. */
  psi(did: number, base: bigint): CauseCode {
    return this.psiAt(did, base, pageOf(base));
  }

  private psiAt(did: number, base: bigint, page: number | bigint): CauseCode {
    if (did !== this.curDid) this.domain(did);
    const isMap = this.curPages!.toggle(page);
    const c = this.curCounts!;
    c.all++;
    if (isMap) c.agree++; // unpaired so far: a map agrees with the device-TLB evidence
    this.psis++;
    if (isMap) this.map++;
    this.hasLast = true;
    this.lastBase = base;
    this.lastIsMap = isMap;
    this.lastPaired = false;
    return isMap ? 1 : 2;
  }

  /** Makes `did` the current domain (`curDid`), its maps made on first sight. */
  private domain(did: number): void {
    let pages = this.mapped.get(did);
    if (pages === undefined) this.mapped.set(did, (pages = new PageSet()));
    let c = this.perDid.get(did);
    if (c === undefined) this.perDid.set(did, (c = { all: 0, paired: 0, agree: 0 }));
    this.curDid = did;
    this.curPages = pages;
    this.curCounts = c;
  }

  /** A device-TLB invalidation of `base` right after the last page-selective one pairs with it. */
  pairLast(base: bigint): void {
    if (!this.hasLast || this.lastPaired || this.lastBase !== base) return;
    this.lastPaired = true;
    const c = this.curCounts!;
    c.paired++;
    c.agree += this.lastIsMap ? -1 : 1; // paired: an unmap agrees, a map no longer does
  }

  /** Whether any cause was given out. */
  get marked(): boolean {
    return this.psis > 0;
  }

  /** Caching mode or not, from every command seen. */
  inference(): CauseInference {
    const ats = [...this.perDid].filter(([, c]) => c.paired > 0);
    const cm = ats.find(([, c]) => (c.all - c.paired) / c.all >= MIN_UNPAIRED_SHARE);
    if (cm === undefined) {
      const evidence =
        ats.length === 0
          ? 'no device-TLB invalidation follows any page-selective one: caching mode cannot be told, causes left unknown'
          : 'every page-selective invalidation of an ATS domain has its device-TLB partner: not caching mode';
      return { caching_mode: false, evidence, map: 0, unmap: 0 };
    }
    const [did, c] = cm;
    return {
      caching_mode: true,
      evidence: `domain ${did}: ${c.all - c.paired} of ${c.all} page-selective invalidations have no device-TLB partner (map flushes under caching mode)`,
      map: this.map,
      unmap: this.psis - this.map,
      agree_with_devtlb: { agree: ats.reduce((n, [, x]) => n + x.agree, 0), of: ats.reduce((n, [, x]) => n + x.all, 0) },
    };
  }
}

/**
 * Pages the scratch watch of `primedCauseWatch` maps per domain: enough for its PageSet to grow twice
 * (64 -> 128 -> 256 slots, at half full) and for removals to move entries back over the slot they
 * free. Every ingest pays for it: 200 took ~25 M instructions of a 2 KB log's ~1,040 M (run in the
 * interpreter, and TurboFan compiled `commandOf` inside it); with 48, `commandOf` still deoptimized
 * once on big.log, with 66 and 100 not (--trace-deopt).
 */
const PRIMING_PAGES = 100;

/**
 * A new CauseWatch, once `commandOf` has run each of its branches on a scratch watch that is then
 * dropped (the state of the one returned is a fresh watch's): page-selective invalidations that
 * map pages in two domains (so a domain's page set grows) and unmap them again (so entries move
 * back as others are removed), each followed by a device-TLB invalidation of its address or of
 * another one, waits, ops without a cause. A capture's first commands are of few kinds (waits, interrupt-entry invalidations), so TurboFan
 * compiled `commandOf` (with `psiAt`, the page set's `toggle` and `pairLast` inlined) before these
 * branches had run, and it deoptimized at each when it came ("insufficient type feedback"): it was
 * compiled three times on every VT-d ingest (docs/ingest.md, twentieth pass).
 */
export function primedCauseWatch(): CauseWatch {
  const scratch = new CauseWatch();
  for (const did of [1, 2, 1]) {
    for (let i = 0; i < PRIMING_PAGES; i++) {
      const base = BigInt(i) << 12n;
      scratch.commandOf(CAUSE_PSI, base, pageOf(base), did);
      scratch.commandOf(CAUSE_DEVTLB, (i & 1) === 0 ? base : base + 1n, 0, 0);
      scratch.commandOf(CAUSE_WAIT, undefined, 0, 0);
      scratch.commandOf(0, undefined, 0, 0);
    }
  }
  return new CauseWatch();
}

/** A page-selective invalidation at `row`, and whether a device-TLB one of the same address follows it. */
export interface Psi {
  readonly row: number;
  readonly did: number;
  readonly base: bigint;
  readonly paired: boolean;
}

/** Decides caching mode and the cause of each page-selective invalidation (row → 1 map, 2 unmap). */
export function decide(psis: readonly Psi[]): { inference: CauseInference; causes: Map<number, CauseCode> } {
  const w = new CauseWatch();
  const all = new Map<number, CauseCode>();
  for (const p of psis) {
    all.set(p.row, w.psi(p.did, p.base));
    if (p.paired) w.pairLast(p.base);
  }
  const inference = w.inference();
  return { inference, causes: inference.caching_mode ? all : new Map<number, CauseCode>() };
}
