// A per-domain IOVA allocator shaped like Linux's iommu-dma one: allocations below the 32-bit DMA
// limit, top-down, each aligned to its size rounded up to a power of two (alloc_iova_fast with
// size_aligned; lengths under 32 pages are rounded up too), and freed ranges reused last-in
// first-out (the per-CPU IOVA rcache), which is why the captures see the same few IOVAs again
// and again. Memory: one entry per free range, bounded by the peak of live mappings.

import { InputFault } from '../../formats/result.js';

const PAGE = 4096;
/** IOVA_RANGE_CACHE_MAX_SIZE - 1: lengths below 2^5 pages are rounded up to a power of two. */
const ROUND_UP_BELOW = 32;

/** Smallest power of two >= n (integer arithmetic: no floating-point logarithms in the model). */
export function roundupPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class IovaAllocator {
  private next: number;
  private readonly free = new Map<number, number[]>();

  /** `limit`: end of the IOVA space (the device's DMA mask + 1); `floor`: lowest usable IOVA. */
  constructor(
    private readonly limit = 2 ** 32,
    private readonly floor = 2 ** 20,
  ) {
    this.next = limit;
  }

  /** Length in pages the allocator reserves for a mapping of `pages`. */
  static reserved(pages: number): number {
    return pages < ROUND_UP_BELOW ? roundupPow2(pages) : pages;
  }

  alloc(pages: number): number {
    const len = IovaAllocator.reserved(pages);
    const cached = this.free.get(len);
    if (cached !== undefined && cached.length > 0) return cached.pop()!;
    const align = roundupPow2(pages) * PAGE;
    const at = Math.floor((this.next - len * PAGE) / align) * align;
    if (at < this.floor) {
      throw new InputFault({
        message: `IOVA space below ${this.limit / 2 ** 30} GiB exhausted: fewer live mappings needed (lower --rate, --latency-us or --sizes)`,
      });
    }
    this.next = at;
    return at;
  }

  release(iova: number, pages: number): void {
    const len = IovaAllocator.reserved(pages);
    let list = this.free.get(len);
    if (list === undefined) this.free.set(len, (list = []));
    list.push(iova);
  }
}
