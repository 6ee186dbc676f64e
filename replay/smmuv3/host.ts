// The Linux host behind a VM with an SMMUv3 vIOMMU (spec/smmuv3.md §5): one physical SMMU
// emulator per topology IOMMU, each with its own command queue in its own memory and its own
// VMID for the VM's stage 2; the devices behind it installed as nested STEs (guest CD → the
// device's guest ASID, stage 2 → that SMMU's VMID); one vIOMMU object per physical SMMU the VM
// spans, or (viommu=shared, vmm/arrangement.ts) one vIOMMU holding a VMID per physical SMMU;
// IOMMU_HWPT_INVALIDATE exactly as iommufd and arm_vsmmu_cache_invalidate process it (§5.2); the
// VMM's nested-STE installs; and a Tegra241-CMDQV-like direct queue (§5.4).
//
// A shared vIOMMU is not in 6.18: the model is arm_vsmmu_cache_invalidate run once per physical
// SMMU the vIOMMU spans, block by block — each TLBI converted with that SMMU's VMID and issued to
// every one (the kernel cannot tell which guest ASIDs live behind which SMMU), each SID-scoped
// command to the SMMU whose vDEVICE table holds the vSID (EIO when none does); every 63 user
// entries, each SMMU that got commands issues them + a CMD_SYNC, one after the other.
//
// iommufd object ids: 1 is the IOAS; then, per spanned SMMU, its nesting-parent (stage-2) HWPT
// and its vIOMMU (shared: the parents, then the one vIOMMU); then, per device, its vDEVICE and
// nested HWPT. Only vIOMMUs are listed in
// `objects` (the ids a VMM invalidates on); the other ids exist so that invalidating on them
// gives the kernel's errno (nested HWPT: EOPNOTSUPP, others: EINVAL).

import type { FetchShare } from '../prepared-fetch.js';
import { SMMUV3 } from '../../formats/codecs.js';
import { rowOf } from '../../formats/codec/table.js';
import { SMMUV3_OPS, type Smmuv3OpName } from '../../formats/smmuv3/commands.js';
import type { DeviceSpec, Topology } from '../../formats/trace/header.js';
import type {
  DirectResult,
  Errno,
  HostModel,
  HostOp,
  HostObject,
  HostOpSink,
  HwptInvalidate,
  HwptInvalidateResult,
  RequestMemo,
  Smmuv3InvEntry,
  VtdInvEntry,
} from '../host.js';
import { objectAt } from '../host.js';
import type { CacheHits, EventSink, Translation } from '../unit.js';
import { cmd, type Words } from './encode.js';
import { atcDetailOf, hostCommand, PhysicalQueue, type HostCommand } from './driver.js';
import { QueueContext, type Smmuv3 } from './emulator.js';
import { SidTable } from '../sid-table.js';
import { WordsTable } from '../decoded-table.js';
import type { Prepared } from './prepared.js';
import type { PageTableModel } from './tables.js';
import type { Arrangement } from '../vmm/arrangement.js';

/** IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 (spec/smmuv3.md §5.1). */
export const DATA_ARM_SMMUV3 = 1;
/** sizeof(struct iommu_viommu_arm_smmuv3_invalidate). */
export const ENTRY_LEN = 16;
/** arm_vsmmu_cache_invalidate issues blocks of CMDQ_BATCH_ENTRIES − 1 commands + a CMD_SYNC (§5.2 item 4). */
export const BLOCK = 63;

export interface Smmuv3HostOptions {
  /** LOG2SIZE of each physical CMDQ (default 8: 256 entries; Linux needs more than 64). */
  readonly queueLog2?: number;
  readonly pageTables?: PageTableModel;
  /** One vIOMMU per physical SMMU (default) or one holding a VMID per physical SMMU. */
  readonly arrangement?: Arrangement;
  /** Fetch tables shared with the other units of one replay (prepared-fetch.ts; smmuv3/index.ts picks it). */
  readonly fetchShare?: FetchShare;
}

type ObjKind = 'ioas' | 'hwpt_paging' | 'viommu' | 'vdevice' | 'nested_hwpt';

/** The opcodes the host's conversion and the VCMDQ take, from the command table. */
const code = (name: Smmuv3OpName): number => rowOf(SMMUV3_OPS, name).code;
const OP = {
  TLBI_NH_ALL: code('CMD_TLBI_NH_ALL'),
  TLBI_NH_ASID: code('CMD_TLBI_NH_ASID'),
  TLBI_NH_VA: code('CMD_TLBI_NH_VA'),
  TLBI_NH_VAA: code('CMD_TLBI_NH_VAA'),
  TLBI_NSNH_ALL: code('CMD_TLBI_NSNH_ALL'),
  ATC_INV: code('CMD_ATC_INV'),
  CFGI_CD: code('CMD_CFGI_CD'),
  CFGI_CD_ALL: code('CMD_CFGI_CD_ALL'),
  CMD_SYNC: code('CMD_SYNC'),
} as const;
const VMID_MASK = 0xffffn << 32n;
const SID_MASK = 0xffff_ffffn << 32n;
const NH_ALL = BigInt(OP.TLBI_NH_ALL);

const opName = (w: Words) => SMMUV3.lookup(Number(w[0] & 0xffn))?.def.name ?? `UNKNOWN_0x${(w[0] & 0xffn).toString(16)}`;

/** One user entry as copy_struct_from_user reads it with `len` bytes per entry (§5.2 item 2). */
function readEntry(e: Smmuv3InvEntry, len: number): Words | 'E2BIG' {
  if (len === 16) return e.length === 2 ? (e as Words) : [e[0], e[1]]; // the usual size: read as it is
  const keep = (w: bigint, bytes: number) => (bytes >= 8 ? w : w & ((1n << BigInt(8 * Math.max(0, bytes))) - 1n));
  if (len <= 16) return [keep(e[0], len), keep(e[1], len - 8)]; // shorter: zero-extended
  // Longer: the bytes past the 16 the kernel knows must be zero.
  for (let b = 16; b < len; b++) if (((e[b >> 3] ?? 0n) >> BigInt(8 * (b & 7))) & 0xffn) return 'E2BIG';
  return [e[0], e[1]];
}

/** What a vIOMMU holds for one physical SMMU. */
interface ViommuPart {
  readonly unit: number;
  readonly vmid: number;
  /** vDEVICE table: virtual (guest) SID → physical SID. */
  readonly vsids: ReadonlyMap<number, number>;
  /** The VMID as it sits in a command (bits 32+), and each pSID likewise: made once, not per command. */
  readonly vmidBits: bigint;
  readonly psidBits: ReadonlyMap<number, bigint>;
}

/** A user entry converted for each part of a vIOMMU (undefined: none goes there), or null: EIO. */
type Conversion = readonly (HostCommand | undefined)[] | null;

interface Viommu {
  readonly id: number;
  /** The topology id of its first part's SMMU: the IOMMU its ioctls are charged to. */
  readonly iommu: number;
  /** Its ioctls' host ops by entry count (ioctlOp), made once each. */
  readonly ioctlOps: HostOp[];
  /** One part per physical SMMU it spans (per-iommu: exactly one). */
  readonly parts: readonly ViommuPart[];
  /**
   * Each user entry's conversion, kept per entry array: the VMM hands the same array for every
   * write of the same guest command (vmm/memo.ts), and a conversion depends only on the entry's
   * words and the vIOMMU's fixed parts. Nobody changes a converted command (issue copies it).
   * Found by the entry's command key (HwptInvalidate.entryKeys), not a WeakMap hash per entry.
   */
  readonly converted: WordsTable<Conversion>;
  /** `conversion` for this vIOMMU (made once: no closure per entry). */
  readonly convert: (w: readonly bigint[]) => Conversion;
}

/**
 * What the host keeps in an unchanging request's memo (HwptInvalidate.memo): the vIOMMU it named,
 * its entry count, and the converted commands of its one block per part of that vIOMMU.
 */
interface KeptIoctl {
  /** The host that kept it (a request names an object of one host). */
  readonly host: Smmuv3Host;
  readonly v: Viommu;
  readonly n: number;
  /** The ioctl's host op and a successful call's answer, made once. */
  readonly ioctlOp: HostOp;
  readonly handled: HwptInvalidateResult;
  readonly blocks: readonly (readonly HostCommand[])[];
}

/** A request's memo after its first call (keep): the blocks are kept at the second. */
const SEEN = Object.freeze({ seen: true });

/** The direct queue's answers that carry nothing of their own (shared: a reader only reads them). */
const ACCEPTED: DirectResult = Object.freeze({ accepted: true });
const NOT_ACCEPTED: DirectResult = Object.freeze({ accepted: false });

/** What the direct queue does with one command (Smmuv3Host.directPlan). */
interface DirectPlan {
  /** The answer when nothing runs: not accepted, or refused. */
  readonly result: DirectResult | undefined;
  /** Each physical SMMU it runs on: its converted command and its host ops, made once. */
  readonly targets: readonly {
    readonly unit: number;
    readonly iommu: number;
    readonly c: Words;
    /** `c` prepared by that SMMU (Smmuv3.prepareSecondary), made once with the plan. */
    readonly prepared: Prepared;
    readonly op: HostOp;
    readonly syncOp: HostOp;
    /** An ATC_INV's devtlb_inv op as the device answers or times out (made once: atcSilent picks one per command). */
    readonly psid: number;
    readonly devtlbOp: HostOp | undefined;
    readonly devtlbSilentOp: HostOp | undefined;
  }[];
  readonly sync: boolean;
  readonly atc: boolean;
}

/** What arm_vsmmu_convert_user_cmd makes of user entry `w` for each part of `v` (§5.2 item 3). */
function conversion(v: Viommu, w: Words): Conversion {
  const out: (HostCommand | undefined)[] = new Array<HostCommand | undefined>(v.parts.length).fill(undefined);
  const op = Number(w[0] & 0xffn);
  switch (op) {
    case OP.TLBI_NSNH_ALL:
      for (let k = 0; k < v.parts.length; k++) out[k] = hostCommand([NH_ALL | v.parts[k]!.vmidBits, 0n]);
      return out;
    case OP.TLBI_NH_VA:
    case OP.TLBI_NH_VAA:
    case OP.TLBI_NH_ALL:
    case OP.TLBI_NH_ASID: {
      const w0 = w[0] & ~VMID_MASK;
      for (let k = 0; k < v.parts.length; k++) out[k] = hostCommand([w0 | v.parts[k]!.vmidBits, w[1]]);
      return out;
    }
    case OP.ATC_INV:
    case OP.CFGI_CD:
    case OP.CFGI_CD_ALL: {
      // The first part whose vDEVICE table holds the vSID takes it.
      const vsid = Number(w[0] >> 32n);
      for (let k = 0; k < v.parts.length; k++) {
        const psid = v.parts[k]!.psidBits.get(vsid);
        if (psid === undefined) continue;
        out[k] = hostCommand([(w[0] & ~SID_MASK) | psid, w[1]]);
        return out;
      }
      return null;
    }
    default:
      return null;
  }
}

export class Smmuv3Host implements HostModel {
  readonly arch = 'smmuv3' as const;
  readonly units: readonly Smmuv3[];
  readonly objects: readonly HostObject[];
  private readonly queues: readonly PhysicalQueue[];
  /**
   * Each object's kind and each vIOMMU, by object id (ids are small and dense, from 1): an ioctl
   * finds its object by an element load, not a Map look-up per call.
   */
  private readonly kinds: (ObjKind | undefined)[] = [];
  private readonly viommus: (Viommu | undefined)[] = [];
  /** ioctlOp's ops for an object that is no vIOMMU (charged to IOMMU −1), by entry count. */
  private readonly strayIoctlOps: HostOp[] = [];
  /** parts(iommu) by its argument. */
  private readonly partsOf = new Map<number | undefined, readonly ViommuPart[]>();
  private readonly devices = new Map<number, DeviceSpec>();
  private readonly unitOf = new Map<number, number>(); // topology IOMMU id → index
  /** Each guest SID's physical SMMU and pSID: the oracle's probes, one lookup each. */
  private readonly routes = new SidTable<{ readonly unit: Smmuv3; readonly psid: number }>();
  /** The direct (VCMDQ-like) queue of each physical SMMU: its own CMD_SYNC bookkeeping. */
  private readonly vcmdq: readonly QueueContext[];
  /** Scratch of vsmmuInvalidate: the copied user entries and the per-part blocks, reused per ioctl. */
  private readonly cmds: Words[] = [];
  private readonly blocks: HostCommand[][];
  private readonly blockFill: Int32Array;
  /**
   * directPlan's plans, by the VCMDQ's IOMMU (-1: the VM's whole direct queue; a list searched in
   * order, one entry per queue a policy drives, not a Map look-up per command), then by words array
   * (found by its command's key).
   */
  private readonly directPlans: {
    readonly iommu: number;
    readonly plans: WordsTable<DirectPlan>;
    readonly plan: (words: readonly bigint[]) => DirectPlan;
  }[] = [];
  /** handled's answers, by entry count. */
  private readonly handledAll: HwptInvalidateResult[] = [];
  /** Ids of the nested HWPTs, per guest SID (invalidating on them is EOPNOTSUPP). */
  readonly nestedHwpts: ReadonlyMap<number, number>;

  constructor(
    readonly topology: Topology,
    private readonly ops: HostOpSink,
    events?: EventSink,
    opts: Smmuv3HostOptions = {},
  ) {
    topology.iommus.forEach((m, i) => this.unitOf.set(m.id, i));
    this.queues = topology.iommus.map(
      (m) =>
        new PhysicalQueue(m.id, ops, opts.queueLog2 ?? 8, {
          ...(events ? { events } : {}),
          ...(opts.pageTables ? { pageTables: opts.pageTables } : {}),
          ...(opts.fetchShare ? { fetchShare: opts.fetchShare } : {}),
        }),
    );
    this.units = this.queues.map((q) => q.unit);
    this.vcmdq = this.queues.map(() => new QueueContext());
    this.blocks = this.queues.map(() => []); // a vIOMMU has at most one part per physical SMMU
    this.blockFill = new Int32Array(this.queues.length);
    let next = 1;
    this.kinds[next++] = 'ioas';
    const objects: HostObject[] = [];
    const parts: ViommuPart[] = [];
    const addViommu = (ps: readonly ViommuPart[]) => {
      const id = next++;
      this.kinds[id] = 'viommu';
      const spans = ps.map((p) => topology.iommus[p.unit]!.id);
      const v: Viommu = {
        id,
        iommu: spans[0]!,
        ioctlOps: [],
        parts: ps,
        converted: new WordsTable(),
        convert: (w) => conversion(v, w as Words),
      };
      this.viommus[id] = v;
      objects.push({
        id,
        kind: 'viommu',
        iommu: spans[0]!,
        devices: ps.flatMap((p) => [...p.vsids.keys()]),
        ...(ps.length > 1 ? { spans } : {}),
      });
    };
    topology.iommus.forEach((m, i) => {
      const devs = topology.devices.filter((d) => d.iommu === m.id);
      if (devs.length === 0) return; // the VM does not span this SMMU
      this.kinds[next++] = 'hwpt_paging';
      const part: ViommuPart = {
        unit: i,
        vmid: m.vmid,
        vsids: new Map(devs.map((d) => [d.sid, d.psid])),
        vmidBits: BigInt(m.vmid) << 32n,
        psidBits: new Map(devs.map((d) => [d.sid, BigInt(d.psid) << 32n])),
      };
      if (opts.arrangement === 'shared') parts.push(part);
      else addViommu([part]);
    });
    if (parts.length > 0) addViommu(parts);
    const nested = new Map<number, number>();
    for (const d of topology.devices) {
      this.devices.set(d.sid, d);
      this.routes.set(d.sid, { unit: this.units[this.unitIndex(d)]!, psid: d.psid });
      this.kinds[next++] = 'vdevice';
      nested.set(d.sid, next);
      this.kinds[next++] = 'nested_hwpt';
      this.install(d);
    }
    this.objects = objects;
    this.nestedHwpts = nested;
  }

  private unitIndex(d: DeviceSpec): number {
    return this.unitOf.get(d.iommu)!;
  }

  /** The nested STE of a device: the guest's CD (its ASID) over this SMMU's stage 2 (VMID). */
  private install(d: DeviceSpec): void {
    const m = this.topology.iommus[this.unitIndex(d)]!;
    this.units[this.unitIndex(d)]!.setSte(d.psid, { cds: { 0: d.domain }, s2: true, vmid: m.vmid, ats: d.ats });
  }

  // ---- IOMMU_HWPT_INVALIDATE (spec/smmuv3.md §5.2) -------------------------------------------

  invalidate(req: HwptInvalidate<Smmuv3InvEntry | VtdInvEntry>): HwptInvalidateResult {
    const m = req.memo;
    if (m !== undefined) {
      // Kept by this host: the request's id, and so its vIOMMU and ioctl op, are those it was kept with.
      const kept = m.value as KeptIoctl | undefined;
      if (kept !== undefined && kept.host === this) {
        this.ops(kept.ioctlOp);
        return this.issueKept(kept);
      }
    }
    const v = objectAt(this.viommus, req.id);
    this.ops(this.ioctlOp(v, req.entryNum, req.entryLen));
    const r = this.hwptInvalidate(req, v);
    return typeof r === 'string' ? { errno: r, entryNum: 0 } : r;
  }

  /**
   * A kept request's blocks issued again, as vsmmuInvalidate would issue them: the request's
   * entries, id and size never change (HwptInvalidate.memo), so neither do the checks, the copy and
   * the conversion that led to them (all passed; one block of at most BLOCK entries).
   */
  private issueKept(kept: KeptIoctl): HwptInvalidateResult {
    const parts = kept.v.parts;
    for (let k = 0; k < parts.length; k++) {
      const b = kept.blocks[k]!;
      if (b.length === 0) continue;
      // A failed block counts up to its last command (§5.2 item 5).
      if (this.queues[parts[k]!.unit]!.issue(b, opName, b.length) !== 0) return { errno: 'ETIMEDOUT', entryNum: kept.n - 1 };
    }
    return kept.handled;
  }

  /**
   * The ioctl's host op, charged to vIOMMU `v`'s first SMMU (−1 for another object); those of the
   * usual entry size are made once per (vIOMMU, entry count): a sink reads an op and keeps no
   * identity (host.ts HostOp).
   */
  private ioctlOp(v: Viommu | undefined, entryNum: number, entryLen: number): HostOp {
    const iommu = v === undefined ? -1 : v.iommu;
    const usual = entryLen === ENTRY_LEN && Number.isInteger(entryNum) && entryNum >= 0 && entryNum <= BLOCK * 64;
    const byCount = !usual ? undefined : v === undefined ? this.strayIoctlOps : v.ioctlOps;
    let op = byCount?.[entryNum];
    if (op === undefined) {
      op = { kind: 'ioctl', iommu, entries: entryNum, bytes: entryNum * entryLen, detail: 'IOMMU_HWPT_INVALIDATE' };
      if (byCount !== undefined) byCount[entryNum] = op;
    }
    return op;
  }

  /** iommufd core (§5.2 item 1): a bare errno here means entry_num 0. `v`: the vIOMMU `req.id` names, if any. */
  private hwptInvalidate(req: HwptInvalidate<Smmuv3InvEntry | VtdInvEntry>, v: Viommu | undefined): HwptInvalidateResult | Errno {
    if ((req.reserved ?? 0) !== 0) return 'EOPNOTSUPP';
    if (req.entryNum > 0 && (req.entries === null || req.entryLen === 0)) return 'EINVAL';
    const kind = objectAt(this.kinds, req.id);
    if (kind === undefined) return 'ENOENT';
    if (kind === 'nested_hwpt') return 'EOPNOTSUPP'; // the SMMUv3 nested HWPT has no cache_invalidate_user (§5.1)
    if (kind !== 'viommu') return 'EINVAL';
    return this.vsmmuInvalidate(v!, req);
  }

  /** arm_vsmmu_cache_invalidate (§5.2 items 2–5). */
  private vsmmuInvalidate(v: Viommu, req: HwptInvalidate<Smmuv3InvEntry | VtdInvEntry>): HwptInvalidateResult | Errno {
    // iommu_copy_struct_from_full_user_array: the whole array is copied before anything else.
    if (req.dataType !== DATA_ARM_SMMUV3) return 'EINVAL';
    if (req.entryNum === 0) return 'EINVAL'; // the SMMUv3 driver does not take an empty probe array
    const user = req.entries!;
    const cmds = this.cmds; // cmds[0..entryNum−1]: this call's (the array is reused, never shortened)
    for (let i = 0; i < req.entryNum; i++) {
      const e = user[i];
      if (e === undefined) return 'EFAULT'; // past the end of the user buffer
      if (!Array.isArray(e)) throw new Error('SMMUv3 host: a VT-d entry in an SMMUv3 invalidation');
      const w = readEntry(e as Smmuv3InvEntry, req.entryLen);
      if (w === 'E2BIG') return 'E2BIG';
      cmds[i] = w;
    }
    const n = req.entryNum;
    // Convert each entry for the SMMU(s) it goes to; every 63 entries (or at the end) each SMMU
    // that got commands issues them + a CMD_SYNC, in the order of the vIOMMU's parts. The blocks
    // are this host's scratch arrays (issue copies the commands into the physical queue).
    const block = this.blocks;
    const fill = this.blockFill;
    for (let k = 0; k < v.parts.length; k++) fill[k] = 0; // this vIOMMU's parts: a loop, not the fill() builtin (a C++ call) per ioctl
    let last = 0;
    let cur = 0;
    let errno: Errno | 0 = 0;
    const keys = req.entryKeys;
    while (cur !== n) {
      if (!this.convert(v, cmds[cur]!, keys === undefined || req.entryLen !== ENTRY_LEN ? -1 : keys[cur]!, block, fill)) {
        errno = 'EIO'; // entries last..cur−1 were converted but never sent, yet are counted (§5.2 item 5)
        break;
      }
      cur++;
      if (cur !== n && cur - last !== BLOCK) continue;
      // One block that converted whole: a request that never changes keeps its blocks (issueKept).
      if (last === 0 && cur === n && req.memo !== undefined) this.keep(req.memo, v, n, req.entryLen);
      let failed = false;
      for (let k = 0; k < v.parts.length && !failed; k++) {
        if (fill[k] === 0) continue;
        failed = this.queues[v.parts[k]!.unit]!.issue(block[k]!, opName, fill[k]) !== 0;
        fill[k] = 0;
      }
      if (failed) {
        cur--; // a failed block counts up to its last command (§5.2 item 5)
        errno = 'ETIMEDOUT';
        break;
      }
      last = cur;
    }
    return errno === 0 ? this.handled(cur) : { errno, entryNum: cur };
  }

  /**
   * Keeps this call's blocks (the scratch arrays, copied) in `memo` for vIOMMU `v`: on the
   * request's second call, so that a request made for one call only costs no copy.
   */
  private keep(memo: RequestMemo, v: Viommu, n: number, entryLen: number): void {
    if (memo.value !== SEEN) {
      memo.value = SEEN;
      return;
    }
    const blocks: HostCommand[][] = [];
    for (let k = 0; k < v.parts.length; k++) blocks.push(this.blocks[k]!.slice(0, this.blockFill[k]));
    memo.value = { host: this, v, n, ioctlOp: this.ioctlOp(v, n, entryLen), handled: this.handled(n), blocks } satisfies KeptIoctl;
  }

  /** A successful ioctl's answer for `n` entries, made once per count (a caller only reads it). */
  private handled(n: number): HwptInvalidateResult {
    return (this.handledAll[n] ??= Object.freeze({ errno: 0, entryNum: n }));
  }

  /**
   * arm_vsmmu_convert_user_cmd: VMID forced, vSID → pSID; anything else is EIO (§5.2 item 3).
   * Appends the converted command to the block of each part (index into v.parts) it goes to
   * (block[k][fill[k]++]); false: EIO. Each entry array is converted once (Viommu.converted, by
   * `key`: its command's).
   */
  private convert(v: Viommu, w: Words, key: number, block: HostCommand[][], fill: Int32Array): boolean {
    const c = v.converted.of(w, key, v.convert);
    if (c === null) return false;
    for (let k = 0; k < c.length; k++) {
      const x = c[k];
      if (x !== undefined) block[k]![fill[k]!++] = x;
    }
    return true;
  }

  // ---- What the VMM does besides invalidating ------------------------------------------------

  reattach(guestSid: number): void {
    const d = this.devices.get(guestSid);
    if (d === undefined) return;
    this.install(d);
    // The host's STE update: CFGI_STE (LEAF=1) + SYNC on the physical queue (§4.2).
    this.queues[this.unitIndex(d)]!.issue([hostCommand(cmd('CMD_CFGI_STE', { SID: d.psid, LEAF: 1 }))], opName);
  }

  /**
   * A Tegra241-CMDQV-like guest queue (§5.4): TLBI_NH_ASID, TLBI_NH_VA, ATC_INV and CMD_SYNC only,
   * with the VINTF's VMID inserted and vSID → pSID done in hardware, executed on the physical
   * SMMUs. A TLBI reaches every SMMU the VM spans; an ATC_INV the one behind its device. With
   * `iommu` the queue is that SMMU's own VCMDQ (one guest queue per physical SMMU): only there.
   */
  direct(words: readonly bigint[], iommu?: number, key = -1): DirectResult {
    const plan = this.directPlan(words, iommu, key);
    if (plan.result !== undefined) return plan.result;
    for (const t of plan.targets) {
      const unit = this.units[t.unit]!;
      this.ops(t.op);
      // The guest's CMD_SYNC is a physical completion point: the hardware waits as for any sync.
      if (plan.sync) this.ops(t.syncOp);
      if (plan.atc) this.ops(unit.atcSilent(t.psid) ? t.devtlbSilentOp! : t.devtlbOp!);
      const err = unit.runPrepared(t.prepared, this.vcmdq[t.unit]!);
      if (err !== undefined) {
        // The device of an ATC time-out as the guest knows it (the VINTF maps pSID back to vSID).
        const guest =
          err.sid === undefined ? undefined : this.topology.devices.find((x) => x.psid === err.sid && this.unitIndex(x) === t.unit)?.sid;
        return {
          accepted: true,
          error: { code: err.code, value: err.value, message: err.message, ...(guest !== undefined ? { sid: guest } : {}) },
        };
      }
    }
    return ACCEPTED;
  }

  /**
   * What the direct queue makes of `words` (with `iommu`: that SMMU's own VCMDQ), worked out once
   * per words array (found by `key`, its command's): the VMM hands the same array for every write of one guest command (its
   * direct form, kept per decoded command by vmm/memo.ts), and the answer depends only on the
   * words and the VM's fixed devices and parts. The device's time-out state is read per command.
   */
  private directPlan(words: readonly bigint[], iommu: number | undefined, key: number): DirectPlan {
    const q = iommu ?? -1;
    const all = this.directPlans;
    let k = 0;
    while (k < all.length && all[k]!.iommu !== q) k++;
    if (k === all.length) all.push({ iommu: q, plans: new WordsTable(), plan: (w) => this.planDirect(w, iommu) });
    const at = all[k]!;
    return at.plans.of(words, key, at.plan);
  }

  private planDirect(words: readonly bigint[], iommu: number | undefined): DirectPlan {
    const w: Words = [words[0] ?? 0n, words[1] ?? 0n];
    const op = Number(w[0] & 0xffn);
    const targets: [number, Words][] = [];
    switch (op) {
      case OP.TLBI_NH_ASID:
      case OP.TLBI_NH_VA:
        for (const p of this.parts(iommu)) targets.push([p.unit, [(w[0] & ~VMID_MASK) | (BigInt(p.vmid) << 32n), w[1]]]);
        break;
      case OP.ATC_INV: {
        const d = this.devices.get(Number(w[0] >> 32n));
        // No device behind that StreamID: nothing to invalidate, and bare hardware completes it too.
        if (d === undefined || (iommu !== undefined && d.iommu !== iommu)) break;
        targets.push([this.unitIndex(d), [(w[0] & ~SID_MASK) | (BigInt(d.psid) << 32n), w[1]]]);
        break;
      }
      case OP.CMD_SYNC:
        // A guest-owned VCMDQ takes CMD_SYNC with CS=NONE only (§5.4); anything else is refused
        // as an illegal command [assumption: the hardware's exact reaction is not in the digest].
        if (((w[0] >> 12n) & 3n) !== 0n)
          return {
            result: { accepted: true, error: { code: 'CERROR_ILL', value: 1, message: 'CMD_SYNC on a VCMDQ must have CS=NONE' } },
            targets: [],
            sync: false,
            atc: false,
          };
        for (const p of this.parts(iommu)) targets.push([p.unit, w]);
        break;
      default:
        return { result: NOT_ACCEPTED, targets: [], sync: false, atc: false };
    }
    return {
      result: undefined,
      sync: op === OP.CMD_SYNC,
      atc: op === OP.ATC_INV,
      targets: targets.map(([unit, c]) => {
        const id = this.topology.iommus[unit]!.id;
        const psid = Number(c[0] >> 32n);
        const atc = op === OP.ATC_INV;
        return {
          unit,
          iommu: id,
          c,
          prepared: this.units[unit]!.prepareSecondary(c),
          op: { kind: 'direct_cmd', iommu: id, detail: opName(c) },
          syncOp: { kind: 'host_sync', iommu: id, detail: 'CMD_SYNC on the direct queue' },
          psid,
          devtlbOp: atc ? { kind: 'devtlb_inv', iommu: id, timedOut: false, detail: atcDetailOf(psid, false) } : undefined,
          devtlbSilentOp: atc ? { kind: 'devtlb_inv', iommu: id, timedOut: true, detail: atcDetailOf(psid, true) } : undefined,
        };
      }),
    };
  }

  /** Every (physical SMMU, VMID) the VM's vIOMMUs hold, in unit order (`iommu`: that SMMU's only). */
  private parts(iommu?: number): readonly ViommuPart[] {
    // The vIOMMUs are made once, in the constructor: each answer is computed once.
    let out = this.partsOf.get(iommu);
    if (out === undefined) {
      const all = this.viommus
        .filter((v) => v !== undefined)
        .flatMap((v) => v.parts)
        .sort((a, b) => a.unit - b.unit);
      out = iommu === undefined ? all : all.filter((p) => this.topology.iommus[p.unit]!.id === iommu);
      this.partsOf.set(iommu, out);
    }
    return out;
  }

  setAtcTimeout(guestSid: number, timedOut: boolean): void {
    const d = this.devices.get(guestSid);
    if (d === undefined) return;
    const u = this.units[this.unitIndex(d)]!;
    u.setAtcTimeout(d.psid, timedOut);
    // The device answers again: the GERROR handler's retry of a stuck SYNC now completes.
    if (!timedOut && u.consumer().error?.code === 'CERROR_ATC_INV_SYNC') u.acknowledge();
  }

  // ---- Device-side probes: through the physical SMMU into the device's ATC --------------------

  translate(guestSid: number, pasid: number | undefined, iova: bigint, page?: number): Translation {
    const r = this.routes.get(guestSid);
    if (r === undefined) return { ok: false, fault: `no device with guest SID 0x${guestSid.toString(16)}` };
    return r.unit.translate(r.psid, pasid, iova, page);
  }

  cached(guestSid: number, pasid: number | undefined, iova: bigint): CacheHits {
    const d = this.devices.get(guestSid);
    if (d === undefined) return { iotlb: false, walk: false, config: false, atc: false };
    return this.units[this.unitIndex(d)]!.cached(d.psid, pasid, iova);
  }

  hits(guestSid: number, pasid: number | undefined, iova: bigint, want?: number, page?: number): number {
    const r = this.routes.get(guestSid);
    return r === undefined ? 0 : r.unit.hits(r.psid, pasid, iova, want, page);
  }
}
