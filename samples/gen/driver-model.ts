// The workload (driver) model: CPUs issue I/O requests (closed loop like dd, or Poisson arrivals at
// --rate), each request maps its buffers on its device's domain and unmaps them --latency-us later.
// Every map, unmap and flush becomes the driver's submissions, run one after another on their CPU,
// each holding the CPU for --submit-us; CPUs interleave at submission granularity. VT-d callers
// take the queue lock in turn (qi_submit_sync); SMMUv3 callers starting within --gather-us of a
// publish share its CMDQ_PROD write (spec/smmuv3.md §4.1). Lazy mode queues unmapped IOVAs per
// domain and flushes the domain when its 10 ms timer fires or a CPU has queued 256 (IOVA_FQ_SIZE).
//
// State is O(devices + live mappings): per domain an allocator and the flush queue, per CPU the
// requests in flight and the submissions not yet run.
//
// Several guest queues (--vsmmus per-iommu: one vSMMU per physical SMMU): each device sits behind
// one instance; a domain's invalidations go to every instance holding one of its devices, one after
// the other in instance order, each with its own batches and CMD_SYNCs, and each instance's ATC_INVs
// only for its own devices — arm_smmu_domain_inv_range of the arm_smmu_invs rework (spec/smmuv3.md
// §4.3): the domain's invalidation array is sorted by SMMU and a batch ends (is submitted with its
// CMD_SYNC) whenever the next entry targets another SMMU ("Changing smmu means changing command
// queue"), and before the first ATS entry of an SMMU. A device's attach and each instance's reset
// go to its own instance. CPUs gather only submissions for the same queue under one CMDQ_PROD write.

import type { Rng } from '../rng.js';
import { withCause, type LinuxDriver, type Submission } from './driver.js';
import { IovaAllocator } from './iova.js';
import type { DriverName, GenOptions } from './options.js';
import { GuestQueue, type Part } from './queue.js';
import { domainTag, type GenDevice, type GenTopology } from './topology.js';
import { PAGE, pickWeighted } from './units.js';

/** How a driver maps one request (virtio_ring maps every sg entry on its own; nvme one range). */
interface Shape {
  /** Largest request the block layer sends the device; bigger I/O is split. */
  readonly maxBytes: number;
  /** Data mapped page by page (physically scattered pages) rather than as one range. */
  readonly perPage: boolean;
  /** One-page control mappings per request (virtio-blk: header, status, indirect table). */
  readonly control: number;
}

export const SHAPES: Readonly<Record<DriverName, Shape>> = {
  sg: { maxBytes: Infinity, perPage: false, control: 0 },
  // QEMU virtio-blk seg_max 126; every segment a page.
  virtio: { maxBytes: 126 * PAGE, perPage: true, control: 3 },
  // QEMU nvme MDTS 7: 512 KiB per command.
  nvme: { maxBytes: 512 << 10, perPage: false, control: 0 },
};

/** IOVA_FQ_SIZE: a CPU's flush-queue ring; full means flush now. */
const FQ_SIZE = 256;
/** HZ of the Debian kernels: timers fire on 4 ms jiffies. */
const JIFFY_NS = 4e6;

interface Mapping {
  readonly dom: number;
  readonly iova: number;
  readonly bytes: number;
}

interface Request {
  readonly done: number;
  readonly maps: readonly Mapping[];
}

interface Pending {
  readonly sub: Submission;
  /** The guest queue (vSMMU instance) it goes to. */
  readonly queue: number;
  /** Mappings whose IOVAs become free once this submission has run. */
  readonly release?: readonly Mapping[];
}

interface Cpu {
  readonly index: number;
  busyUntil: number;
  nextArrival: number;
  readonly inflight: Request[]; // binary min-heap on `done`
  readonly pending: Pending[];
  head: number;
}

/** A domain as one vSMMU instance sees it: the domain's ATS devices behind that instance. */
interface DomainPart {
  readonly queue: number;
  readonly view: { index: number; tag: number; ats: GenDevice[] };
}

/** A submission and the guest queue it goes to. */
interface Routed {
  readonly sub: Submission;
  readonly queue: number;
}

interface Domain {
  readonly view: { index: number; tag: number; ats: GenDevice[] };
  /** Per instance holding a device of the domain, in instance order (one queue: the view itself). */
  readonly parts: DomainPart[];
  readonly iova: IovaAllocator;
  fq: Mapping[];
  readonly fqCount: number[];
  timerAt: number;
  timerCpu: number;
}

export interface DriverModelResult {
  readonly requests: number;
  /** Model time at the end, ns. */
  readonly endNs: number;
}

export class DriverModel {
  private t = 0;
  private readonly cpus: Cpu[];
  private readonly domains: Domain[];
  private readonly active: GenDevice[];
  private readonly activeCum: number[];
  private issued = 0;
  /** VT-d: when each queue's lock (qi_submit_sync) is free. */
  private readonly lockFree: number[];
  private stopped = false;
  private readonly latencyNs: number;
  private readonly submitNs: number;
  private readonly gatherNs: number;
  private readonly fqJiffies: number;
  private readonly unlimited: boolean;

  constructor(
    private readonly o: GenOptions,
    private readonly topo: GenTopology,
    private readonly driver: LinuxDriver,
    private readonly queues: readonly GuestQueue[],
    private readonly rng: Rng,
    private readonly arch: 'smmuv3' | 'vtd',
    private readonly lazy: boolean,
  ) {
    this.latencyNs = o.latencyUs * 1e3;
    this.submitNs = o.submitUs * 1e3;
    this.gatherNs = o.gatherUs * 1e3;
    this.fqJiffies = Math.ceil((o.fqTimeoutMs * 1e6) / JIFFY_NS);
    this.unlimited = o.commands > 0;
    this.cpus = Array.from({ length: o.cpus }, (_, index) => ({
      index,
      busyUntil: 0,
      nextArrival: Infinity,
      inflight: [],
      pending: [],
      head: 0,
    }));
    this.domains = Array.from({ length: topo.domainCount }, (_, index) => ({
      view: { index, tag: domainTag(arch, index), ats: [] },
      iova: new IovaAllocator(),
      fq: [],
      fqCount: new Array<number>(o.cpus).fill(0),
      timerAt: Infinity,
      timerCpu: 0,
      parts: [],
    }));
    this.lockFree = queues.map(() => 0);
    this.active = topo.devices.filter((d) => d.weight > 0);
    const total = this.active.reduce((a, d) => a + d.weight, 0);
    let acc = 0;
    this.activeCum = this.active.map((d) => (acc += d.weight / total));
  }

  run(): DriverModelResult {
    this.boot();
    const start = this.t;
    this.lockFree.fill(start);
    for (const c of this.cpus) {
      c.busyUntil = start;
      c.nextArrival = this.o.rate > 0 ? start + this.interArrival() : start;
    }
    while (!this.stopped && this.step());
    return { requests: this.issued, endNs: this.t };
  }

  /** Reset (each instance), attaches (each on its device's instance) and interrupt set-up, in order on CPU 0. */
  private boot(): void {
    const seen = new Set<string>();
    const subs: Routed[] = [];
    this.queues.forEach((_, queue) => subs.push(...this.driver.boot().map((sub) => ({ sub, queue }))));
    for (const d of this.topo.devices) {
      const queue = d.queue ?? 0;
      const dom = this.domains[d.domain]!;
      const part = this.partOf(dom, queue);
      if (d.ats) {
        part.view.ats.push(d);
        if (part.view !== dom.view) dom.view.ats.push(d);
      }
      const key = `${d.domain}/${queue}`;
      subs.push(...this.driver.attach(d, part.view, !seen.has(key)).map((sub) => ({ sub, queue })));
      seen.add(key);
    }
    this.queues.forEach((_, queue) => {
      const devices = this.topo.devices.filter((d) => (d.queue ?? 0) === queue);
      subs.push(
        ...this.driver
          .afterAttach(devices.length === this.topo.devices.length ? this.topo.devices : devices)
          .map((sub) => ({ sub, queue })),
      );
    });
    for (const r of subs) {
      if (this.stopped) return;
      this.publish(r.queue, [{ sub: r.sub, cpu: 0 }], this.t);
      this.t += this.submitNs;
    }
  }

  /** The domain as instance `queue` sees it (created at its first device there; one queue: the domain's own view). */
  private partOf(dom: Domain, queue: number): DomainPart {
    let p = dom.parts.find((x) => x.queue === queue);
    if (p === undefined) {
      p = { queue, view: this.queues.length === 1 ? dom.view : { index: dom.view.index, tag: dom.view.tag, ats: [] } };
      dom.parts.push(p);
      dom.parts.sort((a, b) => a.queue - b.queue);
    }
    return p;
  }

  /** A domain-wide driver call made on every instance holding a device of the domain, in instance order. */
  private onEach(dom: Domain, call: (view: DomainPart['view']) => readonly Submission[]): Routed[] {
    return dom.parts.flatMap((p) => call(p.view).map((sub) => ({ sub, queue: p.queue })));
  }

  /** Runs the earliest action; false when nothing is left to do. */
  private step(): boolean {
    let best = Infinity;
    let what: 'submit' | 'arrive' | 'complete' | 'timer' = 'submit';
    let who = -1;
    for (const c of this.cpus) {
      if (c.head < c.pending.length) {
        const at = this.arch === 'vtd' ? Math.max(c.busyUntil, this.lockFree[c.pending[c.head]!.queue]!) : c.busyUntil;
        if (at < best) [best, what, who] = [at, 'submit', c.index];
        continue;
      }
      const done = c.inflight.length > 0 ? Math.max(c.inflight[0]!.done, c.busyUntil) : Infinity;
      if (done < best) [best, what, who] = [done, 'complete', c.index];
      if (this.moreRequests()) {
        const at = Math.max(c.nextArrival, c.busyUntil);
        if (at < best) [best, what, who] = [at, 'arrive', c.index];
      }
    }
    for (const d of this.domains) if (d.timerAt < best) [best, what, who] = [d.timerAt, 'timer', d.view.index];
    if (best === Infinity) return false;
    this.t = Math.max(this.t, best); // an action due while its CPU was busy runs now
    if (what === 'submit') this.submit(this.cpus[who]!);
    else if (what === 'arrive') this.arrive(this.cpus[who]!);
    else if (what === 'complete') this.complete(this.cpus[who]!);
    else this.timer(this.domains[who]!);
    return true;
  }

  private moreRequests(): boolean {
    return this.unlimited || this.issued < this.o.requests;
  }

  private interArrival(): number {
    return (-Math.log(1 - this.rng.float()) / this.o.rate) * 1e9;
  }

  private submit(c: Cpu): void {
    const queue = c.pending[c.head]!.queue;
    const parts: Part[] = [this.take(c)];
    if (this.arch === 'smmuv3' && this.gatherNs > 0 && this.cpus.length > 1) {
      // Other CPUs' submissions to the same queue that start before this publish is done ride on its PROD write.
      let slots = GuestQueue.size(parts);
      const until = this.t + this.gatherNs;
      for (const d of this.cpus) {
        if (d === c || d.busyUntil > until) continue;
        // A request completing on d within the window unmaps now: its first submission can join.
        if (d.head >= d.pending.length && d.inflight.length > 0 && d.inflight[0]!.done <= until) this.complete(d);
        if (d.head >= d.pending.length || d.pending[d.head]!.queue !== queue) continue;
        const next = d.pending[d.head]!.sub;
        const n = next.cmds.length + (next.sync ? 1 : 0);
        if (slots + n > this.queues[queue]!.entries) continue;
        slots += n;
        parts.push(this.take(d));
        d.busyUntil = Math.max(d.busyUntil, this.t) + this.submitNs;
      }
    }
    this.publish(queue, parts, this.t);
    c.busyUntil = this.t + this.submitNs;
    if (this.arch === 'vtd') this.lockFree[queue] = c.busyUntil;
  }

  private take(c: Cpu): Part {
    const p = c.pending[c.head]!;
    c.pending[c.head++] = undefined as unknown as Pending;
    if (c.head === c.pending.length) {
      c.pending.length = 0;
      c.head = 0;
    }
    if (p.release) for (const m of p.release) this.domains[m.dom]!.iova.release(m.iova, m.bytes / PAGE);
    return { sub: p.sub, cpu: c.index };
  }

  private publish(queue: number, parts: readonly Part[], t: number): void {
    this.queues[queue]!.publish(parts, t);
    if (this.o.commands > 0 && this.commandsWritten() >= this.o.commands) this.stopped = true;
  }

  /** Entries written on every queue. */
  private commandsWritten(): number {
    let n = 0;
    for (const q of this.queues) n += q.commands;
    return n;
  }

  private queueSubs(c: Cpu, subs: readonly Routed[], release?: readonly Mapping[]): void {
    subs.forEach(({ sub, queue }, i) => c.pending.push(i === subs.length - 1 && release ? { sub, queue, release } : { sub, queue }));
    if (subs.length === 0 && release) for (const m of release) this.domains[m.dom]!.iova.release(m.iova, m.bytes / PAGE);
  }

  private arrive(c: Cpu): void {
    const dev = this.deviceFor(this.issued++);
    const bytes = this.o.sizes.sizes[pickWeighted(this.o.sizes.cumulative, this.rng.float())]!;
    const dom = this.domains[dev.domain]!;
    const maps: Mapping[] = [];
    for (const len of mappingSizes(SHAPES[dev.driver], bytes)) {
      const m = { dom: dev.domain, iova: dom.iova.alloc(len / PAGE), bytes: len };
      maps.push(m);
      this.queueSubs(
        c,
        this.onEach(dom, (v) => this.driver.map(v, m.iova, m.bytes)),
      );
    }
    heapPush(c.inflight, { done: this.t + this.latencyNs, maps });
    c.nextArrival = this.o.rate > 0 ? this.t + this.interArrival() : Infinity;
  }

  private complete(c: Cpu): void {
    const r = heapPop(c.inflight);
    for (const m of r.maps) {
      const dom = this.domains[m.dom]!;
      if (!this.lazy) {
        this.queueSubs(
          c,
          this.onEach(dom, (v) => this.driver.unmap(v, m.iova, m.bytes)),
          [m],
        );
        continue;
      }
      dom.fq.push(m);
      if (++dom.fqCount[c.index]! >= FQ_SIZE) this.flushDomain(dom, c);
      else if (dom.timerAt === Infinity) {
        // mod_timer(jiffies + msecs_to_jiffies(IOVA_FQ_TIMEOUT)): fires on a jiffy boundary.
        dom.timerAt = (Math.floor(this.t / JIFFY_NS) + this.fqJiffies) * JIFFY_NS;
        dom.timerCpu = c.index;
      }
    }
    if (this.o.rate === 0) c.nextArrival = this.t;
  }

  // fq_flush_timeout: flushes whether or not a full ring flushed the domain meanwhile.
  private timer(dom: Domain): void {
    dom.timerAt = Infinity;
    this.flushDomain(dom, this.cpus[dom.timerCpu]!);
  }

  private flushDomain(dom: Domain, c: Cpu): void {
    const released = dom.fq;
    dom.fq = [];
    dom.fqCount.fill(0);
    this.queueSubs(
      c,
      this.onEach(dom, (v) => withCause(this.driver.flushAll(v), 'unmap')),
      released,
    ); // the flush queue's unmaps
  }

  /** Mixed: a weighted draw. Sequential: device after device in topology order, like the captures. */
  private deviceFor(k: number): GenDevice {
    if (this.o.order === 'mixed') return this.active[pickWeighted(this.activeCum, this.rng.float())]!;
    // Blocks in proportion to the weights: the whole run split once, or blocks of 1024 requests
    // cycling when the run ends on a command count.
    const span = this.unlimited ? 1024 * this.active.length : this.o.requests;
    const u = (k % span) / span;
    return this.active[pickWeighted(this.activeCum, u)]!;
  }
}

/** The DMA mappings one request needs, in the order the driver maps them. */
export function mappingSizes(s: Shape, bytes: number): number[] {
  const out: number[] = [];
  for (let left = bytes; left > 0; left -= s.maxBytes) {
    const chunk = Math.min(left, s.maxBytes);
    for (let i = 0; i < s.control; i++) out.push(PAGE);
    if (s.perPage) for (let p = 0; p < chunk; p += PAGE) out.push(PAGE);
    else out.push(chunk);
  }
  return out;
}

function heapPush(h: Request[], r: Request): void {
  h.push(r);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]!.done <= r.done) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = r;
}

function heapPop(h: Request[]): Request {
  const top = h[0]!;
  const last = h.pop()!;
  if (h.length > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const m = r < h.length && h[r]!.done < h[l]!.done ? r : l;
      if (h[m]!.done >= last.done) break;
      h[i] = h[m]!;
      i = m;
    }
    h[i] = last;
  }
  return top;
}
