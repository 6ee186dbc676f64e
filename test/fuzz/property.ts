// One property-test case end to end: generate the random workload into memory, count what the
// trace holds, replay it twice under every policy, and check every invariant (invariants.ts).

import type { Arch } from '../../formats/codec/table.js';
import type { OpenTrace } from '../../formats/trace/io.js';
import type { Topology } from '../../formats/trace/header.js';
import { checkCounts, checkDeterminism, checkHwDirect, checkPerCommand, type TraceCounts } from './invariants.js';
import { directOnly, generateCase, randomCase, replayAll, type Case } from './workload.js';

export interface CaseResult {
  readonly c: Case;
  readonly counts: TraceCounts;
  /** hw-direct took every command (no trap): the direct-only variant of a fault-free trace. */
  readonly allDirect: boolean;
  readonly failures: readonly string[];
}

function hostObjects(arch: Arch, t: Topology): number {
  if (arch === 'vtd') return new Set(t.devices.map((d) => `${d.domain}/${d.hwpt}/${d.iommu}`)).size;
  return new Set(t.devices.map((d) => d.iommu)).size;
}

async function countTrace(trace: OpenTrace): Promise<Omit<TraceCounts, 'hostObjects' | 'entryLen'>> {
  let commands = 0;
  let doorbells = 0;
  let acks = 0;
  let invalidations = 0;
  let syncs = 0;
  for await (const b of trace.batches()) {
    const kind = b.getChild('kind')!;
    const role = b.getChild('role')!;
    for (let i = 0; i < b.numRows; i++) {
      const k = kind.get(i) as string;
      if (k === 'cmd') {
        commands++;
        const r = role.get(i) as string | null;
        if (r === 'invalidate') invalidations++;
        else if (r === 'sync') syncs++;
      } else if (k === 'doorbell') doorbells++;
      else if (k === 'ack') acks++;
    }
  }
  return { commands, doorbells, acks, invalidations, syncs };
}

export async function runCase(c: Case): Promise<CaseResult> {
  const trace = generateCase(c);
  const base = await countTrace(trace);
  const a = await replayAll(trace);
  const b = await replayAll(trace);
  const counts: TraceCounts = { ...base, hostObjects: hostObjects(c.arch, a.topology.topology), entryLen: c.arch === 'vtd' ? 24 : 16 };
  const faultFree = c.fault === 'none';
  const failures = [...checkDeterminism(a, b), ...checkHwDirect(a), ...checkPerCommand(a, faultFree), ...checkCounts(a, counts, faultFree)];
  // The same fault-free workload with only what a hardware-direct queue takes: nothing traps, so
  // hw-direct must show exactly what bare hardware shows, with no violation of any kind.
  let allDirect = false;
  if (faultFree) {
    const d = await replayAll(await directOnly(trace));
    const hw = d.policies.find((p) => p.policy === 'hw-direct')!;
    if (hw.traps !== 0) failures.push(`hw-direct: the direct-only variant still trapped ${hw.traps} times`);
    else allDirect = true;
    failures.push(...checkHwDirect(d).map((f) => `direct-only variant: ${f}`));
  }
  return { c, counts, allDirect, failures };
}

export interface PropertyRun {
  readonly traces: Record<Arch, number>;
  readonly faults: Record<string, number>;
  readonly commands: number;
  readonly allDirect: number;
  readonly failed: readonly CaseResult[];
}

/** `n` cases per architecture from `seed` on; `commands` per trace. */
export async function runProperty(seed: number, n: number, commands: number, onCase?: (r: CaseResult) => void): Promise<PropertyRun> {
  const traces: Record<Arch, number> = { smmuv3: 0, vtd: 0 };
  const faults: Record<string, number> = {};
  const failed: CaseResult[] = [];
  let total = 0;
  let allDirect = 0;
  for (let i = 0; i < n; i++) {
    for (const arch of ['smmuv3', 'vtd'] as const) {
      const r = await runCase(randomCase(arch, seed + i, commands));
      traces[arch]++;
      faults[`${arch}:${r.c.fault}`] = (faults[`${arch}:${r.c.fault}`] ?? 0) + 1;
      total += r.counts.commands;
      if (r.allDirect) allDirect++;
      if (r.failures.length > 0) failed.push(r);
      onCase?.(r);
    }
  }
  return { traces, faults, commands: total, allDirect, failed };
}
