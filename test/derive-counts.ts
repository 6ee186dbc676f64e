// Expected policy counts derived by hand-written rules from a trace's own per-type counts and its
// topology (issue 12 item 6): no engine, policy, VMM or host code is called. The rules are those
// of DESIGN.md "Mediation policies", spec/vtd.md §5.1–§5.2 and spec/smmuv3.md §5.2, §5.4, written
// out once more here on purpose, so that a change in the replay that moves a count shows up as a
// disagreement with this file instead of silently becoming the new truth.
//
// What is counted per guest command comes from the trace's decoded columns (op, g, did, sid, fm,
// asid, range) as ingest wrote them; per doorbell, which commands it published.

import { readTrace } from '../formats/trace/io.js';
import type { Topology } from '../formats/trace/header.js';

export interface Cmd {
  readonly op: string;
  readonly g?: number;
  readonly did?: number;
  readonly sid?: number;
  readonly fm?: number;
  readonly asid?: number;
  readonly range?: number;
}

export interface TraceFacts {
  /** Every command in queue order, grouped by the doorbell that published it. */
  readonly doorbells: readonly (readonly Cmd[])[];
  readonly acks: number;
  /** Commands per op (the capture's own per-type counts). */
  readonly byOp: Readonly<Record<string, number>>;
}

const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

/**
 * Reads a trace: commands in the order they were written, each doorbell closing a group. (The
 * captures publish every command exactly once and never rewrite a published slot.)
 */
export async function traceFacts(path: string): Promise<TraceFacts> {
  const { table } = await readTrace(path);
  const doorbells: Cmd[][] = [];
  let cur: Cmd[] = [];
  let acks = 0;
  const byOp: Record<string, number> = {};
  for (const proxy of table) {
    const r = proxy as unknown as Record<string, unknown>; // a trace row: columns by name
    const kind = String(r.kind);
    if (kind === 'cmd') {
      const op = String(r.op);
      byOp[op] = (byOp[op] ?? 0) + 1;
      const get = (k: string) => num(r[k]);
      cur.push({ op, g: get('g'), did: get('did'), sid: get('sid'), fm: get('fm'), asid: get('asid'), range: get('range') });
    } else if (kind === 'doorbell') {
      doorbells.push(cur);
      cur = [];
    } else if (kind === 'ack') acks++;
  }
  if (cur.length > 0) throw new Error(`${path}: ${cur.length} commands after the last doorbell (never published)`);
  return { doorbells, acks, byOp };
}

/** The counts a policy's summary reports, as derived. */
export interface Derived {
  traps: number;
  vmm_commands: number;
  ioctls: number;
  host_commands: number;
  host_syncs: number;
  device_invalidations: number;
  direct_commands: number;
  bytes_copied: number;
}

const zero = (): Derived => ({
  traps: 0,
  vmm_commands: 0,
  ioctls: 0,
  host_commands: 0,
  host_syncs: 0,
  device_invalidations: 0,
  direct_commands: 0,
  bytes_copied: 0,
});

// ---- VT-d ----------------------------------------------------------------------------------------

/** A nested HWPT: one per (guest DID, parent hwpt, IOMMU) (replay/vtd/host.ts header, spec §5.4). */
interface VtdObject {
  readonly key: string;
  readonly did: number;
  readonly sids: readonly number[];
  /** ATS devices attached: each gets a device-TLB descriptor with every entry (spec §5.2). */
  readonly ats: number;
}

function vtdObjects(t: Topology): VtdObject[] {
  const m = new Map<string, { did: number; sids: number[]; ats: number }>();
  for (const d of t.devices) {
    const key = `${d.domain}/${d.hwpt}/${d.iommu}`;
    const o = m.get(key) ?? { did: d.domain, sids: [], ats: 0 };
    o.sids.push(d.sid);
    if (d.ats) o.ats++;
    m.set(key, o);
  }
  return [...m].map(([key, o]) => ({ key, ...o }));
}

/** Linux batches a nested flush's descriptors 16 at a time, each batch with its own wait (§4.1). */
const QI_BATCH = 16;

/**
 * The VT-d rules, per policy:
 * - iotlb_inv G=1 (global) → an entry on every nested HWPT; G=2/G=3 → on each nested HWPT of the
 *   DID; p_iotlb_inv → on each of the DID; dev_tlb_inv/p_dev_tlb_inv → on the HWPT holding the SID.
 * - One entry on HWPT o: a P-IOTLB descriptor + one device-TLB descriptor per ATS device of o,
 *   submitted 16 at a time each with a wait (spec §5.2): host_cmd 1 + ats, host_sync
 *   ceil((1 + ats)/16), devtlb_inv ats. 24 bytes copied per entry (iommu_hwpt_vtd_s1_invalidate).
 * - cc_inv (G=1 all devices, G=2 the DID's, G=3 the SID's) and pc_inv (G=3 all, else the DID's)
 *   make the VMM re-attach each device: PASID-cache + IOTLB DSI (+ device-TLB everything for an
 *   ATS device), each its own qi_submit_sync (pasid.c flush on the host).
 * - iec_inv stays in the VMM; inv_wait is a completion point.
 * - per-command: one ioctl per (command, HWPT). devtlb-nop: device-TLB descriptors are no-ops.
 * - hw-direct: iotlb/p_iotlb/dev_tlb/p_dev_tlb/inv_wait run on the hardware queue; a global IOTLB
 *   invalidation becomes one DSI per nested HWPT; a wait one per unit; any other descriptor traps
 *   its doorbell (one trap per such doorbell) and takes the per-command path.
 */
export function deriveVtd(f: TraceFacts, t: Topology): Record<string, Derived> {
  const objs = vtdObjects(t);
  const targets = (c: Cmd): VtdObject[] => {
    switch (c.op) {
      case 'iotlb_inv':
        return c.g === 1 ? objs : objs.filter((o) => o.did === c.did);
      case 'p_iotlb_inv':
        return objs.filter((o) => o.did === c.did);
      case 'dev_tlb_inv':
      case 'p_dev_tlb_inv':
        return objs.filter((o) => o.sids.includes(c.sid!));
      default:
        return [];
    }
  };
  const reattached = (c: Cmd) => {
    if (c.op === 'cc_inv') {
      if (c.fm !== undefined && c.fm !== 0) throw new Error('derive: cc_inv with a function mask is not in the captures');
      return t.devices.filter((d) => (c.g === 1 ? true : c.g === 2 ? d.domain === c.did : d.sid === c.sid));
    }
    if (c.op === 'pc_inv') return t.devices.filter((d) => (c.g === 3 ? true : d.domain === c.did));
    return [];
  };
  const isDevtlb = (op: string) => op === 'dev_tlb_inv' || op === 'p_dev_tlb_inv';
  const forwarded = (op: string) => op === 'iotlb_inv' || op === 'p_iotlb_inv' || isDevtlb(op);

  /** Host work of one entry on `o`, and of the VMM-owned command `c`. */
  const entry = (d: Derived, o: VtdObject) => {
    d.host_commands += 1 + o.ats;
    d.host_syncs += Math.ceil((1 + o.ats) / QI_BATCH);
    d.device_invalidations += o.ats;
    d.bytes_copied += 24;
  };
  const vmmOwned = (d: Derived, c: Cmd) => {
    for (const dev of reattached(c)) {
      const n = dev.ats ? 3 : 2;
      d.host_commands += n;
      d.host_syncs += n;
      if (dev.ats) d.device_invalidations++;
    }
  };
  /** The trapped per-command walk over one command (devtlb: forward or no-op). */
  const perCommand = (d: Derived, c: Cmd, devtlb: 'forward' | 'nop') => {
    d.vmm_commands++;
    if (forwarded(c.op)) {
      if (isDevtlb(c.op) && devtlb === 'nop') return;
      const ts = targets(c);
      d.ioctls += ts.length;
      for (const o of ts) entry(d, o);
    } else vmmOwned(d, c);
  };

  const out: Record<string, Derived> = {};
  const trapped = (devtlb: 'forward' | 'nop') => {
    const d = zero();
    d.traps = f.doorbells.length + f.acks;
    for (const db of f.doorbells) for (const c of db) perCommand(d, c, devtlb);
    return d;
  };
  out['per-command'] = trapped('forward');
  out['devtlb-nop'] = trapped('nop');

  const direct = zero();
  const DIRECT = new Set(['iotlb_inv', 'p_iotlb_inv', 'dev_tlb_inv', 'p_dev_tlb_inv', 'inv_wait']);
  for (const db of f.doorbells) {
    if (db.some((c) => !DIRECT.has(c.op))) direct.traps++;
    for (const c of db) {
      if (!DIRECT.has(c.op)) {
        perCommand(direct, c, 'forward');
        continue;
      }
      if (c.op === 'inv_wait') {
        direct.direct_commands += t.iommus.length;
        direct.host_syncs += t.iommus.length;
      } else {
        const n = targets(c).length;
        direct.direct_commands += n;
        if (isDevtlb(c.op)) direct.device_invalidations += n;
      }
    }
  }
  out['hw-direct'] = direct;
  return out;
}

// ---- SMMUv3 --------------------------------------------------------------------------------------

/**
 * The SMMUv3 rules (one vIOMMU per physical SMMU the VM spans, spec §5.1):
 * - TLBI_NH_VA/NH_ASID → the vIOMMUs holding a device of that ASID (all when none does);
 *   NH_VAA/NH_ALL/NSNH_ALL → every vIOMMU; CFGI_CD/CFGI_CD_ALL/ATC_INV → the one holding the SID.
 * - An entry becomes one command on the physical queue; an ioctl of n entries adds ceil(n/63)
 *   CMD_SYNCs (blocks of CMDQ_BATCH_ENTRIES − 1, §5.2 item 4). 16 bytes copied per entry.
 * - CFGI_STE of a known SID re-installs that device's nested STE (CFGI_STE + SYNC on the host);
 *   CFGI_STE_RANGE with RANGE = 31 every device. PREFETCH_* stays in the VMM. CMD_SYNC is a
 *   completion point.
 * - hw-direct (a Tegra241 VCMDQ, §5.4): NH_ASID, NH_VA, ATC_INV and CMD_SYNC go to hardware, one
 *   per SMMU the VM spans (ATC_INV: the device's SMMU), each CMD_SYNC a physical sync; any other
 *   command traps its doorbell and takes the per-command path.
 */
export function deriveSmmuv3(f: TraceFacts, t: Topology): Record<string, Derived> {
  const spanned = t.iommus.filter((m) => t.devices.some((d) => d.iommu === m.id)).map((m) => m.id);
  const ofAsid = (asid: number) => {
    const s = spanned.filter((id) => t.devices.some((d) => d.iommu === id && d.domain === asid));
    return s.length > 0 ? s : spanned;
  };
  const ofSid = (sid: number) => spanned.filter((id) => t.devices.some((d) => d.iommu === id && d.sid === sid));
  const targets = (c: Cmd): number[] => {
    switch (c.op) {
      case 'CMD_TLBI_NH_VA':
      case 'CMD_TLBI_NH_ASID':
        return ofAsid(c.asid!);
      case 'CMD_TLBI_NH_VAA':
      case 'CMD_TLBI_NH_ALL':
      case 'CMD_TLBI_NSNH_ALL':
        return spanned;
      case 'CMD_CFGI_CD':
      case 'CMD_CFGI_CD_ALL':
      case 'CMD_ATC_INV':
        return ofSid(c.sid!);
      default:
        return [];
    }
  };
  const FORWARDED = new Set([
    'CMD_TLBI_NH_VA',
    'CMD_TLBI_NH_ASID',
    'CMD_TLBI_NH_VAA',
    'CMD_TLBI_NH_ALL',
    'CMD_TLBI_NSNH_ALL',
    'CMD_CFGI_CD',
    'CMD_CFGI_CD_ALL',
    'CMD_ATC_INV',
  ]);
  const reinstalled = (c: Cmd): number => {
    if (c.op === 'CMD_CFGI_STE') return t.devices.some((d) => d.sid === c.sid) ? 1 : 0;
    if (c.op === 'CMD_CFGI_STE_RANGE') {
      if (c.range !== 31) throw new Error('derive: only CFGI_STE_RANGE with RANGE 31 is in the captures');
      return t.devices.length;
    }
    return 0;
  };
  const perCommand = (d: Derived, c: Cmd) => {
    d.vmm_commands++;
    if (FORWARDED.has(c.op)) {
      const n = targets(c).length; // one ioctl of one entry per vIOMMU
      d.ioctls += n;
      d.host_commands += n;
      d.host_syncs += n;
      d.bytes_copied += 16 * n;
      if (c.op === 'CMD_ATC_INV') d.device_invalidations += n;
    } else {
      const r = reinstalled(c);
      d.host_commands += r;
      d.host_syncs += r;
    }
  };
  const out: Record<string, Derived> = {};
  const pc = zero();
  pc.traps = f.doorbells.length + f.acks;
  for (const db of f.doorbells) for (const c of db) perCommand(pc, c);
  out['per-command'] = pc;
  // devtlb-nop on SMMUv3: ATC_INV dropped, ATC_INVs added for the ATS devices of the domain. With
  // no ATC_INV and no ATS device in the trace it is per-command.
  if ((f.byOp['CMD_ATC_INV'] ?? 0) === 0 && !t.devices.some((d) => d.ats)) out['devtlb-nop'] = { ...pc };

  const direct = zero();
  const DIRECT = new Set(['CMD_TLBI_NH_ASID', 'CMD_TLBI_NH_VA', 'CMD_ATC_INV', 'CMD_SYNC']);
  for (const db of f.doorbells) {
    if (db.some((c) => !DIRECT.has(c.op))) direct.traps++;
    for (const c of db) {
      if (!DIRECT.has(c.op)) {
        perCommand(direct, c);
        continue;
      }
      const n = c.op === 'CMD_ATC_INV' ? ofSid(c.sid!).length : spanned.length;
      direct.direct_commands += n;
      if (c.op === 'CMD_SYNC') direct.host_syncs += n;
      if (c.op === 'CMD_ATC_INV') direct.device_invalidations += n;
    }
  }
  out['hw-direct'] = direct;
  return out;
}

/**
 * Batched policies (linear-batch, its variants, raw-ring): one ioctl per doorbell segment and
 * vIOMMU/HWPT, where a segment ends at each VMM-owned command and completion point (in order) or
 * spans the doorbell (prepass). When no doorbell publishes more than one forwarded invalidation,
 * every segment holds at most one, so each ioctl carries exactly one entry and every count equals
 * per-command's. Returns that maximum.
 */
export function maxForwardedPerDoorbell(f: TraceFacts, forwarded: (op: string) => boolean): number {
  return Math.max(0, ...f.doorbells.map((db) => db.filter((c) => forwarded(c.op)).length));
}
