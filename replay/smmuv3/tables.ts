// The translation structures an SMMUv3 instance walks, as a model rather than bytes in memory: the
// stream table (one STE per StreamID; stage 1 through a CD table indexed by SubstreamID, stage 2
// with a VMID) and 4 KiB-granule page tables that map every input address (identity output),
// with 4 KiB leaves unless a block region says otherwise. Structures are immutable values: the
// configuration cache keeps the snapshot it fetched, so a changed STE/CD stays stale in the cache
// until software invalidates it (CMD_CFGI_*), as on hardware.

/** Context descriptor: what stage 1 needs here, the ASID that tags its TLB entries. */
export interface Cd {
  readonly asid: number;
}

/** Stream table entry. */
export interface Ste {
  /**
   * Stage 1 enabled: the CD table the STE points at (SubstreamID → CD; SSID 0 is the default
   * substream). The table is memory, not part of the STE value: a cached STE keeps pointing at it,
   * and CD writes (Smmuv3.setCd) change it in place.
   */
  readonly s1?: { readonly cds: ReadonlyMap<number, Cd> };
  /** Stage 2 enabled (nested when s1 is set too). */
  readonly s2: boolean;
  /** STE.S2VMID: tags stage-2 and (NS-EL1) stage-1 entries; matched only on an S2P SMMU. */
  readonly vmid: number;
  /** STE.STRW: the translation regime of stage 1 (EL2 entries carry no VMID). */
  readonly strw: 'nh' | 'el2';
  /** STE.EATS: the device has an ATC and ATS translation requests are served. */
  readonly ats: boolean;
}

export interface SteSpec {
  /** SSID → ASID; omitted: stage 1 bypassed. */
  readonly cds?: Readonly<Record<number, number>> | ReadonlyMap<number, number>;
  readonly s2?: boolean;
  readonly vmid?: number;
  readonly strw?: 'nh' | 'el2';
  readonly ats?: boolean;
}

/** Builds an STE from a compact spec: `{ cds: { 0: asid }, ats: true }`. */
export function steOf(spec: SteSpec): Ste {
  let s1: Ste['s1'];
  if (spec.cds !== undefined) {
    const pairs: [number, number][] =
      spec.cds instanceof Map
        ? [...(spec.cds as ReadonlyMap<number, number>)]
        : Object.entries(spec.cds).map(([k, v]) => [Number(k), v as number]);
    s1 = { cds: new Map(pairs.map(([ssid, asid]) => [ssid, { asid }])) };
  }
  // One literal with every field (s1 undefined when bypassed), not a spread: every STE shares one
  // hidden class, so the probes' reads of its fields stay monomorphic (prepared.ts `made`).
  return { s1, s2: spec.s2 ?? false, vmid: spec.vmid ?? 0, strw: spec.strw ?? 'nh', ats: spec.ats ?? false };
}

/** A region mapped with blocks instead of 4 KiB pages: level 2 = 2 MiB, level 1 = 1 GiB. */
export interface BlockRegion {
  readonly base: bigint;
  readonly bytes: bigint;
  readonly level: 1 | 2;
}

export interface PageTableModel {
  /** Stage-1 block regions (every ASID); the rest is mapped with 4 KiB pages. */
  readonly s1Blocks?: readonly BlockRegion[];
  /** Stage-2 block regions (every VMID). */
  readonly s2Blocks?: readonly BlockRegion[];
}

/** 4 KiB granule, 48-bit input, start level 0: the input bits each level's entry covers. */
export const LEVEL_SHIFT: readonly bigint[] = [39n, 30n, 21n, 12n];
export const INPUT_BITS = 48n;

export type Level = 1 | 2 | 3;

/** The level of the leaf that maps `addr` (3 = a 4 KiB page). */
export function leafLevel(blocks: readonly BlockRegion[] | undefined, addr: bigint): Level {
  if (blocks) for (const b of blocks) if (addr >= b.base && addr < b.base + b.bytes) return b.level;
  return 3;
}

/** Whether `addr` is inside the 48-bit input range the tables cover. */
export function inRange(addr: bigint): boolean {
  return addr >= 0n && addr < INPUT_LIMIT;
}

/**
 * inRange by the address's 4 KiB page number (probe-plan.ts pageOf): 0 <= addr < 2^INPUT_BITS
 * exactly when 0 <= addr >> 12 < 2^(INPUT_BITS - 12), with no BigInt compared.
 */
export function pageInRange(page: number): boolean {
  return page >= 0 && page < INPUT_PAGES;
}

const INPUT_PAGES = 2 ** (Number(INPUT_BITS) - 12);

/** 2^INPUT_BITS, made once (inRange is asked per translation). */
const INPUT_LIMIT = 1n << INPUT_BITS;
