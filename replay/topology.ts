// The VM's topology for a replay: from the trace header, a --topology file, or (when a capture
// has none) a default derived from the trace: each SID seen is a device, ATS where device-TLB/ATC
// invalidations target it, its domain guessed from the commands around its first appearance.
// Every guess is written down so the user can correct it (DESIGN.md "topology").

import { readFile } from 'node:fs/promises';
import { hex } from '../formats/bits.js';
import type { Arch } from '../formats/codec/table.js';
import { codecFor } from '../formats/codecs.js';
import { InputFault } from '../formats/result.js';
import { parseTopology, wordsPerSlot, type DeviceSpec, type Topology } from '../formats/trace/header.js';
import type { OpenTrace } from '../formats/trace/io.js';
import { viewBatch } from '../formats/trace/view.js';

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
  const raw = typeof json === 'object' && json !== null && 'topology' in json ? (json as { topology: unknown }).topology : json;
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

  feed(name: string, f: Readonly<Record<string, bigint>>): void {
    const n = (k: string) => Number(f[k] ?? 0n);
    if (this.arch === 'vtd') {
      switch (name) {
        case 'cc_inv':
          if (n('G') === 3) {
            this.see(n('SID'));
            if (n('DID') !== 0) this.bind(n('SID'), n('DID'), `context invalidation of the device names DID ${n('DID')}`);
            else this.pendingSid = n('SID');
          }
          break;
        case 'iotlb_inv':
        case 'p_iotlb_inv':
          if (n('G') !== 1) {
            this.seeDomain(n('DID'));
            this.lastDid = n('DID');
            if (this.pendingSid !== undefined && n('G') === 2) {
              this.bind(this.pendingSid, n('DID'), `domain flush of DID ${n('DID')} right after its context invalidation`);
              this.pendingSid = undefined;
            }
          }
          break;
        case 'dev_tlb_inv':
        case 'p_dev_tlb_inv':
          this.see(n('SID'));
          this.ats.add(n('SID'));
          if (this.lastDid !== undefined) this.bind(n('SID'), this.lastDid, `IOTLB invalidation of DID ${this.lastDid} before its device-TLB invalidation`);
          break;
      }
      return;
    }
    switch (name) {
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
      notes.push(`device ${hex(sid)}: ${this.arch === 'vtd' ? 'DID' : 'ASID'} ${this.domain.get(sid)} (${this.why.get(sid)})${this.ats.has(sid) ? ', ATS (device-TLB/ATC invalidations target it)' : ''}`);
    }
    return { devices, notes };
  }
}

/** The default topology of a trace without one. */
export async function inferTopology(t: OpenTrace): Promise<ResolvedTopology> {
  const inf = new Inference(t.header.arch);
  const codec = codecFor(t.header.arch);
  const n = wordsPerSlot(t.header);
  for await (const b of t.batches()) {
    const v = viewBatch(b);
    for (let i = 0; i < v.length; i++) {
      if (v.kindOf(i) !== 'cmd') continue;
      const d = codec.decode(v.words(i, n));
      if (d.error === undefined) inf.feed(d.name, d.fields);
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
