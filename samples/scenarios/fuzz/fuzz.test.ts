// The replay-side reproducers of the 2026-12 fuzz campaign (../shared/findings/fuzz-2026-12, copied
// here with a header deriving each expectation from the specs): each wrong verdict class, fixed.
// The ingest and decode reproducers belong to the ingest tests.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingest } from '../../../formats/ingest/ingest.js';
import type { PolicySummary, ReplayOutput } from '../../../replay/replayer.js';
import { ALL_POLICIES } from '../../../replay/policies/index.js';
import { runReplay } from '../../../replay/run.js';
import { ROOT, tempDir } from '../../../test/helpers.js';

const dir = tempDir();

async function replay(name: string): Promise<ReplayOutput> {
  const trace = join(dir, `${name}.arrow`);
  await ingest([join(ROOT, 'samples/scenarios/fuzz', `${name}.jsonl`)], { output: trace });
  return runReplay(trace, { policies: ['all'] });
}

const by = (r: ReplayOutput) => Object.fromEntries(r.policies.map((p) => [p.policy, p])) as Record<string, PolicySummary>;
const allCorrect = (r: ReplayOutput) => {
  for (const p of r.policies) expect(p.violations_by_kind, p.policy).toEqual({});
};
const TRAPPED = ALL_POLICIES.filter((p) => p !== 'hw-direct');
const RAW = ['raw-ring', 'raw-ring:vmm=inorder'];

describe('oracle: a later probe refills what an earlier invalidation removed', () => {
  it.each(['oracle-refill-false-stale-smmuv3', 'oracle-refill-false-stale-vtd'])('%s: legal, nobody flagged', async (name) => {
    const r = await replay(name);
    allCorrect(r);
    expect(r.guest_findings).toEqual([]);
  });
});

describe('oracle: what bare hardware also shows is the guest\'s', () => {
  it('a wrong TTL hint: one stale-on-hardware guest finding, no policy flagged', async () => {
    const r = await replay('oracle-ttl-hint-stale-all-policies-smmuv3');
    allCorrect(r);
    expect(r.guest_findings_by_kind).toEqual({ 'stale-on-hardware': 1 });
    expect(r.guest_findings[0]!.explanation).toMatch(/CMD_TLBI_NH_VA: device 0x10 .* on bare hardware too .*TTL/);
  });
});

describe('the VMM and bare hardware agree on what the vIOMMU advertises', () => {
  it('PRI_RESP without PRI: CERROR_ILL at slot 1 everywhere; only raw-ring\'s block over-count remains', async () => {
    const r = await replay('smmuv3-pri-resp-accepted-by-vmm-ill-on-reference');
    const p = by(r);
    expect(r.reference).toEqual({ completions: 0, errors: 1 });
    expect(r.guest_findings_by_kind).toEqual({ 'queue-error': 1 });
    for (const name of ALL_POLICIES.filter((x) => !RAW.includes(x))) expect(p[name]!.correct, name).toBe(true);
    for (const name of RAW) expect(p[name]!.violations_by_kind, name).toEqual({ 'stale-translation': 1 });
  });
  it('a page group response without ECAP.PRS: IQE 3 everywhere, all correct', async () => {
    const r = await replay('vtd-page-grp-resp-accepted-by-vmm-iqe-on-reference');
    allCorrect(r);
    expect(r.reference.errors).toBe(1);
    expect(r.guest_findings[0]).toMatchObject({ kind: 'queue-error', seq: 0 });
  });
});

describe('the direct paths show what hardware shows', () => {
  it.each([
    'hwdirect-vtd-accepts-nonzero-qw3-unmapped-did',
    'hwdirect-vtd-accepts-reserved-bits-global-iotlb',
    'hwdirect-vtd-accepts-reserved-bits-unknown-sid-devtlb',
  ])('%s: IQE 4 on bare hardware and every policy, hw-direct included', async (name) => {
    const r = await replay(name);
    expect(r.reference).toEqual({ completions: 0, errors: 1 });
    allCorrect(r);
  });
  it('SMMUv3 ATC_INV for a StreamID with no device: hw-direct completes it; raw-ring\'s EIO shows', async () => {
    const r = await replay('hwdirect-smmuv3-atc-inv-unknown-sid-cerror-ill');
    const p = by(r);
    expect(r.reference).toEqual({ completions: 0, errors: 0 });
    for (const name of ALL_POLICIES.filter((x) => !RAW.includes(x))) expect(p[name]!.correct, name).toBe(true);
    for (const name of RAW) expect(p[name]!.violations_by_kind, name).toEqual({ 'wrong-consumer-index': 1, 'wrong-error': 1 });
  });
});

describe('ITE is shown by hw-direct and its absence is a finding for the trapped policies', () => {
  it('no wait: hw-direct correct; trapped: wrong-error worded for a VMM developer', async () => {
    const r = await replay('vtd-ite-never-shown-by-any-policy');
    const p = by(r);
    expect(r.guest_findings_by_kind).toEqual({ 'device-timeout': 1 });
    expect(p['hw-direct']!.correct).toBe(true);
    for (const name of TRAPPED) expect(p[name]!.violations_by_kind, name).toEqual({ 'wrong-error': 1 });
    // the host sent the device invalidation and swallowed the time-out, or nothing was sent
    for (const name of ['per-command', 'linear-batch', 'raw-ring']) expect(p[name]!.first_violations[0]!.explanation, name).toMatch(/^iommufd hides ITE: .*ITESID 0x200/);
    expect(p['devtlb-nop']!.first_violations[0]!.explanation).toMatch(/completed the device-TLB invalidation to device 0x200 without sending it/);
  });
  it('with a wait: hw-direct shows IQH past the aborted wait; trapped: stale + wrong-error', async () => {
    const r = await replay('vtd-ite-with-wait-hwdirect-wrong-cons');
    const p = by(r);
    expect(p['hw-direct']!.correct).toBe(true);
    for (const name of TRAPPED) expect(p[name]!.violations_by_kind, name).toEqual({ 'stale-translation': 1, 'wrong-error': 1 });
  });
});

describe('PASID-tagged invalidations: only what the topology attaches is probed', () => {
  it('p_iotlb_inv / p_dev_tlb_inv for PASID 1 of a device attached at RID_PASID: nothing to flag', async () => {
    const r = await replay('vtd-pasid-devtlb-piotlb-stale-all-trapped-policies');
    allCorrect(r);
    expect(r.reference).toEqual({ completions: 1, errors: 0 });
  });
});
