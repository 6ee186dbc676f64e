// Timelines checked against the Trace Event Format document (test/trace-event-format.ts), each
// check of the checker shown to fire on a near-identical broken file, then the content: scenario
// (b) slice by slice from the cost model's defaults, and the vtd-legacy-strict capture whole
// (valid, and its tracks counted from the trace's own doorbells and waits).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import { DEFAULT_COSTS as C } from '../../replay/cost/params.js';
import { runReplay } from '../../replay/run.js';
import { capture, cli, ROOT, tempDir } from '../../test/helpers.js';
import { traceEventProblems, type TraceEventJson } from '../../test/trace-event-format.js';
import { writeTimelineFile } from './write.js';

const dir = tempDir();
type Ev = TraceEventJson & {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  args?: Record<string, unknown>;
  id?: number;
};
const load = (file: string) =>
  JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: Ev[]; displayTimeUnit: string; otherData: Record<string, string> };

describe('the Trace Event Format checker', () => {
  const meta = [
    { name: 'process_name', ph: 'M', pid: 1, tid: 0, ts: 0, args: { name: 'p' } },
    { name: 'thread_name', ph: 'M', pid: 1, tid: 1, ts: 0, args: { name: 't' } },
  ];
  const good = [
    ...meta,
    { name: 'a', ph: 'X', pid: 1, tid: 1, ts: 0, dur: 10 },
    { name: 'b', ph: 'X', pid: 1, tid: 1, ts: 2, dur: 3 },
    { name: 'f', cat: 'c', ph: 's', id: 1, pid: 1, tid: 1, ts: 3 },
    { name: 'f', cat: 'c', ph: 'f', bp: 'e', id: 1, pid: 1, tid: 1, ts: 8 },
    { name: 'v', ph: 'i', s: 't', pid: 1, tid: 1, ts: 9 },
  ];
  const problems = (events: unknown[], extra: Record<string, unknown> = {}) =>
    traceEventProblems({ traceEvents: events, displayTimeUnit: 'ns', ...extra });
  const replace = (i: number, e: Record<string, unknown>) => good.map((x, j) => (j === i ? e : x));

  it('accepts a valid file and names each broken rule', () => {
    expect(problems(good)).toEqual([]);
    expect(problems(good, { displayTimeUnit: 'us' })).toEqual(['displayTimeUnit: "us" (ms or ns)']);
    expect(problems(replace(2, { name: 'a', ph: 'X', pid: 1, tid: 1, ts: 0 }))[0]).toMatch(/complete event without dur/);
    expect(problems(replace(2, { name: 'a', ph: 'Q', pid: 1, tid: 1, ts: 0 }))[0]).toMatch(/"Q" is not a phase/);
    expect(problems(replace(2, { ph: 'X', pid: 1, tid: 1, ts: 0, dur: 10 }))[0]).toMatch(/name missing/);
    expect(problems(replace(2, { name: 'a', ph: 'X', pid: '1', tid: 1, ts: 0, dur: 10 }))[0]).toMatch(/pid not an integer/);
    // partial overlap: b runs past a
    expect(problems(replace(3, { name: 'b', ph: 'X', pid: 1, tid: 1, ts: 2, dur: 30 }))).toContain(
      'thread 1:1: traceEvents[3] overlaps traceEvents[2] without nesting inside it',
    );
    // out of order on one thread
    expect(problems([...good, { name: 'early', ph: 'X', pid: 1, tid: 1, ts: 1, dur: 1 }])[0]).toMatch(/ts 1 before the previous event/);
    // an unpaired flow, a flow ending before it starts, a flow bound to nothing
    expect(problems(good.filter((_e, j) => j !== 5))).toEqual(['flow id 1: 1 start and 0 end events (one of each)']);
    expect(
      problems(
        replace(5, { name: 'f', cat: 'c', ph: 'f', bp: 'e', id: 1, pid: 1, tid: 1, ts: 1 }).sort((a, b) => Number(a.ts) - Number(b.ts)),
      ),
    ).toContain('flow id 1: ends (1) before it starts (3)');
    expect(
      problems([
        ...good.slice(0, 6).map((e, j) => (j === 5 ? { ...e, ts: 10 } : e)),
        { name: 'later', ph: 'X', pid: 1, tid: 1, ts: 20, dur: 1 },
        { name: 'f2', cat: 'c', ph: 's', id: 2, pid: 1, tid: 1, ts: 25 },
        { name: 'f2', cat: 'c', ph: 'f', id: 2, pid: 1, tid: 1, ts: 26 },
      ]),
    ).toEqual([
      'traceEvents[7]: flow event at 25 binds to no slice of thread 1:1',
      'traceEvents[8]: flow event at 26 binds to no slice of thread 1:1',
    ]);
    // metadata: a thread without its name, an instant with a bad scope
    expect(problems(good.filter((_e, j) => j !== 1))[0]).toBe('traceEvents[1]: thread 1:1 has no thread_name before its first event');
    expect(problems(replace(6, { name: 'v', ph: 'i', s: 'x', pid: 1, tid: 1, ts: 9 }))).toEqual([
      'traceEvents[6]: instant scope "x" (g, p or t)',
    ]);
  });
});

describe('a timeline of scenario (b): a device-TLB invalidation alone', () => {
  let ev: Ev[];
  beforeAll(async () => {
    const trace = join(dir, 'b.arrow');
    await ingest([join(ROOT, 'samples/scenarios/b-vtd-devtlb-alone.jsonl')], { output: trace });
    await runReplay(trace, { policies: ['per-command', 'devtlb-nop'], outDir: join(dir, 'b') });
    const r = await writeTimelineFile(trace, join(dir, 'b'), join(dir, 'b.json'));
    expect(r.written).toBe(true);
    const file = load(join(dir, 'b.json'));
    expect(traceEventProblems(file)).toEqual([]);
    ev = file.traceEvents.filter((e) => e.ph !== 'M');
  });
  const on = (pid: number, tid: number) =>
    ev.filter((e) => e.pid === pid && e.tid === tid && e.ph === 'X').map((e) => [e.name, e.ts, e.dur]);

  it("draws the doorbell, its wait and each policy's work on the modelled clock", () => {
    // The scenario: dev_tlb_inv (seq 0), inv_wait (seq 1), the doorbell (seq 2) publishing both.
    // devtlb-nop: the trap, then the VMM handles both descriptors (the device-TLB one as a no-op):
    // trap_user + 2 vmm_per_cmd; the wait completes when the VMM has handled it.
    const nop = C.trap_user + 2 * C.vmm_per_cmd;
    // per-command: the same, then one ioctl with one entry, and on the host the device-TLB
    // invalidation and its wait: the commands, the IQT write, a round trip to each of the two
    // devices the topology puts behind the domain... as the host model charges them.
    const ioctl = C.ioctl + C.copy_per_entry;
    expect(on(1, 1).map((x) => x[0])).toEqual(['IQT 2: 2 entries', 'inv_wait seq 1']);
    expect(on(3, 1)).toEqual([
      ['trap', 0, C.trap_user],
      ['VMM handles 2 commands', C.trap_user, 2 * C.vmm_per_cmd],
    ]);
    expect(on(3, 3)).toEqual([['doorbell seq 2', 0, +nop.toFixed(3)]]);
    const pc = on(2, 1);
    expect(pc).toEqual([
      ['trap', 0, C.trap_user],
      ['VMM handles 2 commands', C.trap_user, 2 * C.vmm_per_cmd],
      ['IOMMU_HWPT_INVALIDATE (1 entry)', +nop.toFixed(3), ioctl],
    ]);
    const host = on(2, 10);
    // the host's work after the ioctl: its last slice is the wait that completes the guest's.
    expect(host[0]![1]).toBeCloseTo(nop + ioctl, 9);
    expect(host.map((x) => x[0])).toEqual(['host commands ×3', 'IQT write', 'ATS invalidation round trip ×2', 'wait']);
    expect(host[3]![2]).toBe(C.vtd_wait);
    expect(host[2]![2]).toBe(2 * C.atc_inv_rtt);
  });

  it('links the wait to the work that completed it under each policy, and marks the finding', () => {
    const flows = ev.filter((e) => e.ph === 's' || e.ph === 'f');
    // One flow per policy that completed the wait: both did.
    expect(flows.filter((e) => e.ph === 's').map((e) => [e.pid, e.tid])).toEqual([
      [1, 1],
      [1, 1],
    ]);
    const ends = flows.filter((e) => e.ph === 'f');
    const bound = (f: Ev) =>
      ev.find((e) => e.ph === 'X' && e.pid === f.pid && e.tid === f.tid && e.ts <= f.ts && f.ts <= e.ts + e.dur!)!.name;
    expect(ends.map((f) => [f.pid, bound(f)])).toEqual([
      [2, 'wait'],
      [3, 'VMM handles 2 commands'],
    ]);
    const v = ev.filter((e) => e.ph === 'i');
    expect(v).toEqual([expect.objectContaining({ name: 'violation: stale-translation', pid: 3, tid: 2, s: 't' })]);
    expect(v[0]!.args).toMatchObject({ seq: 0, kind: 'stale-translation' });
    expect(String(v[0]!.args!.explanation)).toMatch(/still has a ATC\/device-TLB entry/);
    expect(v[0]!.ts).toBeCloseTo(C.trap_user + 2 * C.vmm_per_cmd, 9);
  });

  it('leaves the file out past a size cap, and says so', async () => {
    // The file is about 4.5 KB (39 events): a cap of 4 KB stops it while it is written (or before, from the estimate).
    const r = await writeTimelineFile(join(dir, 'b.arrow'), join(dir, 'b'), join(dir, 'capped.json'), { capBytes: 4000 });
    expect(r.written).toBe(false);
    expect(r.reason).toMatch(/past the size cap/);
    expect(() => readFileSync(join(dir, 'capped.json'))).toThrow();
    expect((await writeTimelineFile(join(dir, 'b.arrow'), join(dir, 'b'), join(dir, 'fits.json'), { capBytes: 1 << 20 })).written).toBe(
      true,
    );
  });
});

describe('a timeline of the vtd-legacy-strict capture', () => {
  it('is valid Trace Event Format with a track per policy, and says its size', async () => {
    const trace = join(dir, 'strict.arrow');
    await ingest([capture('qemu-vtd-legacy-strict.log.gz'), capture('guest-vtd-legacy-strict.txt.gz')], { output: trace });
    const r = cli('timeline', trace, '--policy', 'hw-direct,per-command,devtlb-nop', '-o', join(dir, 'strict.json'));
    expect(r.code, r.stderr).toBe(0);
    const file = load(join(dir, 'strict.json'));
    expect(traceEventProblems(file)).toEqual([]);
    // The guest track: a slice per doorbell and per wait descriptor of the trace (counted from the
    // trace itself), and a flow start per policy that completed each wait.
    const t = tableFromIPC(readFileSync(trace));
    const kinds = t.getChild('kind')!.toArray() as unknown as string[];
    const ops = t.getChild('op')!;
    let doorbells = 0;
    let waits = 0;
    for (let i = 0; i < t.numRows; i++) {
      if (kinds[i] === 'doorbell' || kinds[i] === 'ack') doorbells++;
      else if (ops.get(i) === 'inv_wait') waits++;
    }
    const guest = file.traceEvents.filter((e) => e.pid === 1 && e.ph === 'X');
    expect(guest.filter((e) => e.cat === 'doorbell' || e.cat === 'ack')).toHaveLength(doorbells);
    expect(guest.filter((e) => e.cat === 'completion_point')).toHaveLength(waits);
    const starts = file.traceEvents.filter((e) => e.ph === 's');
    // Every policy is correct on this capture (README), so each completed every wait.
    expect(starts).toHaveLength(3 * waits);
    expect(stdoutTracks(r.stdout)).toMatchObject({
      'guest (vtd IQT doorbells and completion points) / queue': doorbells + waits + 3 * waits,
    });
    expect(r.stdout).toMatch(/^wrote .*strict\.json: [\d.]+ MiB, [\d,]+ events/);
  }, 120_000);
});

function stdoutTracks(text: string): Record<string, number> {
  return Object.fromEntries(
    text
      .split('\n')
      .slice(1)
      .filter((l) => l.startsWith('  '))
      .map((l) => {
        const i = l.lastIndexOf(': ');
        return [l.slice(2, i), Number(l.slice(i + 2).replace(/,/g, ''))];
      }),
  );
}
