// Column specs of the replay's result tables; docs/results.md documents the same columns.

import { VIOLATION_KINDS } from './oracle.js';
import type { ColSpec } from './results.js';

export const OP_KINDS = [
  'trap',
  'vmm_cmd',
  'ioctl',
  'host_cmd',
  'host_sync',
  'host_doorbell',
  'devtlb_inv',
  'direct_cmd',
  'pt_read',
  'pin',
] as const;
/**
 * Waiting on a physical queue shared with other VMs (replay/shared-host/): only a shared-host
 * replay makes them, and only its host_ops tables list them (after OP_KINDS, so indices agree).
 */
export const WAIT_KINDS = ['lock_wait', 'queue_wait'] as const;
export type OpKind = (typeof OP_KINDS)[number] | (typeof WAIT_KINDS)[number];
/** Every host_ops kind, indexed as the ledger numbers them. */
export const ALL_OP_KINDS: readonly OpKind[] = [...OP_KINDS, ...WAIT_KINDS];

/** `withWaits`: a shared-host replay's table, whose `kind` also lists WAIT_KINDS. */
export function hostOpsSpec(policies: readonly string[], withWaits = false): ColSpec[] {
  return [
    { name: 'policy', type: 'dict', values: policies, doc: 'policy with its variant' },
    { name: 'seq', type: 'u32', doc: 'guest sequence number of the doorbell (or acknowledgement) that caused the work' },
    withWaits
      ? {
          name: 'kind',
          type: 'dict',
          values: ALL_OP_KINDS,
          doc: 'trap, vmm_cmd, ioctl, host_cmd, host_sync, host_doorbell, devtlb_inv, direct_cmd, pt_read, pin, lock_wait, queue_wait',
        }
      : {
          name: 'kind',
          type: 'dict',
          values: OP_KINDS,
          doc: 'trap, vmm_cmd, ioctl, host_cmd, host_sync, host_doorbell, devtlb_inv, direct_cmd, pt_read, pin',
        },
    { name: 'iommu', type: 'i32', doc: 'physical IOMMU, -1 for work in the VMM' },
    { name: 'count', type: 'u32', doc: 'operations of this kind' },
    { name: 'entries', type: 'u32', doc: 'invalidation entries passed (ioctl)' },
    { name: 'bytes', type: 'u64', doc: 'bytes copied from user space (ioctl)' },
    { name: 'cost_us', type: 'f64', doc: 'modelled time (cost model)' },
  ];
}

export function completionsSpec(policies: readonly string[]): ColSpec[] {
  return [
    { name: 'policy', type: 'dict', values: policies, doc: 'policy with its variant' },
    { name: 'seq', type: 'u32', doc: 'guest sequence number of the CMD_SYNC / wait descriptor' },
    { name: 'slot', type: 'u32', doc: 'its queue slot' },
    { name: 'doorbell_seq', type: 'u32', doc: 'the doorbell that published it' },
    { name: 'completed', type: 'u8', doc: '1 when the policy completed it' },
    { name: 'ref_completed', type: 'u8', doc: '1 when bare hardware completed it on the same queue' },
    { name: 'latency_us', type: 'f64', doc: 'modelled time from its doorbell to its completion; null if never' },
    { name: 'commands', type: 'u32', doc: 'invalidations it completed (published since the previous completion point)' },
  ];
}

export function violationsSpec(policies: readonly string[]): ColSpec[] {
  return [
    { name: 'policy', type: 'dict', values: policies, doc: 'policy with its variant' },
    { name: 'seq', type: 'u32', doc: 'guest sequence number of the command concerned' },
    {
      name: 'kind',
      type: 'dict',
      values: VIOLATION_KINDS,
      doc: 'stale-translation, wrong-consumer-index, wrong-error, executed-past-error, never-completed',
    },
    { name: 'scope', type: 'str', doc: 'what the command covers' },
    { name: 'explanation', type: 'str', doc: 'one line' },
  ];
}

export const SUMMARY_COUNTS = [
  'traps',
  'vmm_commands',
  'ioctls',
  'host_commands',
  'host_syncs',
  'host_doorbells',
  'device_invalidations',
  'direct_commands',
  'bytes_copied',
] as const;
export type SummaryCount = (typeof SUMMARY_COUNTS)[number];

export function summarySpec(policies: readonly string[]): ColSpec[] {
  return [
    { name: 'policy', type: 'dict', values: policies, doc: 'policy with its variant' },
    { name: 'correct', type: 'u8', doc: '1 when the oracle found no violation' },
    { name: 'violations', type: 'u32', doc: 'oracle findings' },
    ...SUMMARY_COUNTS.map((c): ColSpec => ({ name: c, type: 'u64', doc: c.replace(/_/g, ' ') })),
    { name: 'completions', type: 'u32', doc: 'completion points the policy completed' },
    { name: 'modeled_us', type: 'f64', doc: 'total modelled time of the VMM and host work' },
    { name: 'p50_us', type: 'f64', doc: 'median latency of a completion point' },
    { name: 'p99_us', type: 'f64', doc: '99th percentile latency' },
    { name: 'max_us', type: 'f64', doc: 'largest latency' },
  ];
}
