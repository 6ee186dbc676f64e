// The VM's topology for a replay: from the trace header, a --topology file, or (when a capture
// has none) a default derived from the trace: each SID seen is a device, ATS where device-TLB/ATC
// invalidations target it, its domain guessed from the commands around its first appearance.
// Every guess is written down so the user can correct it (DESIGN.md "topology").

import { readFile } from 'node:fs/promises';
import { hex } from '../formats/bits.js';
import type { Decoded } from '../formats/codec/codec.js';
import type { Arch } from '../formats/codec/table.js';
import { codecFor } from '../formats/codecs.js';
import { InputFault, unreachable } from '../formats/result.js';
import { smmuv3Op } from '../formats/smmuv3/commands.js';
import { parseTopology, wordsPerSlot, type DeviceSpec, type Topology } from '../formats/trace/header.js';
import { batchesReused, type OpenTrace } from '../formats/trace/io.js';
import { viewBatch } from '../formats/trace/view.js';
import { CC_G, IOTLB_G, PIOTLB_G, vtdOp } from '../formats/vtd/descriptors.js';

export interface ResolvedTopology {
  readonly topology: Topology;
  readonly source: 'header' | 'file' | 'inferred';
  /** One line per guess made while inferring. */
  readonly notes: readonly string[];
}

export async function loadTopologyFile(path: string, arch: Arch): Promise<Topology> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new InputFault({ file: path, message: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputFault({ file: path, message: `not valid JSON (${(e as Error).message})` });
  }
  const raw = typeof json === 'object' && json !== null && 'topology' in json ? json.topology : json;
  const t = parseTopology(raw, arch);
  if (!t.ok) throw new InputFault({ file: path, ...t.error });
  return t.value;
}

/** Accumulates evidence about devices while commands stream past. */
class Inference {
  private readonly order: number[] = [];
  private readonly ats = new Set<number>();
  private readonly domain = new Map<number, number>();
  private readonly why = new Map<number, string>();
  private readonly domainsSeen: number[] = [];
  private pendingSid: number | undefined; // VT-d: device-selective context invalidation awaiting its DSI
  private lastDid: number | undefined; // VT-d: DID of the last IOTLB invalidation

  constructor(readonly arch: Arch) {}

  private see(sid: number): void {
    if (!this.order.includes(sid)) this.order.push(sid);
  }

  private bind(sid: number, domain: number, why: string): void {
    if (this.domain.has(sid)) return;
    this.domain.set(sid, domain);
    this.why.set(sid, why);
  }

  private seeDomain(d: number): void {
    if (!this.domainsSeen.includes(d)) this.domainsSeen.push(d);
  }

  /** One valid command: every opcode of the arch's table is considered (a new row must be too). */
  feed(d: Decoded): void {
    const f = d.fields;
    const n = (k: string) => Number(f[k] ?? 0n);
    const vtd = vtdOp(d);
    if (vtd !== undefined) {
      switch (vtd.name) {
        case 'cc_inv':
          if (f.G === CC_G.DEVICE) {
            this.see(n('SID'));
            if (n('DID') !== 0) this.bind(n('SID'), n('DID'), `context invalidation of the device names DID ${n('DID')}`);
            else this.pendingSid = n('SID');
          }
          break;
        case 'iotlb_inv':
        case 'p_iotlb_inv': {
          // Every granularity but the global one names a DID; a domain-wide one (IOTLB DOMAIN,
          // P-IOTLB all-of-a-PASID) right after a device's context invalidation binds the device.
          const wide = vtd.name === 'iotlb_inv' ? IOTLB_G.DOMAIN : PIOTLB_G.PASID;
          if (vtd.name === 'p_iotlb_inv' || f.G !== IOTLB_G.GLOBAL) {
            this.seeDomain(n('DID'));
            this.lastDid = n('DID');
            if (this.pendingSid !== undefined && f.G === wide) {
              this.bind(this.pendingSid, n('DID'), `domain flush of DID ${n('DID')} right after its context invalidation`);
              this.pendingSid = undefined;
            }
          }
          break;
        }
        case 'dev_tlb_inv':
        case 'p_dev_tlb_inv':
          this.see(n('SID'));
          this.ats.add(n('SID'));
          if (this.lastDid !== undefined)
            this.bind(n('SID'), this.lastDid, `IOTLB invalidation of DID ${this.lastDid} before its device-TLB invalidation`);
          break;
        case 'iec_inv':
        case 'inv_wait':
        case 'pc_inv':
        case 'page_grp_resp':
        case 'page_strm_resp':
          break; // no device or domain evidence
        default:
          unreachable(vtd);
      }
      return;
    }
    const smmu = smmuv3Op(d);
    if (smmu === undefined) return;
    switch (smmu.name) {
      case 'CMD_CFGI_STE':
      case 'CMD_CFGI_CD':
      case 'CMD_CFGI_CD_ALL':
      case 'CMD_PREFETCH_CONFIG':
        this.see(n('SID'));
        break;
      case 'CMD_ATC_INV':
        this.see(n('SID'));
        this.ats.add(n('SID'));
        break;
      case 'CMD_TLBI_NH_VA':
      case 'CMD_TLBI_NH_ASID':
        this.seeDomain(n('ASID'));
        break;
      case 'CMD_CFGI_STE_RANGE':
      case 'CMD_PREFETCH_ADDR':
      case 'CMD_PRI_RESP':
      case 'CMD_RESUME':
      case 'CMD_STALL_TERM':
      case 'CMD_SYNC':
      case 'CMD_TLBI_EL2_ALL':
      case 'CMD_TLBI_EL2_ASID':
      case 'CMD_TLBI_EL2_VA':
      case 'CMD_TLBI_EL2_VAA':
      case 'CMD_TLBI_EL3_ALL':
      case 'CMD_TLBI_EL3_VA':
      case 'CMD_TLBI_NH_ALL':
      case 'CMD_TLBI_NH_VAA':
      case 'CMD_TLBI_NSNH_ALL':
      case 'CMD_TLBI_S12_VMALL':
      case 'CMD_TLBI_S2_IPA':
        break; // a range of SIDs, no SID, or no domain of a device: no evidence
      default:
        unreachable(smmu);
    }
  }

  result(): { devices: DeviceSpec[]; notes: string[] } {
    const notes: string[] = [];
    const devices: DeviceSpec[] = [];
    // SMMUv3 commands never pair a SID with its ASID (that is in the CD): the k-th device to
    // appear is given the k-th ASID to appear, a guess the notes say.
    const unbound = this.order.filter((s) => !this.domain.has(s));
    const free = this.domainsSeen.filter((d) => ![...this.domain.values()].includes(d));
    unbound.forEach((sid, k) => {
      const d = free[k] ?? free[free.length - 1] ?? (this.arch === 'vtd' ? 1 : 1);
      this.bind(sid, d, free[k] !== undefined ? `${k + 1}th device to appear, ${k + 1}th domain to appear` : 'no evidence: first domain');
    });
    for (const sid of this.order) {
      devices.push({ sid, psid: sid, iommu: 0, ats: this.ats.has(sid), domain: this.domain.get(sid)!, hwpt: 0 });
      notes.push(
        `device ${hex(sid)}: ${this.arch === 'vtd' ? 'DID' : 'ASID'} ${this.domain.get(sid)} (${this.why.get(sid)})${this.ats.has(sid) ? ', ATS (device-TLB/ATC invalidations target it)' : ''}`,
      );
    }
    return { devices, notes };
  }
}

/** The default topology of a trace without one. */
export async function inferTopology(t: OpenTrace): Promise<ResolvedTopology> {
  const inf = new Inference(t.header.arch);
  const codec = codecFor(t.header.arch);
  const n = wordsPerSlot(t.header);
  // Each batch is done with before the next (words() copies into BigInts): reused memory will do.
  for await (const b of batchesReused(t)) {
    const v = viewBatch(b);
    for (let i = 0; i < v.length; i++) {
      if (v.kindOf(i) !== 'cmd') continue;
      const d = codec.decode(v.words(i, n));
      if (d.error === undefined) inf.feed(d);
    }
  }
  const { devices, notes } = inf.result();
  const iommus = [{ id: 0, vmid: t.header.arch === 'smmuv3' ? 1 : 0 }];
  return { topology: { iommus, devices, inferred: true }, source: 'inferred', notes };
}

/** Topology for a replay: --topology file, else the header's, else inferred from the trace. */
export async function resolveTopology(t: OpenTrace, file?: string): Promise<ResolvedTopology> {
  if (file !== undefined) return { topology: await loadTopologyFile(file, t.header.arch), source: 'file', notes: [] };
  if (t.header.topology !== undefined && t.header.topology.devices.length > 0) {
    return { topology: t.header.topology, source: 'header', notes: [] };
  }
  return inferTopology(t);
}
