// The replay engine: one streaming pass over a trace feeds the guest queue, event by event, to
// bare hardware (the reference the oracle compares against) and to one VMM per policy, each with
// its own host model and physical IOMMUs. Doorbells publish entries at the recorded slots, wraps
// included. Everything is synchronous and ordered, so the same inputs give byte-identical tables.

import { join } from 'node:path';
import { classify } from '../formats/classify.js';
import type { Decoded } from '../formats/codec/codec.js';
import type { Classified } from '../formats/scope.js';
import { codecFor } from '../formats/codecs.js';
import type { OpenTrace } from '../formats/trace/io.js';
import { wordsPerSlot, type TraceHeader } from '../formats/trace/header.js';
import type { Costs } from './cost/params.js';
import type { HostModel, HostOp, ReplayKit } from './host.js';
import { dispatchTrace, queueBase } from './feed.js';
import { GuestMemory } from './memory.js';
import { StaleOracle, type Violation } from './oracle.js';
import type { Cause, GuestError, Policy, PolicyContext, PolicyDetail, VmmOpKind } from './policy.js';
import type { ResolvedPolicy } from './policies/index.js';
import { ResultFile, ResultTable } from './results.js';
import { completionsSpec, hostOpsSpec, OP_KINDS, SUMMARY_COUNTS, summarySpec, violationsSpec, type OpKind, type SummaryCount } from './tables.js';
import type { ResolvedTopology } from './topology.js';
import type { QueueUnit, UnitEvent } from './unit.js';
import { vmmFor } from './vmm/index.js';

export interface ReplayOptions {
  readonly kit: ReplayKit;
  readonly topology: ResolvedTopology;
  readonly costs: Costs;
  readonly policies: readonly ResolvedPolicy[];
  /** Write host_ops, completions, violations and summary tables here. */
  readonly outDir?: string;
  /** Called after each trace batch with the rows done so far. */
  readonly onProgress?: (rows: number) => void;
}

export interface PolicySummary {
  readonly policy: string;
  readonly correct: boolean;
  readonly violations: number;
  readonly violations_by_kind: Readonly<Record<string, number>>;
  readonly traps: number;
  readonly vmm_commands: number;
  readonly ioctls: number;
  readonly host_commands: number;
  readonly host_syncs: number;
  readonly host_doorbells: number;
  readonly device_invalidations: number;
  readonly direct_commands: number;
  readonly bytes_copied: number;
  readonly completions: number;
  readonly modeled_us: number;
  readonly p50_us: number;
  readonly p99_us: number;
  readonly max_us: number;
  /** The first few findings, for a reader. */
  readonly first_violations: readonly Violation[];
  /** What the policy reports about itself (migrate: each side's cost), when it does. */
  readonly detail?: PolicyDetail;
}

export interface ReplayOutput {
  readonly trace: string;
  readonly arch: string;
  readonly events: number;
  readonly doorbells: number;
  /** What bare hardware did with the queue: completion points completed, errors raised. */
  readonly reference: { readonly completions: number; readonly errors: number };
  readonly topology: ResolvedTopology;
  readonly policies: readonly PolicySummary[];
}

/** Maps (index, wrap) onto the absolute position nearest at or after `from` (SMMU: 2E period). */
function posAt(index: number, wrap: number, from: number, entries: number, smmu: boolean): number {
  const period = smmu ? 2 * entries : entries;
  const v = smmu ? index + wrap * entries : index;
  return from + ((v - (from % period) + period) % period);
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface CompletionRow {
  seq: number;
  slot: number;
  doorbellSeq: number;
  t0: number;
  commands: number;
  latency: number | undefined;
}

/** One policy's VMM, host and bookkeeping. */
class Run {
  readonly host: HostModel;
  readonly oracle: StaleOracle;
  readonly policy: Policy;
  cons: number;
  published: number;
  error: (GuestError & { pos: number }) | undefined;
  clock = 0;
  readonly counts: Record<SummaryCount, number> = Object.fromEntries(SUMMARY_COUNTS.map((c) => [c, 0])) as Record<SummaryCount, number>;
  readonly completions = new Map<number, CompletionRow>();
  readonly latencies: number[] = [];
  readonly byKind: Record<string, number> = {};
  readonly firstViolations: Violation[] = [];
  violations = 0;
  lastMismatch = '';
  readonly pastError = new Set<number>();
  sinceSync = 0;
  /** Host work of the current event: (kind, iommu) → count, entries, bytes, cost. */
  readonly event = new Map<number, { kind: OpKind; iommu: number; count: number; entries: number; bytes: number; cost: number }>();
  doorbellT0 = 0;
  doorbellSeq = 0;
  /** Inside ctx.inKernel: host invalidations are kernel calls, not ioctls. */
  kernel = false;
  readonly ctx: PolicyContext;

  constructor(readonly name: string, make: () => Policy, readonly eng: Engine) {
    this.cons = eng.start;
    this.published = eng.start;
    this.host = eng.kit.host(eng.topology.topology, (op) => this.hostOp(op));
    this.oracle = new StaleOracle(eng.topology.topology, eng.header.arch, this.host);
    this.policy = make();
    const run = this;
    const vmm = vmmFor(eng.header.arch);
    this.ctx = {
      arch: eng.header.arch,
      header: eng.header,
      topology: eng.topology.topology,
      host: this.host,
      vmm,
      get cons() {
        return run.cons;
      },
      get error() {
        return run.error;
      },
      command: (pos) => eng.decodedAt(pos),
      setCons: (pos) => {
        run.cons = pos;
      },
      raise: (pos, error) => run.raise(pos, error),
      complete: (pos) => run.complete(pos),
      executed: (pos) => run.executed(pos),
      op: (kind, detail) => run.vmmOp(kind, detail),
      cause: (pos) => eng.causeAt(pos),
      inKernel: <T>(fn: () => T): T => {
        const was = run.kernel;
        run.kernel = true;
        try {
          return fn();
        } finally {
          run.kernel = was;
        }
      },
      get modeledUs() {
        return run.clock;
      },
      seqAt: (pos) => eng.seqAt(pos),
    };
  }

  private charge(kind: OpKind, iommu: number, cost: number, entries = 0, bytes = 0): void {
    this.clock += cost;
    const key = OP_KINDS.indexOf(kind) * 65536 + iommu + 1;
    let a = this.event.get(key);
    if (a === undefined) this.event.set(key, (a = { kind, iommu, count: 0, entries: 0, bytes: 0, cost: 0 }));
    a.count++;
    a.entries += entries;
    a.bytes += bytes;
    a.cost += cost;
  }

  vmmOp(kind: VmmOpKind, _detail: string): void {
    const c = this.eng.costs;
    switch (kind) {
      case 'trap':
        this.counts.traps++;
        this.charge('trap', -1, c.trap_user);
        break;
      case 'trap_kernel':
        this.counts.traps++;
        this.charge('trap', -1, c.trap_kernel);
        break;
      case 'vmm_cmd':
        this.counts.vmm_commands++;
        this.charge('vmm_cmd', -1, c.vmm_per_cmd);
        break;
      case 'pt_read':
        this.charge('pt_read', -1, c.pt_read);
        break;
      case 'pin':
        this.charge('pin', -1, c.pin_page);
        break;
      case 'map_ioctl':
        this.counts.ioctls++;
        this.charge('ioctl', -1, c.ioctl);
        break;
    }
  }

  hostOp(op: HostOp): void {
    const c = this.eng.costs;
    switch (op.kind) {
      case 'ioctl': {
        if (this.kernel) break; // kernel-ring: the kernel calls the vIOMMU's invalidation itself
        const entries = op.entries ?? 0;
        const bytes = op.bytes ?? entries * vmmFor(this.eng.header.arch).entryLen;
        this.counts.ioctls++;
        this.counts.bytes_copied += bytes;
        this.charge('ioctl', op.iommu, c.ioctl + entries * c.copy_per_entry, entries, bytes);
        break;
      }
      case 'host_cmd':
        this.counts.host_commands++;
        this.charge('host_cmd', op.iommu, c.host_cmd);
        break;
      case 'host_sync':
        this.counts.host_syncs++;
        this.charge('host_sync', op.iommu, this.eng.header.arch === 'smmuv3' ? c.smmu_sync : c.vtd_wait);
        break;
      case 'host_doorbell':
        this.counts.host_doorbells++;
        this.charge('host_doorbell', op.iommu, c.host_doorbell);
        break;
      case 'devtlb_inv':
        this.counts.device_invalidations++;
        // A device that never answers holds the sync for the whole PCIe completion time-out.
        this.charge('devtlb_inv', op.iommu, /time[- ]?out/i.test(op.detail) ? c.atc_timeout : c.atc_inv_rtt);
        break;
      case 'direct_cmd':
        this.counts.direct_commands++;
        this.charge('direct_cmd', op.iommu, c.host_cmd);
        break;
    }
  }

  violation(v: Violation): void {
    this.violations++;
    this.byKind[v.kind] = (this.byKind[v.kind] ?? 0) + 1;
    if (this.firstViolations.length < 20) this.firstViolations.push(v);
    this.eng.tables?.violations.push([this.name, v.seq, v.kind, v.scope, v.explanation]);
  }

  raise(pos: number, error: GuestError): void {
    this.cons = pos;
    this.error = { ...error, pos };
    this.oracle.completedBefore(pos, `the queue stopped on ${error.code} at slot ${pos % this.eng.entries}`, (v) => this.violation(v));
  }

  complete(pos: number): void {
    const row = this.completions.get(pos);
    if (row !== undefined && row.latency === undefined) {
      row.latency = this.clock - row.t0;
      this.latencies.push(row.latency);
    }
    const d = this.eng.decodedAt(pos);
    this.oracle.completedBefore(pos, `the ${d.name} at slot ${pos % this.eng.entries} completed`, (v) => this.violation(v));
  }

  executed(pos: number): void {
    const ref = this.eng.refError;
    if (ref !== undefined && pos >= ref.pos && !this.pastError.has(pos)) {
      this.pastError.add(pos);
      const d = this.eng.decodedAt(pos);
      this.violation({
        kind: 'executed-past-error',
        seq: this.eng.seqAt(pos),
        scope: d.name,
        explanation: `${d.name} at slot ${pos % this.eng.entries} took effect, but bare hardware stopped at slot ${ref.pos % this.eng.entries} with ${ref.code}`,
      });
    }
  }

  /** Publishes new entries: the oracle probes what each invalidation covers, before the VMM runs. */
  publish(prod: number, doorbellSeq: number): void {
    for (let pos = this.published; pos < prod; pos++) {
      const seq = this.eng.seqAt(pos);
      const cls = this.eng.classifiedAt(pos);
      // A map flush (caching mode) follows a non-present → present change: no translation of the
      // range existed, so none can be stale; probing it would fill caches with a mapping the
      // guest had not made yet.
      if (this.eng.causeAt(pos) !== 'map') this.oracle.published(pos, seq, this.eng.decodedAt(pos), cls);
      const role = cls.role;
      if (role === 'sync') {
        this.completions.set(pos, { seq, slot: pos % this.eng.entries, doorbellSeq, t0: this.clock, commands: this.sinceSync, latency: undefined });
        this.sinceSync = 0;
      } else if (role === 'invalidate') this.sinceSync++;
    }
    this.published = Math.max(this.published, prod);
  }

  /** Writes the host work of the event just handled (aggregated per kind and IOMMU). */
  flushEvent(seq: number): void {
    const t = this.eng.tables?.hostOps;
    if (t !== undefined) {
      const rows = [...this.event.values()].sort((a, b) => OP_KINDS.indexOf(a.kind) - OP_KINDS.indexOf(b.kind) || a.iommu - b.iommu);
      for (const r of rows) t.push([this.name, seq, r.kind, r.iommu, r.count, r.entries, BigInt(r.bytes), round(r.cost)]);
    }
    this.event.clear();
  }

  /** Compares the guest-visible state with bare hardware after an event. */
  compare(seq: number): void {
    const e = this.eng;
    const refErr = e.refError ? `${e.refError.code}:${e.refError.value}` : '';
    const myErr = this.error ? `${this.error.code}:${this.error.value}` : '';
    if (e.refCons === this.cons && refErr === myErr) {
      this.lastMismatch = '';
      return;
    }
    const sig = `${e.refCons - this.cons}/${refErr}/${myErr}`;
    if (sig === this.lastMismatch) return;
    this.lastMismatch = sig;
    const at = Math.min(e.refCons, this.cons);
    const cmdSeq = at < this.published ? e.seqAt(at) : seq;
    const slot = (p: number) => p % e.entries;
    if (e.refCons !== this.cons) {
      this.violation({
        kind: 'wrong-consumer-index',
        seq: cmdSeq,
        scope: `slot ${slot(at)}`,
        explanation: `the guest reads the consumer at slot ${slot(this.cons)} where bare hardware shows slot ${slot(e.refCons)}`,
      });
    }
    if (refErr !== myErr) {
      this.violation({
        kind: 'wrong-error',
        seq: cmdSeq,
        scope: `slot ${slot(at)}`,
        explanation: `the guest sees ${myErr || 'no error'} where bare hardware raises ${refErr || 'no error'}`,
      });
    }
  }

  summary(): PolicySummary {
    const sorted = Float64Array.from(this.latencies).sort();
    const completed = [...this.completions.values()].filter((c) => c.latency !== undefined).length;
    const detail = this.policy.detail?.();
    return {
      policy: this.name,
      correct: this.violations === 0,
      violations: this.violations,
      violations_by_kind: { ...this.byKind },
      ...this.counts,
      completions: completed,
      modeled_us: round(this.clock),
      p50_us: round(percentile(sorted, 50)),
      p99_us: round(percentile(sorted, 99)),
      max_us: round(sorted.length ? sorted[sorted.length - 1]! : 0),
      first_violations: this.firstViolations,
      ...(detail !== undefined ? { detail } : {}),
    };
  }
}

interface Tables {
  readonly hostOps: ResultTable;
  readonly completions: ResultTable;
  readonly violations: ResultTable;
  readonly summary: ResultTable;
}

class Engine {
  readonly header: TraceHeader;
  readonly entries: number;
  readonly start: number;
  readonly smmu: boolean;
  readonly mem = new GuestMemory();
  readonly base: bigint;
  readonly descBytes: 16 | 32;
  private readonly words: 2 | 4;
  private readonly codec;
  readonly ref: QueueUnit;
  private readonly refEvents: UnitEvent[] = [];
  refCons: number;
  refError: (GuestError & { pos: number }) | undefined;
  readonly refCompleted = new Set<number>();
  refErrors = 0;
  prod: number;
  private prodIndex: number;
  private prodWrap = 0;
  /** Trace seq of the last command written to each slot, and its decode (cleared on rewrite). */
  private readonly slotSeq: Int32Array;
  private readonly slotDecoded: (Decoded | undefined)[];
  private readonly slotClassified: (Classified | undefined)[];
  /** Cause (map/unmap) of the command last written to each slot, when the trace records it. */
  private readonly slotCause: (Cause | undefined)[];
  readonly runs: Run[];
  tables: Tables | undefined;

  constructor(readonly trace: OpenTrace, readonly kit: ReplayKit, readonly topology: ResolvedTopology, readonly costs: Costs, policies: readonly ResolvedPolicy[], tables: Tables | undefined) {
    this.header = trace.header;
    this.entries = this.header.queue_entries;
    this.start = this.header.start ?? 0;
    this.smmu = this.header.arch === 'smmuv3';
    this.descBytes = this.header.desc_bytes;
    this.words = wordsPerSlot(this.header);
    this.codec = codecFor(this.header.arch);
    this.base = queueBase(this.header);
    this.mem.addRegion(this.base, this.entries * this.descBytes);
    this.slotSeq = new Int32Array(this.entries).fill(-1);
    this.slotDecoded = new Array(this.entries).fill(undefined);
    this.slotClassified = new Array(this.entries).fill(undefined);
    this.slotCause = new Array(this.entries).fill(undefined);
    this.ref = kit.guestUnit(topology.topology, this.mem, (e) => this.refEvents.push(e));
    // A trace that starts mid-ring: both sides begin with an empty queue at `start`.
    this.ref.configureQueue(this.base, this.entries, this.descBytes, this.start);
    this.refCons = this.start;
    this.prod = this.start;
    this.prodIndex = this.start;
    this.tables = tables;
    this.runs = policies.map((p) => new Run(p.name, p.make, this));
  }

  seqAt(pos: number): number {
    return this.slotSeq[pos % this.entries]!;
  }

  decodedAt(pos: number): Decoded {
    const slot = pos % this.entries;
    let d = this.slotDecoded[slot];
    if (d === undefined) {
      const w = this.mem.readWords(this.base + BigInt(slot * this.descBytes), this.words)!;
      d = this.codec.decode(w, { descBytes: this.descBytes });
      this.slotDecoded[slot] = d;
    }
    return d;
  }

  /** Role and cache scope of the command at `pos`, computed once per write of its slot. */
  classifiedAt(pos: number): Classified {
    const slot = pos % this.entries;
    let c = this.slotClassified[slot];
    if (c === undefined) {
      c = classify(this.decodedAt(pos));
      this.slotClassified[slot] = c;
    }
    return c;
  }

  causeAt(pos: number): Cause | undefined {
    return this.slotCause[pos % this.entries];
  }

  command(seq: number, slot: number, words: readonly bigint[], cause?: Cause): void {
    this.mem.writeWords(this.base + BigInt(slot * this.descBytes), words);
    this.slotSeq[slot] = seq;
    this.slotCause[slot] = cause;
    this.slotDecoded[slot] = undefined;
    this.slotClassified[slot] = undefined;
  }

  /** Reference state after an event: consumer position, error, completions. */
  private absorbReference(): void {
    const from = this.refCons;
    for (const ev of this.refEvents) {
      if (ev.kind === 'complete') this.refCompleted.add(posAt(ev.slot, 0, from, this.entries, false));
      else if (ev.kind === 'error') this.refErrors++;
    }
    this.refEvents.length = 0;
    const c = this.ref.consumer();
    this.refCons = posAt(c.index, c.wrap, from, this.entries, this.smmu);
    this.refError = c.error ? { code: c.error.code, value: c.error.value, pos: this.refCons } : undefined;
  }

  doorbell(seq: number, index: number, wrap: number): void {
    const delta = this.smmu
      ? (index + wrap * this.entries - (this.prodIndex + this.prodWrap * this.entries) + 2 * this.entries) % (2 * this.entries)
      : (index - this.prodIndex + this.entries) % this.entries;
    this.prod += delta;
    this.prodIndex = index;
    this.prodWrap = wrap;
    this.ref.writeProducer(index, wrap);
    this.absorbReference();
    for (const r of this.runs) {
      r.doorbellSeq = seq;
      r.publish(this.prod, seq);
      r.policy.doorbell(r.ctx, this.prod);
      r.flushEvent(seq);
      r.compare(seq);
    }
  }

  ack(seq: number): void {
    this.ref.acknowledge();
    this.absorbReference();
    for (const r of this.runs) {
      r.error = undefined;
      r.policy.ack(r.ctx, this.prod);
      r.flushEvent(seq);
    }
  }

  fault(sid: number, timedOut: boolean): void {
    this.ref.setAtcTimeout(sid, timedOut);
    for (const r of this.runs) r.host.setAtcTimeout(sid, timedOut);
  }

  /** Final comparison, and the completion points bare hardware completed that a policy never did. */
  finish(lastSeq: number): void {
    for (const r of this.runs) r.compare(lastSeq);
    for (const r of this.runs) {
      for (const [pos, c] of this.sortedCompletions(r)) {
        const refDone = this.refCompleted.has(pos);
        const done = c.latency !== undefined;
        if (refDone && !done) {
          r.violation({
            kind: 'never-completed',
            seq: c.seq,
            scope: `slot ${c.slot}`,
            explanation: `bare hardware completed the completion point at slot ${c.slot}; under this policy the guest waits forever`,
          });
        }
        this.tables?.completions.push([r.name, c.seq, c.slot, c.doorbellSeq, done, refDone, c.latency === undefined ? null : round(c.latency), c.commands]);
      }
    }
  }

  private sortedCompletions(r: Run): [number, CompletionRow][] {
    return [...r.completions].sort((a, b) => a[0] - b[0]);
  }
}

export async function replayTrace(trace: OpenTrace, opts: ReplayOptions): Promise<ReplayOutput> {
  const names = opts.policies.map((p) => p.name);
  let files: { name: keyof Tables; file: ResultFile }[] = [];
  let tables: Tables | undefined;
  if (opts.outDir !== undefined) {
    const mk = (name: keyof Tables, file: string, spec: ReturnType<typeof hostOpsSpec>) => {
      const f = new ResultFile(join(opts.outDir!, file));
      files.push({ name, file: f });
      return new ResultTable(file.replace('.arrow', ''), spec, f.write);
    };
    tables = {
      hostOps: mk('hostOps', 'host_ops.arrow', hostOpsSpec(names)),
      completions: mk('completions', 'completions.arrow', completionsSpec(names)),
      violations: mk('violations', 'violations.arrow', violationsSpec(names)),
      summary: mk('summary', 'summary.arrow', summarySpec(names)),
    };
  }
  try {
    const eng = new Engine(trace, opts.kit, opts.topology, opts.costs, opts.policies, tables);
    const counts = await dispatchTrace(
      trace,
      {
        command: (seq, slot, words, cause) => eng.command(seq, slot, words, cause),
        doorbell: (seq, index, wrap) => eng.doorbell(seq, index, wrap),
        ack: (seq) => eng.ack(seq),
        fault: (_seq, sid, timedOut) => eng.fault(sid, timedOut),
      },
      opts.onProgress,
    );
    const { events, doorbells } = counts;
    eng.finish(Math.max(0, events - 1));
    const summaries = eng.runs.map((r) => r.summary());
    if (tables !== undefined) {
      for (const s of summaries) {
        tables.summary.push([s.policy, s.correct, s.violations, ...SUMMARY_COUNTS.map((c) => BigInt(s[c])), s.completions, s.modeled_us, s.p50_us, s.p99_us, s.max_us]);
      }
      for (const f of files) f.file.close(tables[f.name]);
      files = [];
    }
    return {
      trace: trace.path,
      arch: trace.header.arch,
      events,
      doorbells,
      reference: { completions: eng.refCompleted.size, errors: eng.refErrors },
      topology: opts.topology,
      policies: summaries,
    };
  } finally {
    for (const f of files) f.file.abort();
  }
}

