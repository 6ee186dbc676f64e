// The page-table model behind every VT-d domain: 4-level tables (48-bit input addresses), every
// IOVA mapped, with 4 KiB leaves unless a large-page range says 2 MiB (level 2) or 1 GiB
// (level 3). Output addresses are a pure function of (domain, PASID, IOVA), so a replay is
// deterministic and two units with the same model agree. No guest memory holds these tables: the
// model stands in for them, the caches in front of it are what the emulator tracks.

/** Level of a paging entry: 1 = 4 KiB PTE, 2 = 2 MiB PDE, 3 = 1 GiB PDPE, 4 = PML4E. */
export type Level = 1 | 2 | 3 | 4;

/** Bytes one entry at each level maps (index 0 unused). */
export const LEVEL_SHIFT: readonly number[] = [0, 12, 21, 30, 39];
export const LEVEL_SHIFT_N: readonly bigint[] = LEVEL_SHIFT.map(BigInt);

/** A range mapped with larger leaves. */
export interface LargePages {
  /** Only this domain (DID); every domain when absent. */
  readonly did?: number;
  readonly base: bigint;
  readonly bytes: bigint;
  /** 2: 2 MiB pages, 3: 1 GiB pages. */
  readonly level: 2 | 3;
}

export interface PageTableOptions {
  /** Input address width in bits (4-level tables: 48). Addresses above fault. */
  readonly addressWidth?: number;
  readonly largePages?: readonly LargePages[];
}

export class PageTableModel {
  readonly addressWidth: number;
  private readonly limit: bigint;
  private readonly large: readonly LargePages[];
  private readonly pageLimit: number;

  constructor(opts: PageTableOptions = {}) {
    this.addressWidth = opts.addressWidth ?? 48;
    this.limit = 1n << BigInt(this.addressWidth);
    this.large = opts.largePages ?? [];
    this.pageLimit = 2 ** (this.addressWidth - 12);
  }

  /** Whether `iova` is inside the input address space (else the walk faults). */
  mapped(iova: bigint): boolean {
    return iova >= 0n && iova < this.limit;
  }

  /**
   * `mapped` by the address's 4 KiB page number (probe-plan.ts pageOf, which floors, so a negative
   * address has a negative page): 0 <= page < 2^(addressWidth - 12).
   */
  pageMapped(page: number): boolean {
    return page >= 0 && page < this.pageLimit;
  }

  /** Level of the leaf entry that maps `iova` in domain `did`. */
  leafLevel(did: number, iova: bigint): 1 | 2 | 3 {
    for (const r of this.large) {
      if ((r.did === undefined || r.did === did) && iova >= r.base && iova < r.base + r.bytes) return r.level;
    }
    return 1;
  }

  /** Output address: the domain and PASID pick a disjoint region (a model value, not real memory). */
  pa(did: number, pasid: number, iova: bigint): bigint {
    // (did << 52) | ((pasid & 0xf) << 48) as one shift: the two fields side by side below 2^53.
    return (BigInt(did * 16 + (pasid & 0xf)) << 48n) | iova;
  }
}
