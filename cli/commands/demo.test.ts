// `invtrace demo` on a clean tree: the README's main command runs the whole job on the bundled
// samples and prints the comparison, findings computed from it, and the scenario hazards.
import { describe, expect, it } from 'vitest';
import { cli } from '../../test/helpers.js';

describe('invtrace demo', () => {
  it('ingests the bundled capture, replays every policy and reports', () => {
    const r = cli('demo');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/14739 doorbells/); // the QEMU side's IQT writes in qemu-vtd-legacy-strict
    // per-command: one trap per doorbell (14,739) and one ioctl per IOTLB/device-TLB descriptor and
    // nested HWPT: 10,405 page + 7 domain IOTLB descriptors on their domain's one HWPT, the single
    // global one on each of the 5 guest domains' HWPTs (DIDs 2-6), 4,266 device-TLB descriptors on
    // the device's HWPT: 10,405 + 7 + 5 + 4,266 = 14,683 (counts: samples/captures/README.md).
    expect(r.stdout).toMatch(/^per-command\s+correct\s+14739\s+14683/m);
    expect(r.stdout).toMatch(/Key findings:/);
    expect(r.stdout).toMatch(/devtlb-nop stays correct and drops \d+% of the ioctls/);
    expect(r.stdout).toMatch(/an illegal command before a VMM-owned one: raw-ring \(executed-past-error/);
    // Designs compared: the legacy-mode capture has no PASID-IOTLB descriptor (samples/captures/README.md),
    // so QEMU handles every IOTLB descriptor on its shadow path
    expect(r.stdout).toMatch(/Designs compared/);
    expect(r.stdout).toMatch(/QEMU took the shadow \(legacy VT-d/);
    expect(r.stderr).toMatch(/ingesting/);
  });
});
