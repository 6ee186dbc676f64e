// Several guest queues in one trace (issue 15 §2, docs/trace-format.md "Several guest queues",
// docs/hosts.md): the header's `queues` and its checks, the `queue` column, each queue replayed as
// its own queue state machine over one host, the oracle naming the queue it judges, hw-direct as
// one direct queue per physical SMMU (and left out, with why, for the other shapes), and
// `gen --vsmmus per-iommu`. Every expected number is derived in a comment from the scenario's
// header, the Linux driver's rules (spec/smmuv3.md §4) or the trace's own op counts.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codecFor } from '../../formats/codecs.js';
import { ingest } from '../../formats/ingest/ingest.js';
import { parseHeader, wordsPerSlot, type Topology } from '../../formats/trace/header.js';
import { traceInfo } from '../../formats/trace/info.js';
import { openTrace } from '../../formats/trace/io.js';
import { viewBatch } from '../../formats/trace/view.js';
import { directQueueUnavailable } from '../../replay/policies/hw-direct.js';
import type { PolicySummary, ReplayOutput } from '../../replay/replayer.js';
import { runReplay } from '../../replay/run.js';
import { ROOT, tempDir } from '../../test/helpers.js';
import { generate, plan } from '../gen/generate.js';

const dir = tempDir();
const STOP = join(ROOT, 'samples/scenarios/fixtures/stop-at-op.ts');

async function ingested(name: string): Promise<string> {
  const trace = join(dir, `${name}.arrow`);
  await ingest([join(ROOT, 'samples/scenarios', `${name}.jsonl`)], { output: trace });
  return trace;
}

const by = (r: ReplayOutput) => Object.fromEntries(r.policies.map((p) => [p.policy, p])) as Record<string, PolicySummary>;

/** Commands per op name and per queue, read through the codec. */
async function opCounts(path: string): Promise<{ ops: Record<string, number>; perQueue: number[]; doorbells: number }> {
  const t = await openTrace(path);
  const codec = codecFor(t.header.arch);
  const n = wordsPerSlot(t.header);
  const ops: Record<string, number> = {};
  const perQueue: number[] = [];
  let doorbells = 0;
  for await (const b of t.batches()) {
    const v = viewBatch(b);
    for (let i = 0; i < v.length; i++) {
      if (v.kindOf(i) === 'doorbell') doorbells++;
      if (v.kindOf(i) !== 'cmd') continue;
      const name = codec.decode(v.words(i, n)).name;
      ops[name] = (ops[name] ?? 0) + 1;
      perQueue[v.queueOf(i)] = (perQueue[v.queueOf(i)] ?? 0) + 1;
    }
  }
  return { ops, perQueue, doorbells };
}

describe('the header: queues, their geometry and devices', () => {
  const topology = { iommus: 2, devices: [{ sid: 8, iommu: 0 }, { sid: 16, iommu: 1 }] };
  const header = (queues: unknown, extra: Record<string, unknown> = {}) => parseHeader({ invtrace: 1, arch: 'smmuv3', topology, queues, ...extra });

  it('fills the top-level geometry from queue 0 and keeps each queue its own', () => {
    const h = header([{ queue_entries: 8, queue_base: '0x1000', devices: [8] }, { queue_entries: 32, devices: ['0x10'], iommu: 1 }]);
    if (!h.ok) throw new Error(h.error.message);
    expect(h.value).toMatchObject({ queue_entries: 8, queue_base: '0x1000' });
    expect(h.value.queues).toEqual([
      { id: 0, queue_entries: 8, queue_base: '0x1000', devices: [8] },
      { id: 1, queue_entries: 32, devices: [16], iommu: 1 },
    ]);
  });

  it('refuses a device behind two queues, a device behind none, a queue iommu its devices are not behind, ids out of order', () => {
    const bad = (queues: unknown, extra?: Record<string, unknown>) => {
      const h = header(queues, extra);
      return h.ok ? 'ok' : `${h.error.field}: ${h.error.message}`;
    };
    expect(bad([{ devices: [8, 16] }, { devices: [16] }])).toBe('queues[1].devices[0]: device 16 is already behind queue 0');
    expect(bad([{ devices: [8] }])).toBe('queues: device 0x10 is behind no guest queue (list it in one queue\'s devices)');
    expect(bad([{ devices: [8] }, { devices: [16], iommu: 0 }])).toBe('queues[1].devices: device 0x10 sits behind IOMMU 1, not the queue\'s IOMMU 0');
    expect(bad([{ id: 1, devices: [8] }, { devices: [16] }])).toBe('queues[0].id: queue ids are 0, 1, ... in order: expected 0, got 1');
    // the top-level fields describe queue 0: a contradiction is refused
    expect(bad([{ queue_entries: 8, devices: [8] }, { devices: [16] }], { queue_entries: 16 })).toMatch(/queue 0 differs from the top-level/);
    // the near-identical good header
    expect(bad([{ devices: [8] }, { devices: [16] }])).toBe('ok');
  });

  it('a one-queue trace has no queue column (its bytes are what they were); a multi-queue one has it', async () => {
    const one = await openTrace(await ingested('viommu-smmuv3-two-smmus'));
    expect(one.header.queues).toBeUndefined();
    expect(one.schema.fields.map((f) => f.name)).not.toContain('queue');
    const two = await openTrace(await ingested('multiq-smmuv3-two-vsmmus'));
    expect(two.schema.fields.map((f) => f.name).slice(0, 2)).toEqual(['seq', 'queue']);
    // 4 commands on each queue (3 TLBIs + CMD_SYNC), as the scenario writes them
    expect((await opCounts(two.path)).perQueue).toEqual([4, 4]);
    // info walks each ring on its own: 16 entries, one doorbell publishing 4, no wrap, one device each
    const info = await traceInfo(two);
    expect(info.queues).toEqual([0, 1].map((queue) => ({ queue, queue_entries: 16, commands: 4, doorbells: 1, wraps: 0, devices: 1 })));
    expect(info.entries_per_doorbell).toEqual({ min: 4, mean: 4, max: 4 });
    expect((await traceInfo(one)).queues).toBeUndefined();
  });
});

describe('two vSMMUs over two SMMUs, ASID 1 with a device behind each (multiq-smmuv3-two-vsmmus)', () => {
  it('each queue to its own vIOMMU; hw-direct runs as one direct queue per SMMU; all correct', async () => {
    const trace = await ingested('multiq-smmuv3-two-vsmmus');
    const r = await runReplay(trace, { policies: ['per-command', 'per-command:viommu=shared', 'linear-batch', 'hw-direct'] });
    expect(r.left_out).toEqual([]);
    const p = by(r);
    // 3 TLBIs per queue, each to that queue's vIOMMU: 6 ioctls, 1 command + 1 sync each
    expect(p['per-command']).toMatchObject({ correct: true, ioctls: 6, host_commands: 6, host_syncs: 6, traps: 2 });
    // the shared vIOMMU fans each of the 6 TLBIs out to both SMMUs: 12 commands, 12 syncs
    expect(p['per-command:viommu=shared']).toMatchObject({ correct: true, ioctls: 6, host_commands: 12, host_syncs: 12 });
    // one array per doorbell: 2 ioctls; 3 commands + 1 sync on each SMMU
    expect(p['linear-batch']).toMatchObject({ correct: true, ioctls: 2, host_commands: 6, host_syncs: 2 });
    // no trap, no ioctl: 3 TLBIs + CMD_SYNC per queue on its own SMMU = 8 direct commands, 2 physical syncs
    expect(p['hw-direct']).toMatchObject({ correct: true, traps: 0, ioctls: 0, host_commands: 0, direct_commands: 8, host_syncs: 2 });
    // both queues' completion points completed on bare hardware: one CMD_SYNC each
    expect(r.reference).toEqual({ completions: 2, errors: 0 });
  });

  it('what it costs the guest against the one-vSMMU twin: twice the commands and doorbells', async () => {
    const one = await opCounts(await ingested('viommu-smmuv3-two-smmus'));
    const two = await opCounts(await ingested('multiq-smmuv3-two-vsmmus'));
    // the spanning domain is invalidated once per instance: 3 TLBIs + 1 CMD_SYNC on each of 2 queues
    expect(two.ops).toEqual({ CMD_TLBI_NH_VA: 2 * one.ops.CMD_TLBI_NH_VA!, CMD_SYNC: 2 * one.ops.CMD_SYNC! });
    expect([one.doorbells, two.doorbells]).toEqual([1, 2]);
  });
});

describe('the oracle judges each queue and names it (multiq-smmuv3-per-queue-cons)', () => {
  it('a wrong CONS on queue 1 names queue 1; the mirror image names queue 0; silent when the op is in neither', async () => {
    const trace = await ingested('multiq-smmuv3-per-queue-cons');
    const r = by(await runReplay(trace, { policies: ['per-command', `${STOP}:op=CMD_PREFETCH_CONFIG`, `${STOP}:op=CMD_PREFETCH_ADDR`, `${STOP}:op=CMD_CFGI_STE`] }));
    // the prefetches stay in the VMM; one TLBI per queue: 2 ioctls
    expect(r['per-command']).toMatchObject({ correct: true, ioctls: 2 });
    const q1 = r[`${STOP}:op=CMD_PREFETCH_CONFIG`]!;
    // queue 1: CONS stays on slot 0 (bare hardware: 3), its CMD_SYNC at slot 2 never completes
    expect(q1).toMatchObject({ correct: false, violations: 2, violations_by_kind: { 'wrong-consumer-index': 1, 'never-completed': 1 } });
    expect(q1.first_violations.map((v) => [v.kind, v.scope])).toEqual([['wrong-consumer-index', 'queue 1 slot 0'], ['never-completed', 'queue 1 slot 2']]);
    expect(q1.first_violations[0]!.explanation).toBe('queue 1: the guest reads the consumer at slot 0 where bare hardware shows slot 3');
    const q0 = r[`${STOP}:op=CMD_PREFETCH_ADDR`]!;
    expect(q0.first_violations.map((v) => [v.kind, v.scope])).toEqual([['wrong-consumer-index', 'queue 0 slot 0'], ['never-completed', 'queue 0 slot 2']]);
    expect(r[`${STOP}:op=CMD_CFGI_STE`]).toMatchObject({ correct: true, violations: 0 });
  });
});

describe('hw-direct needs the guest queues to map one to one onto physical IOMMUs', () => {
  const t: Topology = {
    iommus: [{ id: 0, vmid: 1 }, { id: 1, vmid: 2 }],
    devices: [8, 16, 24].map((sid, i) => ({ sid, psid: sid, iommu: i === 2 ? 1 : i, ats: false, domain: 1, hwpt: 0 })),
  };
  it('available one to one; left out, with why, for a queue over two units, two queues on one unit, a queue with no device', () => {
    // queue 0: device 8 (unit 0); queue 1: 16 and 24 (unit 1)
    expect(directQueueUnavailable(t, [[8], [16, 24]])).toBeUndefined();
    expect(directQueueUnavailable(t, [[8, 16], [24]])).toBe('a direct queue (VCMDQ) belongs to one physical IOMMU, but guest queue 0 fronts devices behind 2 (ids 0, 1); the guest\'s queues must map one to one onto physical IOMMUs');
    expect(directQueueUnavailable(t, [[8], [16], [24]])).toBe('guest queues 1 and 2 both front physical IOMMU 1; one direct queue per physical IOMMU needs the guest\'s queues to map one to one onto them');
    expect(directQueueUnavailable(t, [[8, 16, 24], []])).toMatch(/guest queue 0 fronts devices behind 2/);
    expect(directQueueUnavailable({ ...t, devices: t.devices.slice(0, 1) }, [[8], []])).toBe('guest queue 1 fronts no device, so no physical IOMMU\'s direct queue stands for it');
    // one queue: the part-1 rule, unchanged
    expect(directQueueUnavailable(t)).toMatch(/the guest's one queue fronts devices behind 2 \(ids 0, 1\)/);
  });
});

describe('gen smmuv3 --vsmmus per-iommu over N physical SMMUs (one domain spanning all)', () => {
  // 8 devices round-robin over N SMMUs; ATS on the odd ones (--ats 0.5: device i has it when
  // floor((i+1)/2) > floor(i/2)); one CPU, closed loop: both shapes draw the same 200 requests.
  async function gen(n: number, vsmmus: string): Promise<string> {
    const out = join(dir, `gen-${n}-${vsmmus}.arrow`);
    const p = plan('smmuv3', { seed: '1', requests: '200', devices: '8', ats: '0.5', domains: '1', iommus: String(n), vsmmus });
    if (!p.ok) throw new Error(p.error.message);
    await generate(p.value, out);
    return out;
  }

  for (const n of [2, 4]) {
    it(`${n} SMMUs: one queue per instance, each TLBI batch sent on each, hw-direct one direct queue per SMMU`, async () => {
      const single = await gen(n, 'single');
      const multi = await gen(n, 'per-iommu');
      const h = (await openTrace(multi)).header;
      expect(h.queues?.map((q) => [q.id, q.iommu, q.devices.length])).toEqual(Array.from({ length: n }, (_, k) => [k, k, 8 / n]));
      expect((await openTrace(single)).header.queues).toBeUndefined();
      const a = await opCounts(single);
      const b = await opCounts(multi);
      // the unmap's TLBI_NH_VA batch goes to every instance holding a device of the domain: N x
      expect(b.ops.CMD_TLBI_NH_VA).toBe(n * a.ops.CMD_TLBI_NH_VA!);
      // each instance is reset (CFGI_ALL + TLBI_NSNH_ALL): N x; attaches stay one per device
      expect([b.ops.CMD_CFGI_STE_RANGE, b.ops.CMD_TLBI_NSNH_ALL, b.ops.CMD_CFGI_STE]).toEqual([n, n, a.ops.CMD_CFGI_STE]);
      // ATC_INV: per unmap one per ATS device either way (on its own instance); at attach the
      // domain flush covers the ATS devices attached so far — all of them (0+1+1+2+2+3+3+4 = 16),
      // or only the instance's own: 2 SMMUs, devices 1,3,5,7 all on SMMU 1: 1+2+3+4 = 10;
      // 4 SMMUs, {1,5} on SMMU 1 and {3,7} on SMMU 3: (1+2) x 2 = 6
      const unmapAtc = a.ops.CMD_ATC_INV! - 16;
      expect(b.ops.CMD_ATC_INV).toBe(unmapAtc + (n === 2 ? 10 : 6));
      // every queue gets commands
      expect(b.perQueue.filter((c) => c > 0)).toHaveLength(n);

      const r = await runReplay(multi, { policies: ['per-command', 'hw-direct'] });
      expect(r.left_out).toEqual([]);
      const p = by(r);
      const o = b.ops;
      // each forwarded command goes to its own queue's one vIOMMU: one ioctl each
      const forwarded = o.CMD_TLBI_NH_VA! + o.CMD_TLBI_NH_ASID! + o.CMD_TLBI_NSNH_ALL! + o.CMD_ATC_INV!;
      expect(p['per-command']).toMatchObject({ correct: true, ioctls: forwarded });
      // the VCMDQ takes TLBI_NH_VA/ASID, ATC_INV and CMD_SYNC; TLBI_NSNH_ALL is trapped: one ioctl each
      expect(p['hw-direct']).toMatchObject({ correct: true, ioctls: o.CMD_TLBI_NSNH_ALL, direct_commands: o.CMD_TLBI_NH_VA! + o.CMD_TLBI_NH_ASID! + o.CMD_ATC_INV! + o.CMD_SYNC! });
      // the one-vSMMU trace under per-iommu and shared: hw-direct left out; per-command (per-iommu)
      // sends each TLBI to the N vIOMMUs, the shared vIOMMU takes each forwarded command once
      const s = await runReplay(single, { policies: ['per-command', 'per-command:viommu=shared', 'hw-direct'] });
      expect(s.left_out!.map((x) => x.policy)).toEqual(['hw-direct']);
      const so = a.ops;
      const sp = by(s);
      const tlbis = so.CMD_TLBI_NH_VA! + so.CMD_TLBI_NH_ASID! + so.CMD_TLBI_NSNH_ALL!;
      expect(sp['per-command']).toMatchObject({ correct: true, ioctls: n * tlbis + so.CMD_ATC_INV! });
      expect(sp['per-command:viommu=shared']).toMatchObject({ correct: true, ioctls: tlbis + so.CMD_ATC_INV! });
      // the host does the same invalidation work under both (each TLBI reaches every SMMU, an ATC_INV its device's)
      expect(sp['per-command:viommu=shared']!.host_commands).toBe(sp['per-command']!.host_commands);
      // and, per vSMMU, one host command per forwarded command; the rest of the host's work (the
      // re-installed STEs of the attaches and of each reset's CFGI_ALL: every device once) is the same
      expect(p['per-command']!.host_commands - forwarded).toBe(sp['per-command']!.host_commands - (n * tlbis + so.CMD_ATC_INV!));
      // hw-direct, the lower bound (DESIGN.md), is below every trapped design of every arrangement
      for (const x of [p['per-command']!, sp['per-command']!, sp['per-command:viommu=shared']!]) expect(p['hw-direct']!.modeled_us).toBeLessThan(x.modeled_us);
    });
  }
});

describe('ingest of a QEMU log of several vSMMU instances', () => {
  // Two rings (CMDQ_BASE 0x7ad00000 and 0x7ae00000, LOG2SIZE 4), a CMD_SYNC and a doorbell on each.
  // QEMU's smmuv3 trace events carry no instance identifier (hw/arm/trace-events): the two cannot
  // be told apart, and ingest says so in one line instead of merging them into one ring.
  const log = (secondBase: string) => [
    'smmuv3_write_mmio addr: 0x90 val:0x7ad00004 size: 0x8(0)',
    'smmuv3_cmdq_consume prod=1 cons=0 prod.wrap=0 cons.wrap=0',
    'smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC',
    'smmuv3_cmdq_consume_out prod:1, cons:1, prod_wrap:0, cons_wrap:0 ',
    'smmuv3_write_mmio addr: 0x98 val:0x1 size: 0x4(0)',
    `smmuv3_write_mmio addr: 0x90 val:${secondBase} size: 0x8(0)`,
    'smmuv3_cmdq_consume prod=1 cons=0 prod.wrap=0 cons.wrap=0',
    'smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC',
    'smmuv3_cmdq_consume_out prod:1, cons:1, prod_wrap:0, cons_wrap:0 ',
    'smmuv3_write_mmio addr: 0x98 val:0x1 size: 0x4(0)',
    '',
  ].join('\n');

  it('refuses doorbells on a second CMDQ_BASE in one line naming both; reads the same log with one base', async () => {
    const { writeFileSync } = await import('node:fs');
    const two = join(dir, 'two-vsmmus.log');
    writeFileSync(two, log('0x7ae00004'));
    await expect(ingest([two], { output: join(dir, 'two-vsmmus.arrow') })).rejects.toThrow(
      'doorbell on a queue at CMDQ_BASE 0x7ae00000, but line 5 rang one at 0x7ad00000: several vSMMU instances (or one re-programmed) cannot be told apart in this log format',
    );
    // the near-identical log: the guest writes the same CMDQ_BASE again (one instance)
    const one = join(dir, 'one-vsmmu.log');
    writeFileSync(one, log('0x7ad00004'));
    const s = await ingest([one], { output: join(dir, 'one-vsmmu.arrow') });
    expect(s.rows).toBe(4); // 2 CMD_SYNCs + 2 doorbells
  });
});
