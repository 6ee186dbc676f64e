// The correctness oracle (DESIGN.md "Correctness"), run on emulator state:
// 1. stale-translation: when a guest invalidation is published, probe translations of every
//    device and address its scope covers (filling the physical IOTLBs, walk caches, config caches
//    and device ATCs); when the completion point after it completes — or the queue stops on an
//    error after it, which counts as one — probe again without filling: a covered entry still
//    cached is a stale translation the guest may use.
//    A probe stands for a DMA made before the guest changed its page table. The guest changes it
//    before its first invalidation, so an IOTLB-level invalidation opens an "unmap epoch" for each
//    (device, page) and fills; a device-TLB/ATC invalidation of a page whose epoch is open only
//    checks (Linux sends it after the IOTLB one, when the PTE is already gone and no device can
//    refill its ATC — spec/vtd.md §4.2, spec/smmuv3.md §4.2), and closes the epoch. One with no
//    IOTLB invalidation before it fills, as a device could have cached the page all along.
// 2. error semantics (wrong-consumer-index, wrong-error, executed-past-error) and
// 3. completion (never-completed): the policy's guest-visible state against bare hardware on the
//    same queue; the engine feeds both and calls the checks here.

import { hex } from '../formats/bits.js';
import type { Decoded } from '../formats/codec/codec.js';
import type { DeviceSpec, Topology } from '../formats/trace/header.js';
import { describeScope, type Classified, type Scope } from '../formats/scope.js';
import type { HostModel } from './host.js';
import type { CacheHits } from './unit.js';

export const VIOLATION_KINDS = ['stale-translation', 'wrong-consumer-index', 'wrong-error', 'executed-past-error', 'never-completed'] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export interface Violation {
  readonly kind: ViolationKind;
  /** Guest sequence number (trace row) of the command concerned. */
  readonly seq: number;
  readonly scope: string;
  readonly explanation: string;
}

interface Probe {
  readonly sid: number;
  readonly pasid: number | undefined;
  readonly iova: bigint;
}

interface PendingInvalidation {
  readonly pos: number;
  readonly seq: number;
  readonly name: string;
  readonly scope: Scope;
  readonly probes: readonly Probe[];
}

/** Addresses probed per device when a scope covers every address: the last ones seen. */
const RECENT = 4;
const DEFAULT_IOVA = 0x100000n;
const PAGE = 4096n;

/** Devices whose translations a scope covers, from the topology (guest view). */
export function devicesInScope(s: Scope, topology: Topology, arch: 'smmuv3' | 'vtd'): DeviceSpec[] {
  const devs = topology.devices;
  const sidMatch = (d: DeviceSpec) => s.sid === undefined || ((d.sid ^ s.sid) & ~(s.sidIgnore ?? 0)) === 0 || (s.sidIgnore ?? 0) >= 0xffffffff;
  switch (s.cache) {
    case 'iotlb':
      if (s.regime === 'el2' || s.regime === 'el3' || s.stage === 2) return []; // no guest device translates there
      return devs.filter((d) => (arch === 'smmuv3' ? s.asid === undefined || d.domain === s.asid : s.did === undefined || d.domain === s.did));
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

/** Whether a probe's cache state shows the scope's entry still cached. */
export function staleHit(s: Scope, h: CacheHits): string | undefined {
  switch (s.cache) {
    case 'iotlb':
      if (h.iotlb) return 'IOTLB entry';
      if (!s.leaf && h.walk) return 'table-walk entry';
      return undefined;
    case 'atc':
    case 'devtlb':
      return h.atc ? 'ATC/device-TLB entry' : undefined;
    case 'ste':
    case 'cd':
    case 'context':
    case 'pasid':
      return h.config ? 'configuration entry' : undefined;
    case 'iec':
      return undefined;
  }
}

/** Open unmap epochs kept at most (the oldest are forgotten: they fill again, never falsely flag). */
const MAX_OPEN_EPOCHS = 1 << 20;

export class StaleOracle {
  private readonly pending: PendingInvalidation[] = [];
  private readonly recent = new Map<number, bigint[]>();
  /** (ATS device, PASID, page) with an IOTLB-level invalidation published and no ATC one since. */
  private readonly openEpochs = new Set<string>();

  constructor(private readonly topology: Topology, private readonly arch: 'smmuv3' | 'vtd', private readonly host: HostModel) {}

  /** A guest invalidation was published at `pos` (`c`: its classification): probe what it covers. */
  published(pos: number, seq: number, d: Decoded, c: Classified): void {
    if (c.role !== 'invalidate' || c.scope === undefined) return;
    const s = c.scope;
    const probes: Probe[] = [];
    const pasid = this.arch === 'smmuv3' ? s.ssid ?? 0 : s.pasid;
    const deviceLevel = s.cache === 'atc' || s.cache === 'devtlb';
    for (const dev of devicesInScope(s, this.topology, this.arch)) {
      for (const iova of this.addresses(dev.sid, s)) {
        const key = `${dev.sid}/${pasid ?? '-'}/${iova}`;
        if (deviceLevel && this.openEpochs.delete(key)) {
          // The IOTLB-level invalidation before it already filled; the page is unmapped since.
          if (this.host.cached(dev.sid, pasid, iova).atc) probes.push({ sid: dev.sid, pasid, iova });
          continue;
        }
        const t = this.host.translate(dev.sid, pasid, iova);
        if (!t.ok) continue;
        probes.push({ sid: dev.sid, pasid, iova });
        if (s.cache === 'iotlb' && dev.ats) {
          if (this.openEpochs.size >= MAX_OPEN_EPOCHS) this.openEpochs.clear();
          this.openEpochs.add(key);
        }
      }
    }
    if (probes.length > 0) this.pending.push({ pos, seq, name: d.name, scope: s, probes });
  }

  /**
   * Every invalidation before `pos` must have taken effect: a completion point at `pos` completed,
   * or the queue stopped on an error at `pos`.
   */
  completedBefore(pos: number, how: string, out: (v: Violation) => void): void {
    let keep = 0;
    for (const p of this.pending) {
      if (p.pos >= pos) {
        this.pending[keep++] = p;
        continue;
      }
      for (const pr of p.probes) {
        const hit = staleHit(p.scope, this.host.cached(pr.sid, pr.pasid, pr.iova));
        if (hit !== undefined) {
          out({
            kind: 'stale-translation',
            seq: p.seq,
            scope: describeScope(p.scope),
            explanation: `${p.name}: device ${hex(pr.sid)}${pr.pasid ? ` pasid ${pr.pasid}` : ''} still has a ${hit} for ${hex(pr.iova)} after ${how}`,
          });
          break; // one finding per invalidation
        }
      }
    }
    this.pending.length = keep;
  }

  private addresses(sid: number, s: Scope): bigint[] {
    if (s.range !== undefined) {
      const first = s.range.base & ~(PAGE - 1n);
      const last = (s.range.base + s.range.bytes - 1n) & ~(PAGE - 1n);
      const out = first === last ? [first] : [first, last];
      const r = this.recent.get(sid) ?? [];
      if (!r.includes(first)) {
        r.push(first);
        if (r.length > RECENT) r.shift();
        this.recent.set(sid, r);
      }
      return out;
    }
    return [DEFAULT_IOVA, ...(this.recent.get(sid) ?? [])];
  }
}

/** What the guest-state checks read: one side's consumer position and pending error. */
export interface QueueSide {
  readonly cons: number;
  readonly error: { readonly code: string; readonly value: number; readonly pos?: number } | undefined;
}

/** What the guest-state checks need of the shared queue. */
export interface QueueCommands {
  readonly entries: number;
  seqAt(pos: number): number;
  decodedAt(pos: number): Decoded;
}

/**
 * Checks 2 and 3 for one policy run: the guest-visible state against bare hardware on the same
 * queue (wrong-consumer-index, wrong-error, executed-past-error) and the completion points bare
 * hardware completed that the policy never did (never-completed). A mismatch is reported once
 * until it changes, so a stuck queue yields one finding, not one per doorbell.
 */
export class GuestStateCheck {
  private lastMismatch = '';
  private readonly pastError = new Set<number>();

  constructor(private readonly q: QueueCommands, private readonly out: (v: Violation) => void) {}

  /** After an event: the guest reads `mine` where bare hardware shows `ref`. */
  compare(ref: QueueSide, mine: QueueSide, published: number, seq: number): void {
    const refErr = ref.error ? `${ref.error.code}:${ref.error.value}` : '';
    const myErr = mine.error ? `${mine.error.code}:${mine.error.value}` : '';
    if (ref.cons === mine.cons && refErr === myErr) {
      this.lastMismatch = '';
      return;
    }
    const sig = `${ref.cons - mine.cons}/${refErr}/${myErr}`;
    if (sig === this.lastMismatch) return;
    this.lastMismatch = sig;
    const q = this.q;
    const at = Math.min(ref.cons, mine.cons);
    const cmdSeq = at < published ? q.seqAt(at) : seq;
    const slot = (p: number) => p % q.entries;
    if (ref.cons !== mine.cons) {
      this.out({
        kind: 'wrong-consumer-index',
        seq: cmdSeq,
        scope: `slot ${slot(at)}`,
        explanation: `the guest reads the consumer at slot ${slot(mine.cons)} where bare hardware shows slot ${slot(ref.cons)}`,
      });
    }
    if (refErr !== myErr) {
      this.out({
        kind: 'wrong-error',
        seq: cmdSeq,
        scope: `slot ${slot(at)}`,
        explanation: `the guest sees ${myErr || 'no error'} where bare hardware raises ${refErr || 'no error'}`,
      });
    }
  }

  /** The policy made the command at `pos` take effect; bare hardware may have stopped before it. */
  executed(pos: number, refError: { readonly code: string; readonly pos: number } | undefined): void {
    if (refError === undefined || pos < refError.pos || this.pastError.has(pos)) return;
    this.pastError.add(pos);
    const q = this.q;
    const d = q.decodedAt(pos);
    this.out({
      kind: 'executed-past-error',
      seq: q.seqAt(pos),
      scope: d.name,
      explanation: `${d.name} at slot ${pos % q.entries} took effect, but bare hardware stopped at slot ${refError.pos % q.entries} with ${refError.code}`,
    });
  }

  /** At the end, for each completion point in queue order: bare hardware completed it, the policy did not. */
  completion(seq: number, slot: number, done: boolean, refDone: boolean): void {
    if (refDone && !done) {
      this.out({
        kind: 'never-completed',
        seq,
        scope: `slot ${slot}`,
        explanation: `bare hardware completed the completion point at slot ${slot}; under this policy the guest waits forever`,
      });
    }
  }
}
