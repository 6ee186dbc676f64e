// Differential test on the real captures (samples/captures/qemu-smmuv3-*.log.gz, QEMU 7.2): each
// capture, ingested into a canonical trace, is replayed straight through the guest unit (no
// policy). It must raise no error, end with the consumer index QEMU's log ends with, and do the
// invalidations QEMU traced: the same `smmuv3_s1_range_inval` chunk lines (spec/smmuv3.md §3:
// naturally aligned power-of-two chunks), the same CFGI_STE StreamIDs and TLBI_NH_ASID ASIDs, in
// order. Both compatibility modes must agree on these captures.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQemuLog } from '../../formats/capture/qemu-log.js';
import { isEventError, parseSmmuv3Event } from '../../formats/capture/qemu-smmuv3.js';
import { ingest } from '../../formats/ingest/ingest.js';
import { openTrace, type OpenTrace } from '../../formats/trace/io.js';
import { replayTrace, type ReplayOutcome } from './testing.js';
import type { Compat } from './emulator.js';

const CAPTURES = ['strict', 'lazy'] as const;
const logOf = (run: string) => join(import.meta.dirname, '../../samples/captures', `qemu-smmuv3-${run}.log.gz`);

/** What QEMU's log says the consumer did. */
interface QemuSide {
  ranges: string[];
  cfgiSte: number[];
  nhAsid: number[];
  cons: { index: number; wrap: number };
  errors: number;
}

async function qemuSide(path: string): Promise<QemuSide> {
  const out: QemuSide = { ranges: [], cfgiSte: [], nhAsid: [], cons: { index: 0, wrap: 0 }, errors: 0 };
  for await (const line of readQemuLog(path)) {
    if (line.event === 'smmuv3_s1_range_inval') out.ranges.push(line.args);
    const e = parseSmmuv3Event(line);
    if (e === undefined || isEventError(e)) continue;
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- compares only the events this test checks; the rest are skipped by default
    switch (e.event) {
      case 'smmuv3_cmdq_cfgi_ste':
        out.cfgiSte.push(e.streamid);
        break;
      case 'smmuv3_cmdq_tlbi_nh_asid':
        out.nhAsid.push(e.asid);
        break;
      case 'smmuv3_cmdq_consume_out':
        out.cons = { index: e.cons, wrap: e.consWrap };
        break;
      case 'smmuv3_cmdq_consume_error':
        out.errors++;
        break;
      default:
        break;
    }
  }
  return out;
}

/** The same facts from the guest unit's events. */
function unitSide(r: ReplayOutcome): Omit<QemuSide, 'cons' | 'errors'> {
  const out = { ranges: [] as string[], cfgiSte: [] as number[], nhAsid: [] as number[] };
  for (const e of r.events) {
    if (e.kind !== 'exec') continue;
    const detail = e.effects[0]?.detail ?? '';
    if (e.name === 'CMD_TLBI_NH_VA' || e.name === 'CMD_TLBI_NH_VAA') {
      for (const l of detail.split('\n')) out.ranges.push(l.replace(/^smmuv3_s1_range_inval /, ''));
    } else if (e.name === 'CMD_CFGI_STE') out.cfgiSte.push(e.effects[0]!.scope.sid!);
    else if (e.name === 'CMD_TLBI_NH_ASID') out.nhAsid.push(e.effects[0]!.scope.asid!);
  }
  return out;
}

const scratch = mkdtempSync(join(tmpdir(), 'invtrace-smmuv3-'));
const traces = new Map<string, OpenTrace>();
const qemu = new Map<string, QemuSide>();

beforeAll(async () => {
  for (const run of CAPTURES) {
    const output = join(scratch, `${run}.arrow`);
    await ingest([logOf(run)], { output });
    traces.set(run, await openTrace(output));
    qemu.set(run, await qemuSide(logOf(run)));
  }
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.each(CAPTURES)('qemu-smmuv3-%s.log.gz straight through the guest unit', (run) => {
  it.each(['arch', 'qemu-7.2'] as const satisfies readonly Compat[])(
    "compat %s: no error, QEMU's final CONS, QEMU's invalidations",
    async (compat) => {
      const q = qemu.get(run)!;
      expect(q.errors).toBe(0);
      // The log holds what samples/captures/README.md counts: CFGI_STE 4, TLBI_NH_ASID 2 / 63.
      expect([q.cfgiSte.length, q.nhAsid.length]).toEqual(run === 'strict' ? [4, 2] : [4, 63]);
      expect(q.ranges.length > 0).toBe(run === 'strict'); // 5,784 TLBI_NH_VA (strict), none lazy
      const r = await replayTrace(traces.get(run)!, { compat });
      expect(r.events.filter((e) => e.kind === 'error')).toEqual([]);
      expect(r.consumer).toEqual({ ...q.cons, error: undefined });
      const u = unitSide(r);
      expect(u.cfgiSte).toEqual(q.cfgiSte);
      expect(u.nhAsid).toEqual(q.nhAsid);
      expect(u.ranges.length).toBe(q.ranges.length);
      expect(u.ranges).toEqual(q.ranges);
      // Every command the trace holds was consumed (no policy: the unit is the whole story).
      expect(r.executed).toBe(r.commands);
    },
  );
});
