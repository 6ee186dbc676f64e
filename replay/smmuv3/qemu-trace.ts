// QEMU-comparable descriptions of what a command did: the lines QEMU 7.2's SMMUv3 prints for the
// same command (hw/arm/trace-events, spec/smmuv3.md §6.3), so a replay can be checked against a
// capture line by line. Range TLBIs are split into naturally aligned power-of-two chunks the way
// QEMU's range invalidation does (one `smmuv3_s1_range_inval` line per chunk).

const U64 = (1n << 64n) - 1n;

/** Index of the highest set bit of a non-zero 64-bit value. */
const msb = (v: bigint): bigint => BigInt(v.toString(2).length - 1);

/**
 * The largest naturally aligned power-of-two block starting at `start` that does not pass `end`
 * (inclusive), as a mask (block bytes − 1): QEMU's dma_aligned_pow2_mask with 64 address bits.
 */
export function alignedPow2Mask(start: bigint, end: bigint): bigint {
  const span = (end - start) & U64;
  const alignment = start === 0n ? U64 : (start & -start) - 1n;
  if (alignment <= span) return alignment;
  if (span === U64) return U64;
  return (1n << msb(span + 1n)) - 1n;
}

export interface RangeChunk {
  readonly addr: bigint;
  readonly pages: bigint;
}

/**
 * The chunks QEMU traces for a TLBI range (spec/smmuv3.md §3): TG = 0 is one page at ADDR;
 * otherwise (NUM+1) << SCALE pages of 2^(2·TG+10) bytes, split into aligned power-of-two blocks.
 */
export function qemuRangeChunks(addr: bigint, tg: number, num: number, scale: number): RangeChunk[] {
  if (tg === 0) return [{ addr, pages: 1n }];
  const granule = BigInt(2 * tg + 10);
  const pages = BigInt(num + 1) << BigInt(scale);
  const end = (addr + (pages << granule) - 1n) & U64;
  const out: RangeChunk[] = [];
  let a = addr;
  for (;;) {
    const mask = alignedPow2Mask(a, end);
    out.push({ addr: a, pages: (mask + 1n) >> granule });
    if (mask === U64 || ((a + mask) & U64) === end) break;
    a = (a + mask + 1n) & U64;
  }
  return out;
}

const x = (v: bigint | number) => `0x${v.toString(16)}`;

/** `smmuv3_s1_range_inval vmid=0 asid=1 addr=0xffff6000 tg=1 num_pages=0x1 ttl=3 leaf=1` lines. */
export function rangeInvalLines(
  event: 'smmuv3_s1_range_inval' | 'smmuv3_range_inval',
  vmid: number,
  asid: number,
  addr: bigint,
  tg: number,
  num: number,
  scale: number,
  ttl: number,
  leaf: number,
  stage?: number,
): string {
  return qemuRangeChunks(addr, tg, num, scale)
    .map(
      (c) =>
        `${event} vmid=${vmid} asid=${asid} addr=${x(c.addr)} tg=${tg} num_pages=${x(c.pages)} ttl=${ttl} leaf=${leaf}${stage !== undefined ? ` stage=${stage}` : ''}`,
    )
    .join('\n');
}

export const cfgiSteLine = (sid: number) => `smmuv3_cmdq_cfgi_ste streamid= ${x(sid)}`;
export const cfgiSteRangeLine = (start: number, end: number) => `smmuv3_cmdq_cfgi_ste_range start=${x(start)} - end=${x(end)}`;
export const cfgiCdLine = (sid: number) => `smmuv3_cmdq_cfgi_cd sid=${x(sid)}`;
export const tlbiNhAsidLine = (asid: number) => `smmuv3_cmdq_tlbi_nh_asid asid=${asid}`;
/** QEMU 7.2 prints `smmuv3_cmdq_tlbi_nh` without arguments for both NH_ALL and NSNH_ALL. */
export const tlbiNhLine = () => 'smmuv3_cmdq_tlbi_nh';
export const tlbiS12Line = (vmid: number) => `smmuv3_cmdq_tlbi_s12_vmid vmid=${vmid}`;
