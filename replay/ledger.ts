// One policy run's account of its work: the summary counts, the modelled clock, and the host work
// of the event being handled, aggregated per (host_ops kind, physical IOMMU) in flat typed arrays
// (no object or Map per operation). `flush` writes the event's rows in (kind, IOMMU) order. A run
// that writes no host_ops rows (compare, the summary alone) keeps no per-event cells at all.

import type { HostOp, HostOpKind } from './host.js';
import { workIndex, type CompiledCosts, type WorkKind } from './cost/model.js';
import { ALL_OP_KINDS, SUMMARY_COUNTS } from './tables.js';
import { unreachable } from '../formats/result.js';

const OP_NAMES: readonly string[] = ALL_OP_KINDS;
const round = (x: number) => Math.round(x * 1000) / 1000;

/** Work-kind numbers (cost model rows) of the host op kinds, looked up once. */
const HOST_WORK: Readonly<Record<HostOpKind, number>> = {
  ioctl: workIndex('ioctl'),
  host_cmd: workIndex('host_cmd'),
  host_sync: workIndex('host_sync'),
  host_doorbell: workIndex('host_doorbell'),
  devtlb_inv: workIndex('devtlb_inv'),
  direct_cmd: workIndex('direct_cmd'),
};

/**
 * The work-kind number of a host op kind, by a switch: `HOST_WORK[kind]` at one site sees six key
 * names, and a keyed load that sees more than one name is megamorphic (a stub-cache probe per op,
 * 120 M instructions of the per-command 300k replay). Each case's load names one property.
 */
function hostWork(kind: HostOpKind): number {
  switch (kind) {
    case 'host_cmd':
      return HOST_WORK.host_cmd;
    case 'host_sync':
      return HOST_WORK.host_sync;
    case 'ioctl':
      return HOST_WORK.ioctl;
    case 'host_doorbell':
      return HOST_WORK.host_doorbell;
    case 'devtlb_inv':
      return HOST_WORK.devtlb_inv;
    case 'direct_cmd':
      return HOST_WORK.direct_cmd;
    default:
      return unreachable(kind);
  }
}

/** Where a ledger writes an event's rows: (kind, iommu, count, entries, bytes, cost_us). */
export type HostOpsRowSink = (kind: string, iommu: number, count: number, entries: number, bytes: number, cost: number) => void;

export class Ledger {
  /** Summary counts, indexed like SUMMARY_COUNTS. */
  readonly counts = new Float64Array(SUMMARY_COUNTS.length);
  /** Modelled time so far (µs). */
  clock = 0;
  /** Physical IOMMU ids map to columns 1..; column 0 is work in the VMM (iommu -1). */
  private readonly stride: number;
  private readonly cellCount: Uint32Array;
  private readonly cellEntries: Float64Array;
  private readonly cellBytes: Float64Array;
  private readonly cellCost: Float64Array;
  /** Cells touched by the current event. */
  private readonly touched: Int32Array;
  private nTouched = 0;

  /**
   * `rows`: whether anyone reads the event's rows (`flush` with a sink). Without, a charge moves
   * the clock and the counts only: aggregating each op into its cell and zeroing the cells per
   * event was half of a charge's instructions and most of a doorbell's own, in a run that throws
   * the cells away.
   */
  constructor(
    private readonly costs: CompiledCosts,
    maxIommuId: number,
    private readonly entryLen: number,
    private readonly rows = true,
  ) {
    this.stride = maxIommuId + 2;
    const cells = ALL_OP_KINDS.length * this.stride;
    this.cellCount = new Uint32Array(cells);
    this.cellEntries = new Float64Array(cells);
    this.cellBytes = new Float64Array(cells);
    this.cellCost = new Float64Array(cells);
    this.touched = new Int32Array(cells);
  }

  /** Charges one operation of work kind `w` (a WORK_KINDS index). */
  charge(w: number, iommu: number, entries: number, bytes: number, timedOut: boolean): void {
    const c = this.costs;
    const t = c.timedOut[w]!;
    const cost = timedOut && t === t ? t : c.cost[w]! + entries * c.perEntry[w]!;
    const k = c.count[w]!;
    if (k >= 0) this.counts[k]!++;
    this.clock += cost;
    if (!this.rows) return;
    const cell = c.op[w]! * this.stride + iommu + 1;
    if (this.cellCount[cell] === 0) this.touched[this.nTouched++] = cell;
    this.cellCount[cell]!++;
    this.cellEntries[cell]! += entries;
    this.cellBytes[cell]! += bytes;
    this.cellCost[cell]! += cost;
  }

  /**
   * Charges a wait of `us` on physical IOMMU `iommu` (shared-host: a lock or queue space another
   * VM holds) plus the work kind's fixed cost; no summary count moves.
   */
  wait(w: number, iommu: number, us: number): void {
    const c = this.costs;
    const cost = c.cost[w]! + us;
    this.clock += cost;
    if (!this.rows) return;
    const cell = c.op[w]! * this.stride + iommu + 1;
    if (this.cellCount[cell] === 0) this.touched[this.nTouched++] = cell;
    this.cellCount[cell]!++;
    this.cellCost[cell]! += cost;
  }

  vmm(work: number): void {
    this.charge(work, -1, 0, 0, false);
  }

  host(op: HostOp): void {
    const w = hostWork(op.kind);
    if (op.kind === 'ioctl') {
      const entries = op.entries ?? 0;
      const bytes = op.bytes ?? entries * this.entryLen;
      this.counts[BYTES_COPIED]! += bytes;
      this.charge(w, op.iommu, entries, bytes, false);
    } else this.charge(w, op.iommu, 0, 0, op.timedOut === true);
  }

  /**
   * Writes the current event's rows, ordered by kind then IOMMU, and starts the next event (a
   * ledger made without `rows` has none).
   */
  flush(out: HostOpsRowSink | undefined): void {
    const n = this.nTouched;
    if (n === 0) return;
    const touched = this.touched;
    // The order is the rows' order only: with no sink (compare, the summary alone) nothing is written.
    if (n > 1 && out !== undefined) sortPrefix(touched, n);
    for (let i = 0; i < n; i++) {
      const cell = touched[i]!;
      const kind = (cell / this.stride) | 0;
      out?.(
        OP_NAMES[kind]!,
        (cell % this.stride) - 1,
        this.cellCount[cell]!,
        this.cellEntries[cell]!,
        this.cellBytes[cell]!,
        round(this.cellCost[cell]!),
      );
      this.cellCount[cell] = 0;
      this.cellEntries[cell] = 0;
      this.cellBytes[cell] = 0;
      this.cellCost[cell] = 0;
    }
    this.nTouched = 0;
  }

  /** The counts by name, for the summary. */
  countsByName(): Record<(typeof SUMMARY_COUNTS)[number], number> {
    return Object.fromEntries(SUMMARY_COUNTS.map((c, i) => [c, this.counts[i]!])) as Record<(typeof SUMMARY_COUNTS)[number], number>;
  }
}

const BYTES_COPIED = SUMMARY_COUNTS.indexOf('bytes_copied');

/** Sorts a[0..n) ascending in place (an event touches a handful of cells: no subarray view made). */
function sortPrefix(a: Int32Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}

/** The work-kind number of a VMM op kind. */
export const vmmWork = (kind: WorkKind): number => workIndex(kind);
