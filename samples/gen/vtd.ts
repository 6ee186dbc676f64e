// The Linux intel-iommu guest driver, as far as its invalidation queue shows it (spec/vtd.md §3–4):
// 6.1 submits every descriptor on its own with a wait (qi_flush_* → qi_submit_sync); 6.12 fills a
// qi_batch of up to 16 per flush (cache.c: IOTLB tag, then one devTLB per ATS device) with one wait
// per batch. Page-selective invalidations take (ADDR, AM) from Linux's alignment algorithm; strict
// versus lazy (flush queue: domain-selective + devTLB "all"); caching mode (PSI on map too);
// scalable mode (256-bit descriptors, PASID-cache and P-IOTLB with PASID 0).

import { VTD } from '../../formats/codecs.js';
import { batched, withCause, type DomainView, type LinuxDriver, type Submission } from './driver.js';
import { compileEncoder, type Encoder, type Words } from './encode.js';
import type { Kernel } from './options.js';
import type { GenDevice } from './topology.js';

/** CAP.MAMV as QEMU advertises it: PSI covers at most 2^18 pages (spec/vtd.md §3). */
export const MAMV = 18;
/** MAX_AGAW_PFN_WIDTH: the mask of "everything". */
export const MAX_AGAW_PFN_WIDTH = 52;
/** QI_MAX_BATCHED_DESC_COUNT (6.12 qi_batch). */
export const QI_BATCH = 16;
/** Guest-physical address of the driver's desc_status[] (the captures' wait descriptors point here). */
export const STATUS_BASE = 0x1046000;
/** RID_PASID / IOMMU_NO_PASID. */
const PASID0 = 0n;

const U64 = (1n << 64n) - 1n;
const ilog2 = (v: bigint): number => v.toString(2).length - 1;
const roundupPow2 = (v: bigint): bigint => (v <= 1n ? 1n : 1n << BigInt((v - 1n).toString(2).length));
const ffs = (v: bigint): number => ilog2(v & -v);

/**
 * The PSI mask of pages [pfn, pfn+pages): log2 of the pages rounded up to a power of two, raised to
 * the lowest bit above it where start and end agree when the start is not aligned (spec/vtd.md §3).
 * `none` is what Linux uses when they never agree (6.1: BITS_PER_LONG; 6.12: MAX_AGAW_PFN_WIDTH).
 */
export function psiMask(pfn: bigint, pages: bigint, none: number): number {
  const aligned = roundupPow2(pages);
  const bitmask = aligned - 1n;
  if ((bitmask & pfn) === 0n) return ilog2(aligned);
  const shared = ~(pfn ^ (pfn + pages - 1n)) & ~bitmask & U64;
  return shared === 0n ? none : ffs(shared);
}

/** 6.12 calculate_psi_aligned_address: the naturally aligned block holding [start, start+bytes). */
export function psiAligned(start: bigint, bytes: bigint): { readonly addr: bigint; readonly mask: number } {
  const pfn = start >> 12n;
  const pages = ((start + bytes + 0xfffn) >> 12n) - pfn;
  const mask = psiMask(pfn, pages, MAX_AGAW_PFN_WIDTH);
  return { addr: (start >> BigInt(12 + mask)) << BigInt(12 + mask), mask };
}

/**
 * qw1 of a device-TLB invalidation of 2^mask pages at `addr` (qi_flush_dev_iotlb): S=1 and the
 * address bits below the size set, so the lowest zero bit at or above 12 gives the size (§3).
 */
export function devtlbAddr(addr: bigint, mask: number): { readonly addr: bigint; readonly s: bigint } {
  if (mask === 0) return { addr: addr & ~0xfffn & U64, s: 0n };
  return { addr: (addr | ((1n << BigInt(12 + mask - 1)) - 1n)) & ~0xfffn & U64, s: 1n };
}

export interface VtdConfig {
  readonly kernel: Kernel;
  readonly cachingMode: boolean;
  readonly scalable: boolean;
  /** First-stage domains (scalable mode): P-IOTLB with PASID 0 instead of IOTLB. */
  readonly firstStage: boolean;
}

export class VtdLinux implements LinuxDriver {
  readonly words: 2 | 4;
  private readonly e: Readonly<Record<'iec' | 'cc' | 'iotlb' | 'devtlb' | 'pc' | 'piotlb' | 'wait', Encoder>>;

  constructor(private readonly c: VtdConfig) {
    this.words = c.scalable ? 4 : 2;
    const enc = (op: string, fields: string[]) => compileEncoder(VTD, op, fields, this.words);
    this.e = {
      iec: enc('iec_inv', ['G', 'IIDX']),
      cc: enc('cc_inv', ['G', 'DID', 'SID']),
      // DW/DR: drain writes and reads, set because CAP says the hardware drains (QEMU does).
      iotlb: enc('iotlb_inv', ['G', 'DW', 'DR', 'DID', 'AM', 'IH', 'ADDR']),
      devtlb: enc('dev_tlb_inv', ['SID', 'MIP', 'S', 'ADDR']),
      pc: enc('pc_inv', ['G', 'DID', 'PASID']),
      piotlb: enc('p_iotlb_inv', ['G', 'DID', 'PASID', 'AM', 'IH', 'ADDR']),
      wait: enc('inv_wait', ['SW', 'STATUS_DATA', 'STATUS_ADDR']),
    };
  }

  // Interrupt remapping on (IEC global), then translation: context-cache global, PASID-cache
  // global in scalable mode, IOTLB global (the captures' boot, §4.2 / README "Boot-time set-up").
  boot(): Submission[] {
    return this.each([
      this.e.iec([0n, 0n]),
      this.e.cc([1n, 0n, 0n]),
      ...(this.c.scalable ? [this.e.pc([3n, 0n, 0n])] : []),
      this.e.iotlb([1n, 1n, 1n, 0n, 0n, 0n, 0n]),
    ]);
  }

  // With caching mode the not-present → present change of an entry is flushed: in scalable mode the
  // PASID entry (PASID-cache + P-IOTLB PASID-selective), then the context entry (context-cache
  // device-selective with DID 0, IOTLB domain-selective). Without caching mode: a write-buffer flush.
  attach(dev: GenDevice, dom: DomainView): Submission[] {
    if (!this.c.cachingMode) return [];
    const did = BigInt(dom.tag);
    return this.each([
      ...(this.c.scalable ? [this.e.pc([1n, did, PASID0]), this.e.piotlb([2n, did, PASID0, 0n, 0n, 0n])] : []),
      this.e.cc([3n, 0n, BigInt(dev.sid)]),
      this.dsi(did),
    ]);
  }

  // Each device's MSI set-up rewrites its interrupt-remapping entry twice (allocate, then set the
  // affinity): two index-selective IEC invalidations.
  afterAttach(devices: readonly GenDevice[]): Submission[] {
    return this.each(
      devices.flatMap((d) => {
        const iec = this.e.iec([1n, BigInt(0x10 + d.index)]);
        return [iec, iec];
      }),
    );
  }

  // Caching mode, second stage: the new entries are flushed like an unmap, without device TLBs.
  map(dom: DomainView, iova: number, bytes: number): Submission[] {
    if (!this.c.cachingMode || this.c.firstStage) return [];
    return withCause(this.flush([this.iotlbPage(dom, BigInt(iova), BigInt(bytes)).desc], []), 'map');
  }

  unmap(dom: DomainView, iova: number, bytes: number): Submission[] {
    const start = BigInt(iova);
    const size = BigInt(bytes);
    const { desc, devAddr, mask } = this.iotlbPage(dom, start, size, true);
    return withCause(
      this.flush(
        [desc],
        dom.ats.map((d) => this.devtlb(d, devAddr, mask)),
        dom.ats,
      ),
      'unmap',
    );
  }

  flushAll(dom: DomainView): Submission[] {
    const did = BigInt(dom.tag);
    const iotlb = this.c.firstStage ? this.e.piotlb([2n, did, PASID0, 0n, 0n, 0n]) : this.dsi(did);
    // 6.1 intel_flush_iotlb_all skips device TLBs under caching mode; 6.12 cache_tag_flush_all does not.
    const dev = this.c.kernel === '6.1' && this.c.cachingMode ? [] : dom.ats;
    return this.flush(
      [iotlb],
      dev.map((d) => this.devtlb(d, 0n, MAX_AGAW_PFN_WIDTH)),
      dev,
    );
  }

  // Invalidation wait with status write of QI_DONE to desc_status[slot] (qi_submit_sync).
  completion(slot: number): Words {
    return this.e.wait([1n, 2n, BigInt(STATUS_BASE + 4 * slot)]);
  }

  // Injected: an IOTLB global invalidation with reserved qw0 bit 8 set (IQE, IQERCD.IQEI = 4).
  illegal(): Words {
    const w = this.e.iotlb([1n, 1n, 1n, 0n, 0n, 0n, 0n]);
    w[0] = w[0]! | 0x100n;
    return w;
  }

  /**
   * The IOTLB descriptor of a page range (6.1 iommu_flush_iotlb_psi, 6.12 cache_tag_flush_iotlb),
   * with the address and mask its device-TLB invalidations use.
   */
  private iotlbPage(dom: DomainView, start: bigint, size: bigint, unmap = false): { desc: Words; devAddr: bigint; mask: number } {
    const did = BigInt(dom.tag);
    const pages = size >> 12n;
    // IH: only leaf entries changed, which holds for these unmaps (no page-table pages freed). The
    // legacy descriptor builder drops it (QI_IOTLB_ADDR masks bit 6 away, spec/vtd.md §2.3 item 6).
    const ih = unmap ? 1n : 0n;
    if (this.c.kernel === '6.1') {
      if (this.c.firstStage) {
        // qi_flush_piotlb aligns the address to the rounded-up size; the devTLB mask is not adjusted.
        const mask = ilog2(roundupPow2(pages));
        return { desc: this.piotlbPsi(did, start, mask, ih), devAddr: start, mask };
      }
      const mask = psiMask(start >> 12n, pages, 64);
      // 6.1 puts the unaligned start address in the descriptor; the hardware ignores the low AM bits.
      const desc = mask > MAMV ? this.dsi(did) : this.e.iotlb([3n, 1n, 1n, did, BigInt(mask), 0n, start]);
      return { desc, devAddr: start, mask };
    }
    const { addr, mask } = psiAligned(start, size);
    if (this.c.firstStage) return { desc: this.piotlbPsi(did, addr, mask, ih), devAddr: addr, mask };
    const desc = mask > MAMV ? this.dsi(did) : this.e.iotlb([3n, 1n, 1n, did, BigInt(mask), 0n, addr]);
    return { desc, devAddr: addr, mask };
  }

  private piotlbPsi(did: bigint, addr: bigint, mask: number, ih: bigint): Words {
    if (mask >= MAX_AGAW_PFN_WIDTH) return this.e.piotlb([2n, did, PASID0, 0n, 0n, 0n]);
    const aligned = (addr >> BigInt(12 + mask)) << BigInt(12 + mask);
    return this.e.piotlb([3n, did, PASID0, BigInt(mask), ih, aligned]);
  }

  private dsi(did: bigint): Words {
    return this.e.iotlb([2n, 1n, 1n, did, 0n, 0n, 0n]);
  }

  // MIP 0: QEMU's ATS queue depth reads 32, and Linux writes 0 for a depth of 32 or more. PFSID 0:
  // QEMU does not set ECAP.DIT. PASID 0 takes the non-PASID form (type 3).
  private devtlb(d: GenDevice, addr: bigint, mask: number): Words {
    const q = devtlbAddr(addr, mask);
    return this.e.devtlb([BigInt(d.sid), 0n, q.s, q.addr]);
  }

  private each(cmds: readonly Words[]): Submission[] {
    return cmds.map((c) => ({ cmds: [c], sync: true }));
  }

  /** IOTLB descriptors, then device TLBs: one submission each (6.1), or qi_batch of 16 (6.12). */
  private flush(iotlb: readonly Words[], devtlb: readonly Words[], ats: readonly GenDevice[] = []): Submission[] {
    const cmds = [...iotlb, ...devtlb];
    const atsOf = [...iotlb.map(() => undefined), ...ats.map((d) => d.sid)];
    return batched(cmds, this.c.kernel === '6.1' ? 1 : QI_BATCH, true, atsOf);
  }
}
