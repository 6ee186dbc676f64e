// The design scenarios of issue 14 (g-l), each replayed under the designs' policies. Every expected
// number is derived in the scenario file's header comment from QEMU's, Linux's or the spec's
// rules (repeated briefly here), never copied from the program's output.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import { runReplay } from '../../replay/run.js';
import type { PolicySummary, ReplayOutput } from '../../replay/replayer.js';
import { ROOT, tempDir } from '../../test/helpers.js';

const dir = tempDir();

const DESIGNS = ['qemu-accel', 'per-command', 'kernel-ring', 'shadow', 'pv-map', 'hw-direct', 'linear-batch', 'raw-ring', 'devtlb-nop'];

async function replayScenario(name: string, policies: readonly string[] = DESIGNS): Promise<ReplayOutput> {
  const trace = join(dir, `${name}.arrow`);
  await ingest([join(ROOT, 'samples/scenarios', `${name}.jsonl`)], { output: trace });
  return runReplay(trace, { policies });
}

const by = (r: ReplayOutput) => Object.fromEntries(r.policies.map((p) => [p.policy, p])) as Record<string, PolicySummary>;

describe('(g) qemu-accel, SMMUv3: a failed ioctl becomes CERROR_ILL with CONS on the command', () => {
  it('qemu-accel shows CERROR_ILL at slot 1 where hardware (and per-command) show CERROR_ATC_INV_SYNC at slot 2', async () => {
    const r = await replayScenario('g-smmuv3-qemu-atc-timeout');
    const p = by(r);
    expect(r.reference.errors).toBe(1); // the CMD_SYNC stops the queue
    // TLBI and ATC_INV: one ioctl each, entry_num = 1 (the vSMMU advertises ATS)
    expect(p['qemu-accel']).toMatchObject({ ioctls: 2 });
    expect(p['per-command']).toMatchObject({ ioctls: 2 });
    expect(p['qemu-accel']!.violations_by_kind).toMatchObject({ 'wrong-consumer-index': 1, 'wrong-error': 1 });
    // per-command defers the time-out to the CMD_SYNC as hardware does: no guest-state finding
    expect(p['per-command']!.violations_by_kind['wrong-error']).toBeUndefined();
    expect(p['per-command']!.violations_by_kind['wrong-consumer-index']).toBeUndefined();
  });
});

describe('(h) qemu-accel, SMMUv3: ATC_INV forwarded only when ATS is advertised', () => {
  it('no ATS device: qemu-accel 1 ioctl, per-command 2; kernel-ring 2 traps and no ioctl', async () => {
    const p = by(await replayScenario('h-smmuv3-qemu-no-ats'));
    expect(p['qemu-accel']).toMatchObject({ ioctls: 1, traps: 1, correct: true });
    expect(p['qemu-accel']!.detail).toMatchObject({ atc_inv_ignored: 1 });
    expect(p['per-command']).toMatchObject({ ioctls: 2, correct: true });
    expect(p['kernel-ring']).toMatchObject({ traps: 2, ioctls: 0, bytes_copied: 0, correct: true });
  });
});

describe('(i) qemu-accel, VT-d nested: one ioctl per device of the DID', () => {
  it('4 devices of DID 6: qemu-accel 4 ioctls, the nested policies 1', async () => {
    const p = by(await replayScenario('i-vtd-nested-per-device'));
    expect(p['qemu-accel']).toMatchObject({ ioctls: 4, correct: true });
    expect(p['qemu-accel']!.detail).toMatchObject({ path: 'nested (per-device P-IOTLB ioctls)', nested_ioctls: 4 });
    for (const n of ['per-command', 'linear-batch', 'devtlb-nop']) expect(p[n], n).toMatchObject({ ioctls: 1, correct: true });
  });
});

describe('(j) kernel-ring stops at the failing descriptor; raw-ring with the VMM prepass does not', () => {
  it('kernel-ring correct with 1 trap and 0 ioctls; raw-ring executes the context-cache invalidation past the error', async () => {
    const r = await replayScenario('j-vtd-illegal-then-context');
    const p = by(r);
    expect(r.reference.errors).toBe(1);
    expect(p['kernel-ring']).toMatchObject({ correct: true, traps: 1, ioctls: 0 });
    expect(p['raw-ring']!.violations_by_kind).toEqual({ 'executed-past-error': 1 });
    expect(p['linear-batch']).toMatchObject({ correct: true, ioctls: 1 });
  });
  it('the same on SMMUv3 scenario (d): kernel-ring correct, 3 traps (doorbell, acknowledgement, exit for CFGI_STE), 0 ioctls', async () => {
    const p = by(await replayScenario('d-smmuv3-illegal-then-vmm-command', ['kernel-ring', 'raw-ring']));
    expect(p['kernel-ring']).toMatchObject({ correct: true, traps: 3, ioctls: 0 });
    expect(p['raw-ring']!.correct).toBe(false);
  });
  it('kernel-ring walks a wrapping doorbell natively (scenario e): correct, no ioctl, no copy', async () => {
    const p = by(await replayScenario('e-smmuv3-wrap', ['kernel-ring']));
    // two doorbells, each one kernel exit
    expect(p['kernel-ring']).toMatchObject({ correct: true, traps: 2, ioctls: 0, bytes_copied: 0 });
  });
});

describe('(k) caching mode: shadow, pv-map and the nested policies', () => {
  it('shadow 6 ioctls and 10 pinned pages, pv-map 3 ioctls and 3 kicks, per-command 4, linear-batch 3', async () => {
    const p = by(await replayScenario('k-vtd-caching-mode-map-unmap'));
    expect(p.shadow).toMatchObject({ traps: 3, ioctls: 6, correct: true });
    expect(p.shadow!.detail).toMatchObject({ map_flushes: 2, unmap_flushes: 1, cause_unknown: 0, pages_pinned: 10, pages_unpinned: 2, walks: 6 });
    expect(p['qemu-accel']).toMatchObject({ ioctls: 6, correct: true }); // legacy VT-d: the shadow path
    expect(p['qemu-accel']!.detail).toMatchObject({ path: 'shadow (legacy VT-d: caching mode, VFIO map/unmap)' });
    expect(p['pv-map']).toMatchObject({ traps: 3, ioctls: 3, correct: true });
    expect(p['pv-map']!.detail).toMatchObject({ kicks: 3, map_requests: 2, unmap_requests: 1, maps_inferred: 0, pages_pinned: 5, pages_unpinned: 1 });
    expect(p['per-command']).toMatchObject({ ioctls: 4, correct: true });
    expect(p['linear-batch']).toMatchObject({ ioctls: 3, correct: true });
    expect(p['kernel-ring']).toMatchObject({ traps: 3, ioctls: 0, correct: true });
  });
});

describe('(l) migrate with an error pending at the switch', () => {
  it('hands over CONS, the error and 3 unconsumed commands; each side costs as derived; exactly once', async () => {
    const name = 'migrate:from=hw-direct,to=linear-batch,at=6';
    const p = by(await replayScenario('l-smmuv3-migrate-pending-error', [name]))[name]!;
    expect(p.correct).toBe(true);
    expect(p.detail).toMatchObject({
      switch_seq: 6,
      handed_over_unconsumed: 3,
      handed_over_error: 'CERROR_ILL',
      source_doorbells: 1,
      source_us: 2.73,
      destination_doorbells: 1,
      destination_us: 4.54,
      total_us: 7.27,
      executed_twice: 0,
      exactly_once: true,
    });
    expect(p.modeled_us).toBe(7.27);
  });
  it('switching at the doorbell instead (at=4) leaves everything to linear-batch: nothing on the source', async () => {
    const name = 'migrate:from=hw-direct,to=linear-batch,at=4';
    const p = by(await replayScenario('l-smmuv3-migrate-pending-error', [name, 'linear-batch']));
    expect(p[name]!.detail).toMatchObject({ source_doorbells: 0, source_us: 0, destination_doorbells: 2 });
    expect(p[name]!.modeled_us).toBe(p['linear-batch']!.modeled_us);
  });
});
