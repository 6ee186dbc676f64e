// The Linux arm-smmu-v3 guest driver, as far as its command queue shows it (spec/smmuv3.md §3–4):
// batches of at most 64 commands, the last one followed by a CMD_SYNC; range TLBIs built like
// __arm_smmu_tlb_inv_range; TLBIs completed before the ATC_INVs of the same change; CFGI_STE +
// SYNC on attach, then PREFETCH_CONFIG; lazy mode's TLBI_NH_ASID + ATC_INV SIZE=52.

import { SMMUV3 } from '../../formats/codecs.js';
import { batched, withCause, type DomainView, type LinuxDriver, type Submission } from './driver.js';
import { compileEncoder, constant, type Words } from './encode.js';
import type { Kernel } from './options.js';
import type { GenDevice } from './topology.js';

/** CMDQ_BATCH_ENTRIES on arm64 (BITS_PER_LONG). */
export const CMDQ_BATCH_ENTRIES = 64;
/** ATC_INV SIZE meaning "everything" (ATC_INV_SIZE_ALL). */
export const ATC_INV_SIZE_ALL = 52;

/** One TLBI_NH_VA of a range invalidation: ADDR and the RIL fields. */
export interface TlbiCmd {
  readonly addr: number;
  readonly num: number;
  readonly scale: number;
  readonly ttl: number;
  readonly tg: number;
}

export interface TlbiParams {
  readonly ril: boolean;
  readonly kernel: Kernel;
  /** Only leaf entries changed (unmap without freed tables). */
  readonly leaf: boolean;
  /** log2 of the page size unmapped (gather pgsize); 12 for 4 KiB pages. */
  readonly granuleLog2: number;
  /** log2 of the domain's smallest page size (the TG of range commands). */
  readonly tgLog2: number;
}

/**
 * __arm_smmu_tlb_inv_range (spec/smmuv3.md §3). With RIL: one command per 5-bit chunk of the
 * page count (SCALE = lowest set bit, NUM = the next 5 bits - 1). Without: one command per granule.
 * Linux 6.1 sets TTL for every range command; 6.12 (as the 6.18 code of §3) only for leaf ones,
 * and rounds up a non-leaf count whose low five bits are 1 (NUM=0 SCALE=0 TTL=0 is not a range).
 */
export function tlbiRange(iova: number, size: number, p: TlbiParams): TlbiCmd[] {
  const out: TlbiCmd[] = [];
  const end = iova + size;
  if (!p.ril) {
    for (let a = iova; a < end; a += 2 ** p.granuleLog2) out.push({ addr: a, num: 0, scale: 0, ttl: 0, tg: 0 });
    return out;
  }
  const tg = (p.tgLog2 - 10) / 2;
  let pages = Math.floor(size / 2 ** p.tgLog2);
  const level = 4 - Math.floor((p.granuleLog2 - 3) / (p.tgLog2 - 3));
  let ttl = 0;
  if (p.kernel === '6.1' || p.leaf) ttl = level;
  else if ((pages & 31) === 1) pages++;
  let a = iova;
  while (a < end) {
    const scale = ctz(pages);
    const n = Math.floor(pages / 2 ** scale) & 31;
    out.push({ addr: a, num: n - 1, scale, ttl, tg });
    a += n * 2 ** (scale + p.tgLog2);
    pages -= n * 2 ** scale;
  }
  return out;
}

/** arm_smmu_atc_inv_to_cmd: one ATC_INV covering [iova, iova+size) in 4 KiB grains (§3). */
export function atcInvSpan(iova: number, size: number): { readonly addr: number; readonly size: number } {
  if (size === 0) return { addr: 0, size: ATC_INV_SIZE_ALL };
  const first = Math.floor(iova / 4096);
  const last = Math.floor((iova + size - 1) / 4096);
  const log2Span = fls(Number(BigInt(first) ^ BigInt(last)));
  return { addr: (first - (first % 2 ** log2Span)) * 4096, size: log2Span };
}

function ctz(v: number): number {
  let n = 0;
  while (v > 0 && v % 2 === 0) {
    v /= 2;
    n++;
  }
  return n;
}

/** Highest set bit + 1 (fls_long) of a page-number XOR. */
function fls(v: number): number {
  let n = 0;
  for (; v > 0; v = Math.floor(v / 2)) n++;
  return n;
}

const TLBI_NH_VA = compileEncoder(SMMUV3, 'CMD_TLBI_NH_VA', ['ASID', 'NUM', 'SCALE', 'LEAF', 'TTL', 'TG', 'ADDR']);
const TLBI_NH_ASID = compileEncoder(SMMUV3, 'CMD_TLBI_NH_ASID', ['ASID']);
const ATC_INV = compileEncoder(SMMUV3, 'CMD_ATC_INV', ['SID', 'SIZE', 'ADDR']);
const CFGI_STE = compileEncoder(SMMUV3, 'CMD_CFGI_STE', ['SID', 'LEAF']);
const PREFETCH_CONFIG = compileEncoder(SMMUV3, 'CMD_PREFETCH_CONFIG', ['SID']);
// CMD_SYNC as Linux builds it without MSI polling (QEMU has none): CS=SEV, MSH=Inner Shareable,
// MSIATTR=Inner/Outer write-back (spec/smmuv3.md §2 "CMD_SYNC as Linux builds it").
const CMD_SYNC = constant(SMMUV3, 'CMD_SYNC', { CS: 2, MSH: 3, MSIATTR: 0xf });
const CFGI_ALL = constant(SMMUV3, 'CMD_CFGI_STE_RANGE', { SID: 0, RANGE: 31 });
const TLBI_NSNH_ALL = constant(SMMUV3, 'CMD_TLBI_NSNH_ALL', {});
// Injected: CFGI_ALL with the opcode QEMU's enum gives it (0x07, spec/smmuv3.md §2 discrepancy 1):
// what a guest built against that enum would write. No SMMU accepts opcode 0x07 (CERROR_ILL).
const ILLEGAL: Words = Object.freeze([0x07n, 31n]);

const one = (cmd: Words, sync = true): Submission => ({ cmds: [cmd], sync });

export interface Smmuv3Config {
  readonly kernel: Kernel;
  readonly ril: boolean;
  /** tlbi-on-map (the RFC of seed 002): the emulated SMMU may cache non-present entries. */
  readonly cachingMode?: boolean;
}

export class Smmuv3Linux implements LinuxDriver {
  readonly words = 2;
  constructor(private readonly c: Smmuv3Config) {}

  // arm_smmu_device_reset: CFGI_ALL + SYNC, then TLBI_NSNH_ALL + SYNC (no TLBI_EL2_ALL: a guest has no HYP).
  boot(): Submission[] {
    return [one(CFGI_ALL), one(TLBI_NSNH_ALL)];
  }

  // The attach sequence of the 6.1 captures: a new domain's context descriptor is written with two
  // syncs while it has no masters yet (bare CMD_SYNCs), the STE is written in two steps (CFGI_STE +
  // SYNC each), PREFETCH_CONFIG goes without a sync, then the domain is flushed (TLBI_NH_ASID).
  attach(dev: GenDevice, dom: DomainView, first: boolean): Submission[] {
    const sid = BigInt(dev.sid);
    const ste = CFGI_STE([sid, 1n]);
    return [
      ...(first
        ? [
            { cmds: [], sync: true },
            { cmds: [], sync: true },
          ]
        : []),
      one(ste),
      one(ste),
      one(PREFETCH_CONFIG([sid]), false),
      ...this.flushAll(dom),
    ];
  }

  afterAttach(): Submission[] {
    return [];
  }

  // Stage-1 mappings need no invalidation, unless the (emulated) SMMU caches non-present entries:
  // tlbi-on-map then flushes the new range like an unmap, without ATC_INV (no device could have
  // fetched a translation of a non-present entry).
  map(dom: DomainView, iova: number, bytes: number): Submission[] {
    if (this.c.cachingMode !== true) return [];
    return withCause(batched(this.tlbis(dom, iova, bytes), CMDQ_BATCH_ENTRIES, false), 'map');
  }

  // arm_smmu_tlb_inv_range_domain: the TLBI batch with its SYNC, then the ATC_INVs with theirs.
  unmap(dom: DomainView, iova: number, bytes: number): Submission[] {
    return withCause(
      [...batched(this.tlbis(dom, iova, bytes), CMDQ_BATCH_ENTRIES, false), ...this.atcInv(dom, atcInvSpan(iova, bytes))],
      'unmap',
    );
  }

  private tlbis(dom: DomainView, iova: number, bytes: number): Words[] {
    const asid = BigInt(dom.tag);
    return tlbiRange(iova, bytes, { ril: this.c.ril, kernel: this.c.kernel, leaf: true, granuleLog2: 12, tgLog2: 12 }).map((t) =>
      TLBI_NH_VA([asid, BigInt(t.num), BigInt(t.scale), 1n, BigInt(t.ttl), BigInt(t.tg), BigInt(t.addr)]),
    );
  }

  // arm_smmu_tlb_inv_context: TLBI_NH_ASID + SYNC, then ATC_INV SIZE=52 per ATS StreamID + SYNC.
  flushAll(dom: DomainView): Submission[] {
    return [one(TLBI_NH_ASID([BigInt(dom.tag)])), ...this.atcInv(dom, atcInvSpan(0, 0))];
  }

  completion(): Words {
    return CMD_SYNC;
  }

  illegal(): Words {
    return ILLEGAL;
  }

  private atcInv(dom: DomainView, span: { addr: number; size: number }): Submission[] {
    if (dom.ats.length === 0) return [];
    const cmds = dom.ats.map((d) => ATC_INV([BigInt(d.sid), BigInt(span.size), BigInt(span.addr)]));
    return batched(
      cmds,
      CMDQ_BATCH_ENTRIES,
      false,
      dom.ats.map((d) => d.sid),
    );
  }
}
