// The mediation scenarios of issue 5, each replayed under every policy. Every expected number is
// derived from the rules in the scenario file's header comment (repeated briefly here), never
// copied from the program's output.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import { ALL_POLICIES } from '../../replay/policies/index.js';
import { runReplay } from '../../replay/run.js';
import type { PolicySummary, ReplayOutput } from '../../replay/replayer.js';
import { ROOT, tempDir } from '../../test/helpers.js';

const dir = tempDir();

async function replayScenario(name: string, outDir?: string): Promise<ReplayOutput> {
  const trace = join(dir, `${name}.arrow`);
  await ingest([join(ROOT, 'samples/scenarios', `${name}.jsonl`)], { output: trace });
  return runReplay(trace, { policies: ['all'], ...(outDir ? { outDir } : {}) });
}

const by = (r: ReplayOutput) => Object.fromEntries(r.policies.map((p) => [p.policy, p])) as Record<string, PolicySummary>;
const kinds = (p: PolicySummary) => Object.keys(p.violations_by_kind).sort();

describe('(a) shared domain, 4 ATS devices: IOTLB + 4 device-TLB + wait', () => {
  it('per-command makes 5 ioctls, devtlb-nop 1, both correct', async () => {
    const p = by(await replayScenario('a-vtd-shared-domain-devtlb'));
    // one ioctl per invalidation command: 1 IOTLB + 4 device-TLB, all on the one nested HWPT
    expect(p['per-command']).toMatchObject({ ioctls: 5, correct: true });
    // the IOTLB entry flushes every ATS device of the nested domain; device-TLB descriptors are no-ops
    expect(p['devtlb-nop']).toMatchObject({ ioctls: 1, correct: true });
    // one doorbell, one nested HWPT: one linear array
    expect(p['linear-batch']).toMatchObject({ ioctls: 1, correct: true });
    // every policy is correct here
    for (const x of Object.values(p)) expect(x.correct, x.policy).toBe(true);
  });
});

describe('(b) a device-TLB invalidation with no IOTLB invalidation beside it', () => {
  it('devtlb-nop is flagged stale-translation; the others are correct', async () => {
    const p = by(await replayScenario('b-vtd-devtlb-alone'));
    for (const name of ['devtlb-nop', 'devtlb-nop:fanout=all']) {
      // nothing reaches the host, the device keeps its ATC entry for the page: one finding
      expect(p[name]).toMatchObject({ ioctls: 0, correct: false, violations: 1 });
      expect(kinds(p[name]!)).toEqual(['stale-translation']);
    }
    // forwarded as an entry on the device's nested HWPT: one ioctl, correct
    expect(p['per-command']).toMatchObject({ ioctls: 1, correct: true });
    expect(p['linear-batch']).toMatchObject({ ioctls: 1, correct: true });
    expect(p['hw-direct']).toMatchObject({ ioctls: 0, correct: true });
  });
});

describe('(c) the shared domain split over two physical IOMMUs', () => {
  it('fan-out decides: per-command 6 ioctls, batches 2, devtlb-nop (first object only) stale', async () => {
    const p = by(await replayScenario('c-vtd-split-domain'));
    // IOTLB to both nested HWPTs (2) + each device-TLB to its device's HWPT (4)
    expect(p['per-command']).toMatchObject({ ioctls: 6, correct: true });
    // one ioctl per nested HWPT per doorbell
    for (const name of ['linear-batch', 'linear-batch:vmm=prepass', 'raw-ring']) expect(p[name], name).toMatchObject({ ioctls: 2, correct: true });
    // one host invalidation per IOTLB descriptor, on unit 0's HWPT: unit 1 keeps the IOTLB entries of
    // 0x110 (one finding for the IOTLB descriptor) and the device TLBs of 0x110 and 0x118 (two)
    expect(p['devtlb-nop']).toMatchObject({ ioctls: 1, correct: false, violations: 3 });
    expect(kinds(p['devtlb-nop']!)).toEqual(['stale-translation']);
    // sent to both HWPTs, the idea holds
    expect(p['devtlb-nop:fanout=all']).toMatchObject({ ioctls: 2, correct: true });
  });
});

describe('(d) an illegal command between valid TLBIs, a VMM-owned CFGI_STE after it', () => {
  it('raw-ring with the VMM prepass executes past the error; linear-batch in order reports CONS and CERROR_ILL', async () => {
    const r = await replayScenario('d-smmuv3-illegal-then-vmm-command');
    const p = by(r);
    // bare hardware stops at slot 1 once (CERROR_ILL), then completes both CMD_SYNCs after the ack
    expect(r.reference).toEqual({ completions: 2, errors: 1 });
    expect(p['raw-ring']!.violations_by_kind['executed-past-error']).toBe(1); // CFGI_STE at slot 3
    // in order, the host walk ends at slot 1 before the VMM reaches its CFGI_STE
    expect(p['raw-ring:vmm=inorder']!.violations_by_kind['executed-past-error']).toBeUndefined();
    // the VMM finds slot 1 itself: slot 0 in one ioctl, CONS = 1 with CERROR_ILL as the hardware shows
    expect(p['linear-batch']).toMatchObject({ correct: true });
    expect(p['linear-batch:vmm=prepass']).toMatchObject({ correct: true }); // its prepass stops at slot 1 too
    expect(p['per-command']).toMatchObject({ correct: true });
    // the host's walk converts slot 0 into a block it never sends once slot 1 fails (EIO), and still
    // counts it (spec/smmuv3.md §5.2): the TLBI at slot 0 is stale when the queue stops
    expect(p['raw-ring']!.violations_by_kind['stale-translation']).toBe(1);
  });
});

describe('(e) a doorbell whose new entries wrap around the end of the ring', () => {
  it('linear-batch 1 ioctl, split_on_wrap 2, raw-ring 1 for the wrapping doorbell', async () => {
    const out = join(dir, 'e-out');
    const r = await replayScenario('e-smmuv3-wrap', out);
    const ops = tableFromIPC(readFileSync(join(out, 'host_ops.arrow')));
    const wrapSeq = 11; // rows 0-5 commands, 6 doorbell, 7-10 commands, 11 the wrapping doorbell
    const ioctlsAt = (policy: string) => {
      let n = 0;
      for (const row of ops) if (row.policy === policy && row.seq === wrapSeq && row.kind === 'ioctl') n += row.count as number;
      return n;
    };
    expect(ioctlsAt('linear-batch')).toBe(1);
    expect(ioctlsAt('linear-batch:split_on_wrap=true')).toBe(2);
    expect(ioctlsAt('raw-ring')).toBe(1);
    // the first doorbell costs each of them one more
    const p = by(r);
    expect(p['linear-batch']!.ioctls).toBe(2);
    expect(p['linear-batch:split_on_wrap=true']!.ioctls).toBe(3);
    expect(p['raw-ring']!.ioctls).toBe(2);
    for (const x of Object.values(p)) expect(x.correct, x.policy).toBe(true);
  });
});

describe('(f) a conversion failure in the middle of a 63-command block', () => {
  it("the host's entry_num over-count leaves 40 TLBIs unsent while the guest sees the right CONS", async () => {
    const p = by(await replayScenario('f-smmuv3-entry-num-overcount'));
    // entries 0-39 were converted into the unsent block, entry_num = 40: one stale finding each;
    // the guest-visible CONS (40) and CERROR_ILL match bare hardware
    expect(p['raw-ring']!.violations_by_kind).toEqual({ 'stale-translation': 40 });
    // the VMM stops at slot 40 itself after sending entries 0-39: correct
    expect(p['linear-batch']).toMatchObject({ correct: true });
    expect(p['per-command']).toMatchObject({ correct: true });
  });
});

describe('a trace that starts mid-ring (header start)', () => {
  it.each([
    ['vtd', '{"cmd": {"op": "iotlb_inv", "g": 3, "did": 6, "addr": "0x3000"}}', '{"cmd": {"op": "inv_wait", "sw": 1, "status_data": 2, "status_addr": "0x1000"}}'],
    ['smmuv3', '{"cmd": {"op": "TLBI_NH_VA", "asid": 6, "tg": 1, "addr": "0x3000"}}', '{"cmd": {"op": "CMD_SYNC", "cs": 2}}'],
  ])('%s: bare hardware and every policy begin empty at the start slot and wrap from there', async (arch, inv, sync) => {
    // 8 entries from slot 6: the pair lands in slots 6 and 7, the second pair wraps to 0 and 1
    const src = join(dir, `start-${arch}.jsonl`);
    const hdr = `{"invtrace": 1, "arch": "${arch}", "queue_entries": 8, "start": 6, "topology": {"iommus": 1, "devices": [{"sid": 16, "domain": 6}]}}`;
    writeFileSync(src, [hdr, inv, sync, '{"doorbell": true}', inv, sync, '{"doorbell": true}', ''].join('\n'));
    const trace = join(dir, `start-${arch}.arrow`);
    await ingest([src], { output: trace });
    const r = await runReplay(trace, { policies: ['all'] });
    expect(r.reference).toEqual({ completions: 2, errors: 0 }); // nothing before slot 6 is consumed
    for (const p of r.policies) expect(p, p.policy).toMatchObject({ correct: true, completions: 2 });
  });
});

describe('determinism', () => {
  it('replaying the same trace twice gives byte-identical result tables', async () => {
    const hashes = [];
    for (const k of [1, 2]) {
      const out = join(dir, `det-${k}`);
      await replayScenario('d-smmuv3-illegal-then-vmm-command', out);
      hashes.push(['host_ops', 'completions', 'violations', 'summary'].map((t) => createHash('sha256').update(readFileSync(join(out, `${t}.arrow`))).digest('hex')));
    }
    expect(hashes[1]).toEqual(hashes[0]);
  });
  it('`all` is every policy DESIGN.md names', () => {
    expect(ALL_POLICIES).toEqual(expect.arrayContaining(['hw-direct', 'per-command', 'linear-batch', 'linear-batch:split_on_wrap=true', 'linear-batch:vmm=prepass', 'raw-ring', 'devtlb-nop']));
  });
});
