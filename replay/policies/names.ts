// The policy names `--policy` takes besides single policies: the lists `all` and `designs` stand
// for, and their expansion. Apart from the registry (index.ts), which loads every policy, so that
// the command line can count the policies a replay will run before it loads them (bare-launch.ts).

/** What `--policy all` runs: every policy, and the variants DESIGN.md names. */
export const ALL_POLICIES: readonly string[] = [
  'hw-direct',
  'per-command',
  'linear-batch',
  'linear-batch:split_on_wrap=true',
  'linear-batch:vmm=prepass',
  'raw-ring',
  'raw-ring:vmm=inorder',
  'devtlb-nop',
  'devtlb-nop:fanout=all',
];

/**
 * What `--policy designs` runs: the designs of issue 14 side by side — QEMU today, the nested
 * trapped baselines, the in-kernel short path, tlbi-on-map (shadow), paravirtual map/unmap, the
 * hardware queue, and the migration fallback from it.
 */
export const DESIGN_POLICIES: readonly string[] = [
  'qemu-accel',
  'per-command',
  'linear-batch',
  'kernel-ring',
  'shadow',
  'pv-map',
  'hw-direct',
  'migrate:from=hw-direct,to=linear-batch,at=50%',
];

const ALIASES: Readonly<Record<string, readonly string[]>> = { all: ALL_POLICIES, designs: DESIGN_POLICIES };

/** The policy specs `specs` name, aliases expanded in place; a policy named twice (`all,designs`) once. */
export function expandPolicies(specs: readonly string[]): string[] {
  return [...new Set(specs.flatMap((s) => ALIASES[s.trim()] ?? [s.trim()]).filter((s) => s !== ''))];
}
