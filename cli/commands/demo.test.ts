// `invtrace demo` on a clean tree: the README's main command runs the whole job on the bundled
// samples and prints the comparison, findings computed from it, and the scenario hazards.
import { describe, expect, it } from 'vitest';
import { cli } from '../../test/helpers.js';

describe('invtrace demo', () => {
  it('ingests the bundled capture, replays every policy and reports', () => {
    const r = cli('demo');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/14739 doorbells/); // the QEMU side's IQT writes in qemu-vtd-legacy-strict
    expect(r.stdout).toMatch(/^per-command\s+correct\s+14739\s+14683/m);
    expect(r.stdout).toMatch(/Key findings:/);
    expect(r.stdout).toMatch(/devtlb-nop stays correct and drops \d+% of the ioctls/);
    expect(r.stdout).toMatch(/an illegal command before a VMM-owned one: raw-ring \(executed-past-error/);
    expect(r.stderr).toMatch(/ingesting/);
  });
});
