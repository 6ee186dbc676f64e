// The policy registry: name → factory (frozen). `all` is the default comparison set; a name that
// is a path loads a user module exporting `default` (or `policy`) as a PolicyFactory.

import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputFault } from '../../formats/result.js';
import type { Topology } from '../../formats/trace/header.js';
import { parsePolicySpec, type PolicyFactory } from '../policy.js';
import { takeArrangement, type Arrangement } from '../vmm/arrangement.js';
import type { LeftOut } from '../summary.js';
import { expandPolicies } from './names.js';
import { devtlbNop, perCommand } from './per-command.js';
import { hwDirect } from './hw-direct.js';
import { linearBatch } from './linear-batch.js';
import { rawRing } from './raw-ring.js';
import { kernelRing } from './kernel-ring.js';
import { makeMigrate } from './migrate.js';
import { pvMap } from './pv-map.js';
import { qemuAccel } from './qemu-accel.js';
import { shadow } from './shadow.js';

export { ALL_POLICIES, DESIGN_POLICIES, expandPolicies } from './names.js';

export const POLICIES: Readonly<Record<string, PolicyFactory>> = Object.freeze({
  'hw-direct': hwDirect,
  'per-command': perCommand,
  'linear-batch': linearBatch,
  'raw-ring': rawRing,
  'devtlb-nop': devtlbNop,
  'qemu-accel': qemuAccel,
  'kernel-ring': kernelRing,
  shadow,
  'pv-map': pvMap,
  migrate: makeMigrate(() => POLICIES),
});

/** A policy spec resolved to a factory that makes a fresh instance per replay run. */
export interface ResolvedPolicy {
  readonly name: string;
  /** ctx.traceEvents must be known before the replay starts. */
  readonly needsTraceLength?: boolean;
  /** The host's iommufd objects for this run (variant `viommu`, vmm/arrangement.ts). */
  readonly arrangement: Arrangement;
  /** Why this policy cannot run on a topology (it is then left out of the comparison), if so; `queues` as PolicyFactory.unavailable. */
  unavailable(topology: Topology, queues?: readonly (readonly number[])[]): string | undefined;
  make(): ReturnType<PolicyFactory>;
}

/** Splits policies into those that run on `topology` and those left out, with why. */
export function partitionAvailable(
  policies: readonly ResolvedPolicy[],
  topology: Topology,
  queues?: readonly (readonly number[])[],
): { run: ResolvedPolicy[]; leftOut: LeftOut[] } {
  const run: ResolvedPolicy[] = [];
  const leftOut: LeftOut[] = [];
  for (const p of policies) {
    const why = p.unavailable(topology, queues);
    if (why === undefined) run.push(p);
    else leftOut.push({ policy: p.name, why });
  }
  return { run, leftOut };
}

function looksLikePath(base: string): boolean {
  return base.startsWith('.') || isAbsolute(base) || /\.(m?js|ts)$/.test(base);
}

export async function resolvePolicies(specs: readonly string[]): Promise<ResolvedPolicy[]> {
  const expanded = expandPolicies(specs);
  const out: ResolvedPolicy[] = [];
  for (const spec of expanded) {
    let parsed;
    try {
      parsed = parsePolicySpec(spec);
    } catch (e) {
      throw new InputFault({ field: 'policy', message: (e as Error).message });
    }
    let factory = POLICIES[parsed.base];
    if (factory === undefined && looksLikePath(parsed.base)) {
      const url = pathToFileURL(resolve(parsed.base)).href;
      let mod: { default?: PolicyFactory; policy?: PolicyFactory };
      try {
        mod = (await import(url)) as typeof mod;
      } catch (e) {
        throw new InputFault({ file: parsed.base, message: `cannot load policy module: ${(e as Error).message}` });
      }
      factory = mod.default ?? mod.policy;
      if (typeof factory !== 'function')
        throw new InputFault({ file: parsed.base, message: 'a policy module exports a factory as default (or `policy`)' });
    }
    if (factory === undefined) {
      throw new InputFault({
        field: 'policy',
        message: `unknown policy "${parsed.base}" (known: ${Object.keys(POLICIES).join(', ')}, all, designs, or a module path)`,
      });
    }
    const f = factory;
    let split: ReturnType<typeof takeArrangement>;
    try {
      split = takeArrangement(parsed.variant, spec); // every policy takes viommu=; its factory sees the rest
      f(split.rest, spec); // validates the variant now, not mid-replay
    } catch (e) {
      throw new InputFault({ field: 'policy', message: (e as Error).message });
    }
    const { arrangement, rest } = split;
    out.push({
      name: spec,
      arrangement,
      unavailable: (topology, queues) => f.unavailable?.(rest, topology, queues),
      make: () => f(rest, spec),
      ...(f.needsTraceLength?.(rest) ? { needsTraceLength: true } : {}),
    });
  }
  if (out.length === 0) throw new InputFault({ field: 'policy', message: 'no policy given' });
  return out;
}
