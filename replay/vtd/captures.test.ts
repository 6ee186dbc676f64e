// Differential test on the real captures (samples/captures/qemu-vtd-*.log.gz, QEMU 7.2): each run,
// ingested into a canonical trace, is replayed straight through the guest unit (no policy). It
// must raise no error, end with the IQH QEMU's log ends with, and perform the invalidations QEMU
// traced, in order: `vtd_inv_desc_iotlb_pages` (domain, addr, mask), `_iotlb_domain`,
// `_iotlb_global`, `_cc_*`, `_iec`, and the `_wait_sw` status writes (addr, data) (spec/vtd.md §6.4).
// QEMU 7.2 prints no descriptor line for PASID-cache and PASID-IOTLB descriptors (README caveats),
// so the scalable run is ingested with its guest trace, which has their words. Both the
// architecture mode and the QEMU-7.2 mode must agree with QEMU on these captures.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hex } from '../../formats/bits.js';
import { readQemuLog } from '../../formats/capture/qemu-log.js';
import { ingest, type IngestSummary } from '../../formats/ingest/ingest.js';
import { openTrace, type OpenTrace } from '../../formats/trace/io.js';
import { GuestMemory } from '../memory.js';
import type { UnitEvent } from '../unit.js';
import { driveTrace } from './drive.js';

const RUNS = ['legacy-strict', 'legacy-lazy', 'scalable-strict'] as const;
const dir = join(import.meta.dirname, '../../samples/captures');
const qemuLog = (run: string) => join(dir, `qemu-vtd-${run}.log.gz`);
const inputs = (run: string) => (run.startsWith('scalable') ? [qemuLog(run), join(dir, `guest-vtd-${run}.txt.gz`)] : [qemuLog(run)]);

/** The QEMU events compared, by what their text starts with (each prints its own prefix). */
const COMPARED = new Set([
  'vtd_inv_desc_iotlb_pages',
  'vtd_inv_desc_iotlb_domain',
  'vtd_inv_desc_iotlb_global',
  'vtd_inv_desc_cc_global',
  'vtd_inv_desc_cc_domain',
  'vtd_inv_desc_cc_devices',
  'vtd_inv_desc_iec',
  'vtd_inv_desc_wait_sw',
]);

interface QemuSide {
  /** The compared events' argument text, in log order. */
  readonly effects: string[];
  /** IQH after the last descriptor: the head of the last `read head` line, plus one. */
  readonly lastHead: number;
  readonly lastTail: number;
  readonly entries: number;
}

async function qemuSide(path: string): Promise<QemuSide> {
  const effects: string[] = [];
  let lastHead = -1;
  let lastTail = -1;
  let entries = 0;
  for await (const l of readQemuLog(path)) {
    if (COMPARED.has(l.event)) effects.push(l.args);
    else if (l.event === 'vtd_inv_qi_head') lastHead = Number(l.args.replace('read head ', ''));
    else if (l.event === 'vtd_inv_qi_tail') lastTail = Number(l.args.replace('write tail ', ''));
    else if (l.event === 'vtd_inv_qi_setup') entries = Number(/size (\d+)/.exec(l.args)![1]);
  }
  return { effects, lastHead, lastTail, entries };
}

/** Guest memory that logs each status write the way QEMU's vtd_inv_desc_wait_sw prints it. */
class StatusLog extends GuestMemory {
  constructor(private readonly out: string[]) {
    super();
  }

  /** Every 32-bit store below 2^53 comes here (write32 too): the unit's wait writes by number. */
  override write32At(addr: number, value: number): boolean {
    this.out.push(`wait invalidate status write addr ${hex(addr)} data ${hex(value)}`);
    return super.write32At(addr, value);
  }
}

/** Descriptor types whose effect QEMU 7.2 traces with one of the COMPARED events. */
const TRACED = new Set(['cc_inv', 'iotlb_inv', 'iec_inv']);

const scratch = mkdtempSync(join(tmpdir(), 'invtrace-vtd-'));
const traces = new Map<string, { trace: OpenTrace; summary: IngestSummary }>();
const qemu = new Map<string, QemuSide>();

beforeAll(async () => {
  for (const run of RUNS) {
    const output = join(scratch, `${run}.arrow`);
    const summary = await ingest(inputs(run), { output });
    traces.set(run, { trace: await openTrace(output), summary });
    qemu.set(run, await qemuSide(qemuLog(run)));
  }
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.each(RUNS)('qemu-vtd-%s straight through the guest unit', (run) => {
  it.each(['architecture', 'qemu-7.2'] as const)(
    "%s mode: no error, QEMU's final IQH, QEMU's invalidations and status writes",
    async (mode) => {
      const q = qemu.get(run)!;
      const { trace, summary } = traces.get(run)!;
      const seen: string[] = [];
      const events: UnitEvent[] = [];
      const r = await driveTrace(trace, {
        mem: new StatusLog(seen),
        ...(mode === 'qemu-7.2' ? { compat: 'qemu-7.2' as const } : {}),
        events: (e) => {
          events.push(e);
          if (e.kind === 'exec' && TRACED.has(e.name)) seen.push(e.effects[0]!.detail!);
        },
      });
      expect(events.filter((e) => e.kind === 'error' || e.kind === 'abort_wait')).toEqual([]);
      // QEMU stops fetching at the tail: after its last "read head N", IQH = N + 1 = the last tail.
      expect(r.consumer).toEqual({ index: (q.lastHead + 1) % q.entries, wrap: 0, error: undefined });
      expect(r.consumer.index).toBe(q.lastTail);
      // Every descriptor of the trace was consumed and took effect, one exec event each.
      const execs = events.filter((e) => e.kind === 'exec');
      expect(execs.length).toBe(summary.commands);
      expect(r.commands).toBe(summary.commands);
      const byName: Record<string, number> = {};
      for (const e of execs) byName[e.name] = (byName[e.name] ?? 0) + 1;
      expect(byName).toEqual(summary.by_op);
      // Every wait completed (Linux waits with SW, status data QI_DONE = 2).
      expect(events.filter((e) => e.kind === 'complete').length).toBe(summary.by_op!.inv_wait);
      // The same effects, in the same order, with the same numbers.
      expect(seen.length).toBe(q.effects.length);
      expect(seen).toEqual(q.effects);
    },
    120_000,
  );
});

describe('what the captures hold (samples/captures/README.md counts)', () => {
  it.each([
    ['legacy-strict', { iotlb_pages: 10405, wait_sw: 14738 }],
    ['legacy-lazy', { iotlb_pages: 0, wait_sw: 128 }],
    ['scalable-strict', { iotlb_pages: 12157, wait_sw: 17381 }],
  ] as const)('%s', (run, n) => {
    const q = qemu.get(run)!;
    expect(q.effects.filter((e) => e.startsWith('iotlb invalidate domain') && e.includes(' addr ')).length).toBe(n.iotlb_pages);
    expect(q.effects.filter((e) => e.startsWith('wait invalidate status write')).length).toBe(n.wait_sw);
  });
});
