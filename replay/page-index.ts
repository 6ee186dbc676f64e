// A hash index of small integer nodes by (device slot, page number), in typed arrays: what the
// stale oracle looks its probes and open unmap epochs up by (oracle.ts, pending-probes.ts),
// without a Map, a Set or an object per entry. The caller owns the node numbers (its records'
// indexes) and links each node under one key; several nodes may share a key. Chains are doubly
// linked, so a node leaves in O(1), and removing never allocates (a JS Map shrinks its table on
// delete, which was a large share of the replay's garbage).
//
// Keys: a device slot is a small integer the oracle gives each (device, PASID) it probes; a page
// number is an address >> 12, an integer below 2^52 (exact as a double).

/** No node. */
export const NONE = -1;

/** 2^-32: a page number's high half is page * 2^-32, truncated (a product by a power of two is exact, and a multiply is cheaper than a divide). */
const TWO_TO_MINUS_32 = 2 ** -32;

/** A node's words in `nodes` (NODE per node): its key and its chain links, side by side (one cache line). */
const N_DEV = 0;
const N_PAGE = 1;
const N_NEXT = 2;
const N_PREV = 3;
const NODE = 4;

export class PageIndex {
  /** Bucket → first node of its chain (NONE: empty). Its length is a power of two. */
  private heads: Int32Array;
  private bits: number;
  /**
   * Per node (NODE words from node * NODE): its key and its chain links (valid while linked). One
   * array, not one per field: the oracles of every policy take turns per event, so a look-up finds
   * these cold, and a node's fields then cost one cache miss instead of four.
   */
  private nodes: Float64Array;
  /** Nodes linked now. */
  size = 0;

  constructor(bucketBits = 8, nodes = 256) {
    this.bits = bucketBits;
    this.heads = new Int32Array(1 << bucketBits).fill(NONE);
    this.nodes = new Float64Array(nodes * NODE);
  }

  /** Bucket of (dev, page): a multiplicative hash of the page's two 32-bit halves and the slot. */
  private bucket(dev: number, page: number): number {
    const lo = page >>> 0;
    const hi = (page * TWO_TO_MINUS_32) >>> 0;
    const h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b) ^ Math.imul(dev, 0xc2b2ae35), 0x9e3779b1);
    return h >>> (32 - this.bits);
  }

  /** Links `node` under (dev, page). */
  add(node: number, dev: number, page: number): void {
    if ((node + 1) * NODE > this.nodes.length) this.growNodes(node + 1);
    if (this.size >= this.heads.length) this.rehash(this.bits + 1);
    const nodes = this.nodes;
    const at = node * NODE;
    nodes[at + N_DEV] = dev;
    nodes[at + N_PAGE] = page;
    const b = this.bucket(dev, page);
    const h = this.heads[b]!;
    nodes[at + N_NEXT] = h;
    nodes[at + N_PREV] = NONE;
    if (h !== NONE) nodes[h * NODE + N_PREV] = node;
    this.heads[b] = node;
    this.size++;
  }

  /** Unlinks `node` (which must be linked). */
  remove(node: number): void {
    const nodes = this.nodes;
    const at = node * NODE;
    const n = nodes[at + N_NEXT]!;
    const p = nodes[at + N_PREV]!;
    if (p !== NONE) nodes[p * NODE + N_NEXT] = n;
    else this.heads[this.bucket(nodes[at + N_DEV]!, nodes[at + N_PAGE]!)] = n;
    if (n !== NONE) nodes[n * NODE + N_PREV] = p;
    this.size--;
  }

  /** The first node linked under (dev, page), or NONE; `nextOf` gives the others. */
  first(dev: number, page: number): number {
    return this.scan(this.heads[this.bucket(dev, page)]!, dev, page);
  }

  /** The next node after `node` linked under the same key, or NONE. */
  nextOf(node: number): number {
    const at = node * NODE;
    return this.scan(this.nodes[at + N_NEXT]!, this.nodes[at + N_DEV]!, this.nodes[at + N_PAGE]!);
  }

  private scan(from: number, dev: number, page: number): number {
    const nodes = this.nodes;
    for (let n = from; n !== NONE; n = nodes[n * NODE + N_NEXT]!) {
      if (nodes[n * NODE + N_DEV] === dev && nodes[n * NODE + N_PAGE] === page) return n;
    }
    return NONE;
  }

  /** Unlinks every node. */
  clear(): void {
    this.heads.fill(NONE);
    this.size = 0;
  }

  private growNodes(min: number): void {
    let n = (this.nodes.length / NODE) * 2;
    while (n < min) n *= 2;
    this.nodes = grow(this.nodes, new Float64Array(n * NODE));
  }

  /** Twice the buckets once there are as many nodes as buckets: chains stay about one long. */
  private rehash(bits: number): void {
    const old = this.heads;
    this.bits = bits;
    this.heads = new Int32Array(1 << bits).fill(NONE);
    this.size = 0;
    for (let b = 0; b < old.length; b++) {
      for (let n = old[b]!; n !== NONE;) {
        const at = n * NODE;
        const next = this.nodes[at + N_NEXT]!;
        this.add(n, this.nodes[at + N_DEV]!, this.nodes[at + N_PAGE]!);
        n = next;
      }
    }
  }
}

/**
 * A set of (device slot, page) keys on a PageIndex: the oracle's open unmap epochs. Nodes are
 * recycled through a free list.
 */
export class PageSet {
  private readonly index = new PageIndex();
  private free = new Int32Array(64);
  private freeCount = 0;
  /** Node numbers handed out so far (the next fresh one). */
  private made = 0;

  get size(): number {
    return this.index.size;
  }

  has(dev: number, page: number): boolean {
    return this.index.first(dev, page) !== NONE;
  }

  /** Adds the key (no-op when present). */
  add(dev: number, page: number): void {
    if (this.index.first(dev, page) !== NONE) return;
    let node: number;
    if (this.freeCount > 0) node = this.free[--this.freeCount]!;
    else node = this.made++;
    this.index.add(node, dev, page);
  }

  /** Removes the key; whether it was there. */
  delete(dev: number, page: number): boolean {
    const node = this.index.first(dev, page);
    if (node === NONE) return false;
    this.index.remove(node);
    if (this.freeCount >= this.free.length) this.free = grow(this.free, new Int32Array(this.free.length * 2));
    this.free[this.freeCount++] = node;
    return true;
  }

  clear(): void {
    this.index.clear();
    this.freeCount = 0;
    this.made = 0;
  }
}

/** `to` with `from` copied into its start. */
export function grow<A extends Int32Array | Float64Array | Uint8Array>(from: A, to: A): A {
  to.set(from);
  return to;
}
