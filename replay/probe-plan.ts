// What the stale oracle (oracle.ts) probes for one guest invalidation scope: the devices it covers,
// the PASID they are probed with, their device keys, and the first and last page of its address
// range. A plan depends only on the scope, the queue's topology and the architecture, so it is
// worked out once per scope and shared by every oracle of a guest queue — bare hardware's
// reference (reference.ts) and each policy's run (queue-run.ts) — instead of once per oracle per
// command. Scopes are shared per decoded command (guest-queue.ts `classifiedAt`), so a queue that
// repeats its invalidations (the common case) works each plan out once.
// Which entries are probed, and why, is the oracle's rule (docs/oracle.md); this file only says
// where: the `*InScope` rules below are the plain definitions the plans are cached from.

import type { DeviceSpec, Topology } from '../formats/trace/header.js';
import type { AddrRange, Scope } from '../formats/scope.js';
import { HIT_ATC, HIT_CONFIG, HIT_IOTLB, HIT_WALK } from './unit.js';

const PAGE = 4096n;
const PAGE_MASK = ~(PAGE - 1n);
/** 4096 as a double, and the bound below which a range's ends are exact doubles. */
const PAGE_BYTES = 4096;
const EXACT = 2 ** 53;
/** Addresses below this convert to a double exactly. */
const SAFE = 1n << 53n;

/**
 * The first and last page-aligned addresses of `r` into `out`: `base & PAGE_MASK` and
 * `(base + bytes - 1) & PAGE_MASK`. Below 2^53 (every real IOVA) by double arithmetic, exact there,
 * giving back `base` itself when it is already aligned and the first page again for a one-page
 * range: no BigInt made for the common invalidation of one aligned page. Other ranges: BigInts.
 */
export function pageBounds(r: AddrRange, out: bigint[]): void {
  const b = Number(r.base);
  const n = Number(r.bytes);
  if (b >= 0 && n >= 1 && b + n < EXACT) {
    const first = b - (b % PAGE_BYTES);
    const end = b + n - 1;
    const last = end - (end % PAGE_BYTES);
    const firstBig = first === b ? r.base : BigInt(first);
    out[0] = firstBig;
    out[1] = last === first ? firstBig : BigInt(last);
    return;
  }
  out[0] = r.base & PAGE_MASK;
  out[1] = (r.base + r.bytes - 1n) & PAGE_MASK;
}

/** The page number of a (page-aligned) address. */
export const pageOf = (iova: bigint): number => (iova < SAFE ? Math.floor(Number(iova) / 4096) : Number(iova >> 12n));

/**
 * (device, PASID) as one exact number: SID (32 bits) above PASID + 1 (21 bits; 0 = no PASID). A
 * probe's key is this with its page number (probes are page-aligned).
 */
export const deviceKey = (sid: number, pasid: number | undefined): number => sid * 0x200000 + (pasid === undefined ? 0 : pasid + 1);

/** The PASID every device is attached with (VT-d RID_PASID; SMMUv3 SSID 0). */
const ATTACHED_PASID = 0;

/** Devices whose translations a scope covers, from the topology (guest view). */
export function devicesInScope(s: Scope, topology: Topology, arch: 'smmuv3' | 'vtd'): DeviceSpec[] {
  const devs = topology.devices;
  const sidMatch = (d: DeviceSpec) =>
    s.sid === undefined || ((d.sid ^ s.sid) & ~(s.sidIgnore ?? 0)) === 0 || (s.sidIgnore ?? 0) >= 0xffffffff;
  switch (s.cache) {
    case 'iotlb':
      if (s.regime === 'el2' || s.regime === 'el3' || s.stage === 2) return []; // no guest device translates there
      return devs.filter((d) =>
        arch === 'smmuv3' ? s.asid === undefined || d.domain === s.asid : s.did === undefined || d.domain === s.did,
      );
    case 'atc':
    case 'devtlb':
      return devs.filter((d) => d.ats && d.sid === s.sid);
    case 'ste':
    case 'cd':
      return devs.filter(sidMatch);
    case 'context':
      return devs.filter((d) => (s.did === undefined || d.domain === s.did) && sidMatch(d));
    case 'pasid':
      return devs.filter((d) => s.did === undefined || d.domain === s.did);
    case 'iec':
      return []; // interrupt remapping: no translation to probe
  }
}

/**
 * The PASID a scope's probes use, or null when the topology attaches nothing it covers.
 * VT-d: devices are attached at RID_PASID and their DMA carries no PASID (spec/vtd.md §4.2: "PASID
 * 0 uses the non-PASID form"), so the IOTLB tags it RID_PASID and the device TLB keeps it untagged.
 * A PASID-tagged IOTLB or PASID-cache scope covers that translation only for PASID 0 (probed as an
 * untagged request); a PASID-based device-TLB scope (type 8) covers PASID-tagged device-TLB entries
 * only, which no attached device has.
 */
export function probePasid(s: Scope, arch: 'smmuv3' | 'vtd'): number | undefined | null {
  if (arch === 'smmuv3') return s.ssid ?? ATTACHED_PASID;
  if (s.pasid === undefined) return undefined;
  if (s.pasid !== ATTACHED_PASID || s.cache === 'devtlb') return null;
  return undefined;
}

/**
 * The HIT_* bits of the caches scope `s` invalidates (a leaf-only IOTLB invalidation keeps the walk
 * entries): the cache hits that show its entry still cached (oracle.ts `staleBits`), and all a
 * check asks the unit to look up.
 */
export function wantBits(s: Scope): number {
  switch (s.cache) {
    case 'iotlb':
      return s.leaf ? HIT_IOTLB : HIT_IOTLB | HIT_WALK;
    case 'atc':
    case 'devtlb':
      return HIT_ATC;
    case 'ste':
    case 'cd':
    case 'context':
    case 'pasid':
      return HIT_CONFIG;
    case 'iec':
      return 0;
  }
}

/** What the oracle probes for one scope (see the header). */
export interface ProbePlan {
  /** The PASID every probe of the scope uses (undefined: none). */
  readonly pasid: number | undefined;
  /** devicesInScope. */
  readonly devices: readonly DeviceSpec[];
  /** deviceKey of each device with `pasid`, in the same order. */
  readonly keys: readonly number[];
  /**
   * Each device key as a small number (ProbePlans `deviceSlot`: the same key, the same number, in
   * every plan of the queue), in the same order: what an oracle keeps per-device state by.
   */
  readonly slots: readonly number[];
  /** Each device's SID as a small number (ProbePlans `sidSlot`), in the same order. */
  readonly sidSlots: readonly number[];
  /** An ATC/device-TLB scope (its probes close unmap epochs), an IOTLB one (its probes open them). */
  readonly deviceLevel: boolean;
  readonly iotlb: boolean;
  /** wantBits of the scope. */
  readonly want: number;
  /**
   * Pages of the scope's range probed on each device: 1 (first = last), 2, or 0 when the scope has
   * no range (the oracle then probes the device's recent addresses).
   */
  readonly pages: 0 | 1 | 2;
  /** pageBounds of the range, and their page numbers (0 when `pages` is 0). */
  readonly first: bigint;
  readonly last: bigint;
  readonly firstPage: number;
  readonly lastPage: number;
}

/**
 * The plan of `s` by the plain rules above: `null` when nothing it covers is attached. `sidSlot`
 * and `deviceSlot` number SIDs and device keys (ProbePlans'; by default all 0).
 */
export function planOf(
  s: Scope,
  topology: Topology,
  arch: 'smmuv3' | 'vtd',
  sidSlot: (sid: number) => number = () => 0,
  deviceSlot: (key: number) => number = () => 0,
): ProbePlan | null {
  const pasid = probePasid(s, arch);
  if (pasid === null) return null;
  const devices = devicesInScope(s, topology, arch);
  let first = 0n;
  let last = 0n;
  let pages: 0 | 1 | 2 = 0;
  if (s.range !== undefined) {
    const b: bigint[] = [0n, 0n];
    pageBounds(s.range, b);
    first = b[0]!;
    last = b[1]!;
    pages = first === last ? 1 : 2;
  }
  const keys = devices.map((d) => deviceKey(d.sid, pasid));
  return {
    pasid,
    devices,
    keys,
    slots: keys.map(deviceSlot),
    sidSlots: devices.map((d) => sidSlot(d.sid)),
    deviceLevel: s.cache === 'atc' || s.cache === 'devtlb',
    iotlb: s.cache === 'iotlb',
    want: wantBits(s),
    pages,
    first,
    last,
    firstPage: pages === 0 ? 0 : pageOf(first),
    lastPage: pages === 0 ? 0 : pageOf(last),
  };
}

/** Scopes `of` answers from its last answers before the WeakMap. */
const RECENT_PLANS = 4;

/**
 * The plans of one guest queue's scopes, kept per scope object (a WeakMap: a scope no decoded
 * command holds any more takes its plan with it). One per guest queue, shared by its oracles.
 */
export class ProbePlans {
  private readonly plans = new WeakMap<Scope, ProbePlan | null>();
  /**
   * The last RECENT_PLANS scopes asked about and their plans, by identity, the newest at
   * `recentAt`: the oracles of a queue ask about the same commands one after another (bare
   * hardware's for a doorbell, then each policy's run for the same doorbell), so most questions
   * are answered here, with no WeakMap look-up (a builtin call and a hash of the scope).
   */
  private readonly recentScopes: (Scope | undefined)[] = new Array<Scope | undefined>(RECENT_PLANS).fill(undefined);
  private readonly recentPlans: (ProbePlan | null)[] = new Array<ProbePlan | null>(RECENT_PLANS).fill(null);
  private recentAt = 0;
  /** The topology's distinct SIDs, numbered 0.. in topology order: per-device state in arrays. */
  private readonly sids = new Map<number, number>();
  private readonly slotOfSid = (sid: number): number => this.sids.get(sid)!;
  /** Device keys numbered 0.. as plans first name them (`ProbePlan.slots`). */
  private readonly deviceSlots = new Map<number, number>();
  private readonly slotOfDevice = (key: number): number => {
    let s = this.deviceSlots.get(key);
    if (s === undefined) this.deviceSlots.set(key, (s = this.deviceSlots.size));
    return s;
  };

  constructor(
    readonly topology: Topology,
    readonly arch: 'smmuv3' | 'vtd',
  ) {
    for (const d of topology.devices) if (!this.sids.has(d.sid)) this.sids.set(d.sid, this.sids.size);
  }

  /** How many distinct SIDs the topology has (`sidSlots` are below it). */
  get sidCount(): number {
    return this.sids.size;
  }

  /** How many device keys the plans so far name (`slots` are below it). */
  get deviceSlotCount(): number {
    return this.deviceSlots.size;
  }

  of(s: Scope): ProbePlan | null {
    const scopes = this.recentScopes;
    for (let i = 0; i < RECENT_PLANS; i++) if (scopes[i] === s) return this.recentPlans[i]!;
    let p = this.plans.get(s);
    if (p === undefined) this.plans.set(s, (p = planOf(s, this.topology, this.arch, this.slotOfSid, this.slotOfDevice)));
    const at = (this.recentAt + 1) % RECENT_PLANS;
    this.recentAt = at;
    scopes[at] = s;
    this.recentPlans[at] = p;
    return p;
  }
}
