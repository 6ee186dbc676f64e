// Traffic statistics that say whether generated traffic looks like a real guest's, computed the
// same way from a capture and from a generated trace, and their comparison:
//   op mix          share of each op among the invalidation and configuration commands (not the
//                   completion points of VT-d, not IEC: see TOLERANCE)
//   per doorbell    entries each doorbell published (IQT / CMDQ_PROD writes)
//   size class      VT-d: AM of page-selective (P-)IOTLB invalidations; SMMUv3: ceil(log2 pages)
//                   of TLBI_NH_VA, the same scale
//   fan-out         device-TLB / ATC invalidations per IOTLB / TLBI invalidation
// Both sides are read from canonical traces: a capture goes through `ingest` first (guest ftrace
// for the raw words, QEMU log for the doorbells and waits).

import { join } from 'node:path';
import type { Decoded } from '../../formats/codec/codec.js';
import type { Arch } from '../../formats/codec/table.js';
import { codecFor } from '../../formats/codecs.js';
import { ingest } from '../../formats/ingest/ingest.js';
import { period, published, wrapValue } from '../../formats/ring.js';
import { openTrace } from '../../formats/trace/io.js';
import { viewBatch } from '../../formats/trace/view.js';

export interface TrafficStats {
  readonly arch: Arch;
  readonly ops: Readonly<Record<string, number>>;
  /** Histogram: entries published → doorbells. */
  readonly perDoorbell: Readonly<Record<string, number>>;
  /** Histogram: size class → invalidations. */
  readonly sizeClass: Readonly<Record<string, number>>;
  readonly deviceInvalidations: number;
  readonly iotlbInvalidations: number;
}

/** Ops left out of the op mix: VT-d waits (qi_submit does not trace them) and interrupt-cache ones. */
const NOT_IN_MIX = new Set(['inv_wait', 'iec_inv']);

class Collector {
  readonly ops = new Map<string, number>();
  readonly perDoorbell = new Map<string, number>();
  readonly sizeClass = new Map<string, number>();
  device = 0;
  iotlb = 0;

  constructor(readonly arch: Arch) {}

  command(d: Decoded): void {
    bump(this.ops, d.name);
    const f = d.fields;
    switch (d.name) {
      case 'iotlb_inv':
      case 'p_iotlb_inv':
        this.iotlb++;
        if (f.G === 3n) bump(this.sizeClass, String(f.AM));
        break;
      case 'dev_tlb_inv':
      case 'p_dev_tlb_inv':
      case 'CMD_ATC_INV':
        this.device++;
        break;
      case 'CMD_TLBI_NH_VA': {
        this.iotlb++;
        const pages = f.TG === 0n ? 1n : (f.NUM! + 1n) << f.SCALE!;
        bump(this.sizeClass, String(pages === 1n ? 0 : (pages - 1n).toString(2).length)); // ceil(log2)
        break;
      }
      case 'CMD_TLBI_NH_ASID':
        this.iotlb++;
        break;
    }
  }

  doorbell(entries: number): void {
    bump(this.perDoorbell, String(entries));
  }

  done(): TrafficStats {
    return {
      arch: this.arch,
      ops: sortedRecord(this.ops),
      perDoorbell: sortedRecord(this.perDoorbell),
      sizeClass: sortedRecord(this.sizeClass),
      deviceInvalidations: this.device,
      iotlbInvalidations: this.iotlb,
    };
  }
}

const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
const sortedRecord = (m: Map<string, number>) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));

/** Statistics of a generated (or any canonical) trace. */
export async function traceStats(path: string): Promise<TrafficStats> {
  const t = await openTrace(path);
  const { arch, queue_entries: entries } = t.header;
  const codec = codecFor(arch);
  const words = t.header.desc_bytes === 32 ? 4 : 2;
  const c = new Collector(arch);
  let pos = t.header.start ?? 0; // the producer on the ring of 2E: index, wrap bit above it (formats/ring.ts)
  for await (const batch of t.batches()) {
    const v = viewBatch(batch);
    for (let i = 0; i < v.length; i++) {
      const kind = v.kindOf(i);
      if (kind === 'cmd') c.command(codec.decode(v.words(i, words), { descBytes: t.header.desc_bytes }));
      else if (kind === 'doorbell') {
        const next = wrapValue(v.slot.values[i]!, v.wrap.values[i]!, entries);
        c.doorbell(published(pos, next, period(entries, true)));
        pos = next;
      }
    }
  }
  return c.done();
}

/**
 * Statistics of a capture run (`vtd-legacy-strict`, ...): both sides of the run ingested into one
 * canonical trace (formats/ingest: guest ftrace for the raw words, QEMU log for the doorbells and
 * the waits), then read like a generated one.
 */
export async function captureStats(dir: string, run: string, scratch: string): Promise<TrafficStats> {
  const output = join(scratch, `capture-${run}.arrow`);
  await ingest([join(dir, `qemu-${run}.log.gz`), join(dir, `guest-${run}.txt.gz`)], { output });
  return traceStats(output);
}

/**
 * The tolerances of the realism check, and why.
 * - opShare 0.05: absolute difference of any op's share. The workload model maps virtio-blk data
 *   page by page and nvme data as one range; the real guest merged some contiguous pages and did
 *   boot-time I/O the model leaves out, which moves shares by a few points.
 * - opShareSmall 0.12: the same for captures of under 200 commands (the lazy runs): two binomial
 *   standard deviations of a share near 0.5 over ~75 commands, the sampling noise of the capture.
 * - doorbellMean 0.05: relative difference of the mean entries per doorbell.
 * - sizeTvd 0.06: total variation distance of the size-class histograms (same reasons as opShare).
 * - fanout 0.12: relative difference of device-TLB per IOTLB invalidation (virtio-blk's share of
 *   the mappings, see opShare); both zero also passes (no ATS in the SMMUv3 captures).
 * IEC invalidations stay out of the op mix: they follow the guest's interrupt set-up, not DMA, and
 * the guest side misses the first 9 of them (ftrace starts late; README "The two sides agree").
 */
export const TOLERANCE = { opShare: 0.05, opShareSmall: 0.12, doorbellMean: 0.05, sizeTvd: 0.06, fanout: 0.12 } as const;

export interface Comparison {
  readonly metric: string;
  readonly capture: string;
  readonly generated: string;
  readonly difference: number;
  readonly tolerance: number;
  readonly ok: boolean;
}

function shares(h: Readonly<Record<string, number>>, skip?: ReadonlySet<string>): Map<string, number> {
  const kept = Object.entries(h).filter(([k]) => !skip?.has(k));
  const total = kept.reduce((a, [, v]) => a + v, 0);
  return new Map(kept.map(([k, v]) => [k, total > 0 ? v / total : 0]));
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3));
const histText = (m: Map<string, number>) =>
  [...m]
    .filter(([, v]) => v >= 0.001)
    .map(([k, v]) => `${k}:${v.toFixed(3)}`)
    .join(' ');

/** Compares a generated trace's statistics with a capture's. */
export function compareStats(cap: TrafficStats, gen: TrafficStats): Comparison[] {
  const rows: Comparison[] = [];
  const capOps = shares(cap.ops, NOT_IN_MIX);
  const genOps = shares(gen.ops, NOT_IN_MIX);
  const capCount = Object.entries(cap.ops)
    .filter(([k]) => !NOT_IN_MIX.has(k))
    .reduce((a, [, v]) => a + v, 0);
  const opTol = capCount < 200 ? TOLERANCE.opShareSmall : TOLERANCE.opShare;
  for (const op of new Set([...capOps.keys(), ...genOps.keys()])) {
    const a = capOps.get(op) ?? 0;
    const b = genOps.get(op) ?? 0;
    rows.push({
      metric: `share ${op}`,
      capture: `${fmt(a)} (${cap.ops[op] ?? 0})`,
      generated: `${fmt(b)} (${gen.ops[op] ?? 0})`,
      difference: Math.abs(a - b),
      tolerance: opTol,
      ok: Math.abs(a - b) <= opTol,
    });
  }
  const mean = (h: Readonly<Record<string, number>>) => {
    let n = 0,
      s = 0;
    for (const [k, v] of Object.entries(h)) [n, s] = [n + v, s + Number(k) * v];
    return n > 0 ? s / n : 0;
  };
  const ma = mean(cap.perDoorbell);
  const mb = mean(gen.perDoorbell);
  const dm = ma > 0 ? Math.abs(mb - ma) / ma : mb;
  rows.push({
    metric: 'entries per doorbell (mean)',
    capture: fmt(ma),
    generated: fmt(mb),
    difference: dm,
    tolerance: TOLERANCE.doorbellMean,
    ok: dm <= TOLERANCE.doorbellMean,
  });
  const sa = shares(cap.sizeClass);
  const sb = shares(gen.sizeClass);
  if (sa.size > 0 || sb.size > 0) {
    let tvd = 0;
    for (const k of new Set([...sa.keys(), ...sb.keys()])) tvd += Math.abs((sa.get(k) ?? 0) - (sb.get(k) ?? 0)) / 2;
    rows.push({
      metric: 'size class histogram (TVD)',
      capture: histText(sa),
      generated: histText(sb),
      difference: tvd,
      tolerance: TOLERANCE.sizeTvd,
      ok: tvd <= TOLERANCE.sizeTvd,
    });
  }
  const fa = cap.iotlbInvalidations > 0 ? cap.deviceInvalidations / cap.iotlbInvalidations : 0;
  const fb = gen.iotlbInvalidations > 0 ? gen.deviceInvalidations / gen.iotlbInvalidations : 0;
  const df = fa > 0 ? Math.abs(fb - fa) / fa : fb;
  rows.push({
    metric: 'device-TLB per IOTLB invalidation',
    capture: fmt(fa),
    generated: fmt(fb),
    difference: df,
    tolerance: TOLERANCE.fanout,
    ok: df <= TOLERANCE.fanout,
  });
  return rows;
}
