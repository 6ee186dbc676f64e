// Cost-model parameters: one row per key with its default, unit, provenance tag and source, as
// spec/costs.md documents them ([M] measured, [D] derived, [A] assumption). `--costs FILE`
// overrides any key with a JSON object {"key": value}. Every key here prices a row of the cost
// model (replay/cost/model.ts), except hw_direct_ratio, the published figure the model is checked
// against. The hardware's own invalidation time is part of the completion it waits for (smmu_sync,
// vtd_wait, atc_inv_rtt: costs.md S6-S9), so no per-scope TLB invalidation key is kept (the
// former iotlb_inv_page, iotlb_inv_domain and iotlb_miss were accepted but priced nothing).

import { readFile } from 'node:fs/promises';
import { InputFault } from '../../formats/result.js';

export interface CostParam {
  readonly key: CostKey;
  /** Microseconds. */
  readonly default: number;
  readonly tag: 'M' | 'D' | 'A';
  readonly source: string;
  readonly what: string;
  /** Priced only by a shared-host replay (replay/shared-host/): a one-VM replay.json does not list it. */
  readonly sharedHost?: boolean;
}

export const COST_PARAMS = [
  { key: 'trap_kernel', default: 0.7, tag: 'M', source: 'costs.md S1 S3 S4', what: 'guest MMIO exit handled in KVM and back' },
  {
    key: 'trap_user',
    default: 2.5,
    tag: 'M',
    source: 'costs.md S1 S3',
    what: 'guest MMIO exit to the VMM in user space and back (a doorbell trap)',
  },
  { key: 'ioctl', default: 0.3, tag: 'A', source: 'costs.md S21', what: 'fixed part of one iommufd ioctl' },
  { key: 'copy_per_entry', default: 0.01, tag: 'A', source: 'costs.md', what: 'copy_from_user of one 16-32 B invalidation entry' },
  { key: 'vmm_per_cmd', default: 0.2, tag: 'A', source: 'costs.md', what: 'VMM decode and dispatch of one guest command' },
  { key: 'host_cmd', default: 0.03, tag: 'A', source: 'costs.md', what: 'build/convert one command and store it in the host ring' },
  { key: 'host_doorbell', default: 0.1, tag: 'D', source: 'costs.md S18', what: 'posted MMIO write of CMDQ_PROD / IQT on the host' },
  { key: 'smmu_sync', default: 1.0, tag: 'D', source: 'costs.md S8 S9', what: 'CMD_SYNC completion on an idle SMMU' },
  { key: 'vtd_wait', default: 0.5, tag: 'D', source: 'costs.md S5 S6', what: 'wait descriptor completion without device-TLB work' },
  { key: 'atc_inv_rtt', default: 2, tag: 'A', source: 'costs.md S13', what: 'ATS invalidate request to completion for a live device' },
  {
    key: 'atc_timeout',
    default: 60_000_000,
    tag: 'M',
    source: 'costs.md S11 S12',
    what: 'ATS invalidation completion time-out (PCIe 6.1 §10.3.1: 1 min)',
  },
  {
    key: 'pt_read',
    default: 0.05,
    tag: 'A',
    source: 'docs/designs.md (QEMU vtd_page_walk reads)',
    what: 'VMM reads one guest page-table entry (shadow walk: address_space_ldq on guest RAM, cache-hot)',
  },
  {
    key: 'pin_page',
    default: 0.25,
    tag: 'A',
    source: 'docs/designs.md (xdna-driver#1399, dma_ip_drivers#89)',
    what: 'pin (or unpin) one 4 KiB page for a VFIO/IOAS mapping and install it in the host page table',
  },
  {
    key: 'line_handoff',
    default: 0.1,
    tag: 'A',
    source: 'costs.md (shared host); Linux arm_smmu_cmdq_shared_lock/exclusive_trylock, dmar.c qi_submit_sync q_lock',
    what: 'shared host only: a contended cache line (lock word, CMD_SYNC MSI / wait status word) moving to the waiting core once another VM releases it; 0.05-0.3 (one socket to cross-socket)',
    sharedHost: true,
  },
  {
    key: 'hw_direct_ratio',
    default: 0.2,
    tag: 'M',
    source: 'costs.md S10 S17',
    what: 'VCMDQ time / trapped time for TLB invalidation (used to check the model, not as a cost)',
  },
] as const satisfies readonly { key: string; default: number; tag: string; source: string; what: string; sharedHost?: boolean }[];

export type CostKey = (typeof COST_PARAMS)[number]['key'];
export type Costs = Readonly<Record<CostKey, number>>;

export const DEFAULT_COSTS: Costs = Object.freeze(
  Object.fromEntries(COST_PARAMS.map((p) => [p.key, p.default])) as Record<CostKey, number>,
);

/** The keys a one-VM replay prices (what its replay.json lists): every key but the shared-host ones. */
export function oneVmCosts(c: Costs): Partial<Costs> {
  const shared = new Set<string>(COST_PARAMS.filter((p) => 'sharedHost' in p && p.sharedHost).map((p) => p.key));
  return Object.fromEntries(Object.entries(c).filter(([k]) => !shared.has(k)));
}

/** Defaults overridden by a JSON file of {"key": microseconds}. Unknown keys are an error. */
export async function loadCosts(path?: string): Promise<Costs> {
  if (path === undefined) return DEFAULT_COSTS;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputFault({ file: path, message: code === 'ENOENT' ? 'no such file' : `not valid JSON (${(e as Error).message})` });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new InputFault({ file: path, message: 'expected {"key": microseconds, ...}' });
  const out: Record<string, number> = { ...DEFAULT_COSTS };
  for (const [k, v] of Object.entries(json)) {
    if (!(k in DEFAULT_COSTS))
      throw new InputFault({ file: path, field: k, message: `unknown cost key (known: ${Object.keys(DEFAULT_COSTS).join(', ')})` });
    if (typeof v !== 'number' || !(v >= 0))
      throw new InputFault({ file: path, field: k, message: 'expected a non-negative number of microseconds' });
    out[k] = v;
  }
  return out as Costs;
}
