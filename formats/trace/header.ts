// The trace header: architecture, queue geometry, topology and provenance. It travels as JSON in
// the Arrow schema metadata (key `invtrace.header`) and as the first line of a JSONL scenario
// (DESIGN.md "Trace files"). Numbers may be written as hex strings ("0x100") in JSON.

import { isArch } from '../codecs.js';
import type { Arch } from '../codec/table.js';
import { fail, ok, type Result } from '../result.js';

export const HEADER_KEY = 'invtrace.header';
export const FORMAT_VERSION = 1;

/** A device of the VM: its guest StreamID/RID and what stands behind it on the host. */
export interface DeviceSpec {
  /** Guest StreamID (SMMUv3) or source-id / RID (VT-d). */
  readonly sid: number;
  /** Physical StreamID / RID on the host (default: sid). */
  readonly psid: number;
  /** Index of the physical IOMMU the device sits behind (default 0). */
  readonly iommu: number;
  /** ATS enabled: the device has an ATC / device TLB. */
  readonly ats: boolean;
  /** Guest domain: VT-d DID, SMMUv3 ASID (stage 1). */
  readonly domain: number;
  /** Host page table (nested parent HWPT) the device's guest domain is nested on (default 0). */
  readonly hwpt: number;
  readonly name?: string;
}

export interface IommuSpec {
  readonly id: number;
  /** SMMUv3: the VMID the host uses on this physical SMMU for the VM's stage 2. */
  readonly vmid: number;
  readonly name?: string;
}

export interface Topology {
  readonly iommus: readonly IommuSpec[];
  readonly devices: readonly DeviceSpec[];
  /** True when derived from the trace rather than given (a default the user may correct). */
  readonly inferred?: boolean;
}

/** One input a trace was made from. */
export interface SourceInfo {
  readonly file: string;
  readonly format: string;
  readonly side?: 'qemu' | 'guest';
  readonly lines?: number;
  readonly events?: number;
}

/**
 * One guest queue of a trace with several (one vIOMMU instance each: one vSMMU per pSMMU, guest
 * visible). Rows name it in the `queue` column; docs/trace-format.md "Several guest queues".
 */
export interface QueueSpec {
  /** Value of the `queue` column: the queue's index in `queues` (0, 1, ...). */
  readonly id: number;
  /** Entries in this queue. */
  readonly queue_entries: number;
  /** Slot of this queue's first command (JSONL placement); default 0. */
  readonly start?: number;
  /** Guest-physical base of this queue, hex. */
  readonly queue_base?: string;
  /** Guest SIDs/RIDs of the devices behind this vIOMMU instance (each device in one queue). */
  readonly devices: readonly number[];
  /** The physical IOMMU (topology.iommus[].id) this instance fronts, when it fronts exactly one. */
  readonly iommu?: number;
  readonly name?: string;
}

export interface TraceHeader {
  readonly invtrace: 1;
  readonly arch: Arch;
  /** Entries in the guest queue (SMMUv3 2^LOG2SIZE; VT-d 2^(QS+8-DW)); with `queues`, queue 0's. */
  readonly queue_entries: number;
  /** Bytes per slot: 16, or 32 for VT-d 256-bit descriptors (IQA.DW=1). */
  readonly desc_bytes: 16 | 32;
  /** Slot of the first command (JSONL placement); default 0. */
  readonly start?: number;
  /** Guest-physical base of the queue, hex. */
  readonly queue_base?: string;
  readonly topology?: Topology;
  /**
   * Several guest queues (absent: one queue, described by the fields above). When present the
   * trace has a `queue` column and the fields above repeat queue 0's geometry.
   */
  readonly queues?: readonly QueueSpec[];
  readonly sources?: readonly SourceInfo[];
  readonly tool_version?: string;
  /** Free-form facts the producer wants kept with the trace (ingest agreement, generator knobs). */
  readonly notes?: Readonly<Record<string, unknown>>;
}

type Json = Record<string, unknown>;

function num(v: unknown, what: string): Result<number> {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return ok(v);
  if (typeof v === 'string' && /^(0x[0-9a-f]+|[0-9]+)$/i.test(v.trim())) return ok(Number(v.trim()));
  return fail({ field: what, message: `expected a non-negative integer or hex string, got ${JSON.stringify(v)}` });
}

function optNum(o: Json, key: string, dflt: number, what: string): Result<number> {
  return o[key] === undefined ? ok(dflt) : num(o[key], `${what}.${key}`);
}

export function parseTopology(raw: unknown, arch: Arch): Result<Topology> {
  if (typeof raw !== 'object' || raw === null) return fail({ field: 'topology', message: 'expected an object' });
  const t = raw as Json;
  const iommus: IommuSpec[] = [];
  if (typeof t.iommus === 'number' || typeof t.iommus === 'string' || t.iommus === undefined) {
    const n = t.iommus === undefined ? ok(1) : num(t.iommus, 'topology.iommus');
    if (!n.ok) return n;
    // One VMID per physical SMMU by default (a shared stage 2 gets a VMID on each instance).
    for (let i = 0; i < n.value; i++) iommus.push({ id: i, vmid: arch === 'smmuv3' ? i + 1 : 0 });
  } else if (Array.isArray(t.iommus)) {
    for (const [i, r] of t.iommus.entries()) {
      if (typeof r !== 'object' || r === null) return fail({ field: `topology.iommus[${i}]`, message: 'expected an object' });
      const o = r as Json;
      const id = optNum(o, 'id', i, `topology.iommus[${i}]`);
      if (!id.ok) return id;
      const vmid = optNum(o, 'vmid', arch === 'smmuv3' ? id.value + 1 : 0, `topology.iommus[${i}]`);
      if (!vmid.ok) return vmid;
      iommus.push({ id: id.value, vmid: vmid.value, ...(typeof o.name === 'string' ? { name: o.name } : {}) });
    }
  } else return fail({ field: 'topology.iommus', message: 'expected a count or a list' });
  if (iommus.length === 0) return fail({ field: 'topology.iommus', message: 'at least one IOMMU is needed' });
  if (!Array.isArray(t.devices)) return fail({ field: 'topology.devices', message: 'expected a list' });
  const devices: DeviceSpec[] = [];
  const seen = new Set<number>();
  for (const [i, r] of t.devices.entries()) {
    const at = `topology.devices[${i}]`;
    if (typeof r !== 'object' || r === null) return fail({ field: at, message: 'expected an object' });
    const o = r as Json;
    const sid = num(o.sid, `${at}.sid`);
    if (!sid.ok) return sid;
    if (seen.has(sid.value)) return fail({ field: `${at}.sid`, message: `device ${sid.value} listed twice` });
    seen.add(sid.value);
    const psid = optNum(o, 'psid', sid.value, at);
    const iommu = optNum(o, 'iommu', 0, at);
    const domain = optNum(o, 'domain', 0, at);
    const hwpt = optNum(o, 'hwpt', 0, at);
    for (const x of [psid, iommu, domain, hwpt]) if (!x.ok) return x;
    if (!iommus.some((m) => m.id === (iommu as { value: number }).value)) {
      return fail({ field: `${at}.iommu`, message: `no IOMMU ${(iommu as { value: number }).value} in topology.iommus` });
    }
    devices.push({
      sid: sid.value,
      psid: (psid as { value: number }).value,
      iommu: (iommu as { value: number }).value,
      ats: o.ats === true,
      domain: (domain as { value: number }).value,
      hwpt: (hwpt as { value: number }).value,
      ...(typeof o.name === 'string' ? { name: o.name } : {}),
    });
  }
  return ok({ iommus, devices, ...(t.inferred === true ? { inferred: true } : {}) });
}

/** A queue size: a power of two from 2 to 2^19. */
function queueEntries(v: unknown, what: string): Result<number> {
  const n = num(v, what);
  if (!n.ok) return n;
  const e = n.value;
  if (e < 2 || (e & (e - 1)) !== 0 || e > 1 << 19) {
    return fail({ field: what, message: `queue_entries must be a power of two from 2 to 2^19, got ${e}` });
  }
  return n;
}

/** Most guest queues a trace holds (the `queue` column is a uint8). */
export const MAX_QUEUES = 256;

/**
 * The `queues` list: ids 0..n-1 in order, each queue's geometry (defaults: the top-level fields),
 * and its devices — every device of the topology in exactly one queue, each queue's `iommu` (when
 * given) existing and holding all of that queue's devices.
 */
function parseQueues(
  raw: readonly unknown[],
  dflt: { queue_entries: number; start: number; queue_base: string | undefined },
  topology: Topology | undefined,
): Result<QueueSpec[]> {
  if (raw.length > MAX_QUEUES) return fail({ field: 'queues', message: `at most ${MAX_QUEUES} queues, got ${raw.length}` });
  const out: QueueSpec[] = [];
  const owner = new Map<number, number>();
  for (const [i, r] of raw.entries()) {
    const at = `queues[${i}]`;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) return fail({ field: at, message: 'expected an object' });
    const o = r as Json;
    const id = optNum(o, 'id', i, at);
    if (!id.ok) return id;
    if (id.value !== i) return fail({ field: `${at}.id`, message: `queue ids are 0, 1, ... in order: expected ${i}, got ${id.value}` });
    const entries = queueEntries(o.queue_entries ?? dflt.queue_entries, `${at}.queue_entries`);
    if (!entries.ok) return entries;
    const start = optNum(o, 'start', i === 0 ? dflt.start : 0, at);
    if (!start.ok) return start;
    if (start.value >= entries.value)
      return fail({ field: `${at}.start`, message: `start ${start.value} is outside a queue of ${entries.value} entries` });
    if (!Array.isArray(o.devices))
      return fail({ field: `${at}.devices`, message: "expected a list of guest SIDs (the devices behind this queue's vIOMMU)" });
    const devices: number[] = [];
    for (const [k, d] of o.devices.entries()) {
      const sid = num(d, `${at}.devices[${k}]`);
      if (!sid.ok) return sid;
      const prev = owner.get(sid.value);
      if (prev !== undefined) return fail({ field: `${at}.devices[${k}]`, message: `device ${sid.value} is already behind queue ${prev}` });
      owner.set(sid.value, i);
      devices.push(sid.value);
    }
    let iommu: number | undefined;
    if (o.iommu !== undefined) {
      const m = num(o.iommu, `${at}.iommu`);
      if (!m.ok) return m;
      iommu = m.value;
    }
    const base = typeof o.queue_base === 'string' ? o.queue_base : i === 0 ? dflt.queue_base : undefined;
    out.push({
      id: i,
      queue_entries: entries.value,
      ...(start.value !== 0 ? { start: start.value } : {}),
      ...(base !== undefined ? { queue_base: base } : {}),
      devices,
      ...(iommu !== undefined ? { iommu } : {}),
      ...(typeof o.name === 'string' ? { name: o.name } : {}),
    });
  }
  if (topology !== undefined) {
    const fit = queuesFitTopology(out, topology);
    if (fit !== undefined) return fail(fit);
  }
  return ok(out);
}

/**
 * Whether `queues` and `topology` agree: each queue's devices exist, every device is behind one
 * queue, a queue's `iommu` exists and holds all its devices. The error, or undefined.
 */
export function queuesFitTopology(queues: readonly QueueSpec[], topology: Topology): { field: string; message: string } | undefined {
  const bySid = new Map(topology.devices.map((d) => [d.sid, d]));
  const listed = new Set<number>();
  for (const q of queues) {
    if (q.iommu !== undefined && !topology.iommus.some((m) => m.id === q.iommu)) {
      return { field: `queues[${q.id}].iommu`, message: `no IOMMU ${q.iommu} in topology.iommus` };
    }
    for (const sid of q.devices) {
      const d = bySid.get(sid);
      if (d === undefined) return { field: `queues[${q.id}].devices`, message: `device 0x${sid.toString(16)} is not in the topology` };
      if (q.iommu !== undefined && d.iommu !== q.iommu) {
        return {
          field: `queues[${q.id}].devices`,
          message: `device 0x${sid.toString(16)} sits behind IOMMU ${d.iommu}, not the queue's IOMMU ${q.iommu}`,
        };
      }
      listed.add(sid);
    }
  }
  const orphan = topology.devices.find((d) => !listed.has(d.sid));
  if (orphan !== undefined)
    return { field: 'queues', message: `device 0x${orphan.sid.toString(16)} is behind no guest queue (list it in one queue's devices)` };
  return undefined;
}

/** Validates a header object (from JSON) and fills in defaults. */
export function parseHeader(raw: unknown): Result<TraceHeader> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail({ message: 'header: expected a JSON object' });
  const h = raw as Json;
  if (h.invtrace !== FORMAT_VERSION) {
    return fail({ field: 'invtrace', message: `header: expected "invtrace": ${FORMAT_VERSION} (not an invtrace header?)` });
  }
  if (typeof h.arch !== 'string' || !isArch(h.arch)) return fail({ field: 'arch', message: 'header: arch must be "smmuv3" or "vtd"' });
  const arch = h.arch;
  const rawQueues = h.queues;
  if (rawQueues !== undefined && (!Array.isArray(rawQueues) || rawQueues.length === 0))
    return fail({ field: 'queues', message: 'expected a non-empty list of queues' });
  const first = Array.isArray(rawQueues) && typeof rawQueues[0] === 'object' && rawQueues[0] !== null ? (rawQueues[0] as Json) : {};
  // With `queues`, the top-level geometry is queue 0's: given once, or taken from queue 0.
  const entries = queueEntries(h.queue_entries ?? first.queue_entries ?? 256, 'queue_entries');
  if (!entries.ok) return entries;
  const e = entries.value;
  const descBytes = h.desc_bytes ?? 16;
  if (descBytes !== 16 && !(descBytes === 32 && arch === 'vtd')) {
    return fail({ field: 'desc_bytes', message: `desc_bytes must be 16${arch === 'vtd' ? ' or 32' : ''}` });
  }
  const rawStart = h.start ?? first.start;
  const start = rawStart === undefined ? ok(0) : num(rawStart, 'header.start');
  if (!start.ok) return start;
  if (start.value >= e) return fail({ field: 'start', message: `start ${start.value} is outside a queue of ${e} entries` });
  let topology: Topology | undefined;
  if (h.topology !== undefined) {
    const t = parseTopology(h.topology, arch);
    if (!t.ok) return t;
    topology = t.value;
  }
  const rawBase = h.queue_base ?? first.queue_base;
  const queueBase = typeof rawBase === 'string' ? rawBase : undefined;
  let queues: QueueSpec[] | undefined;
  if (Array.isArray(rawQueues)) {
    const q = parseQueues(rawQueues, { queue_entries: e, start: start.value, queue_base: queueBase }, topology);
    if (!q.ok) return q;
    queues = q.value;
    const q0 = queues[0]!;
    // The top-level fields must not contradict queue 0 (old readers take them as the one queue).
    if (q0.queue_entries !== e || (q0.start ?? 0) !== start.value || q0.queue_base !== queueBase) {
      return fail({
        field: 'queues[0]',
        message: 'queue 0 differs from the top-level queue_entries/start/queue_base (they describe queue 0)',
      });
    }
  }
  return ok({
    invtrace: FORMAT_VERSION,
    arch,
    queue_entries: e,
    desc_bytes: descBytes,
    ...(start.value !== 0 ? { start: start.value } : {}),
    ...(queueBase !== undefined ? { queue_base: queueBase } : {}),
    ...(topology ? { topology } : {}),
    ...(queues ? { queues } : {}),
    ...(Array.isArray(h.sources) ? { sources: h.sources as SourceInfo[] } : {}),
    ...(typeof h.tool_version === 'string' ? { tool_version: h.tool_version } : {}),
    ...(typeof h.notes === 'object' && h.notes !== null ? { notes: h.notes as Json } : {}),
  });
}

/** Number of 64-bit words per slot. */
export const wordsPerSlot = (h: Pick<TraceHeader, 'desc_bytes'>): 2 | 4 => (h.desc_bytes === 32 ? 4 : 2);
