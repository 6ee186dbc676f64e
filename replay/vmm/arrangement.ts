// The host arrangement of a VM's iommufd objects (DESIGN.md "Host arrangement", docs/hosts.md), a
// variant every policy takes (`NAME:viommu=shared`):
// - per-iommu (default): one object per physical IOMMU the VM spans — SMMUv3 one vIOMMU per
//   physical SMMU, each with its own VMID (spec/smmuv3.md §5.1); VT-d one nested HWPT per guest
//   domain, host page table and unit. The VMM sends each invalidation to the objects that may
//   cache it: one IOMMU_HWPT_INVALIDATE per object.
// - shared: one object spans every physical IOMMU — SMMUv3 one vIOMMU holding a VMID per
//   physical SMMU; VT-d one nested HWPT per guest domain and host page table attached on every
//   unit (Linux's cache tags: one IOTLB tag per unit and DID). One ioctl; the kernel fans each
//   entry out to every unit the object spans that can hold it (ASID/DID-scoped entries: all of
//   them, as the kernel does not know which guest ASIDs live where; SID-scoped: the device's own).
// The arrangement is a property of the host model (replay/smmuv3/host.ts, replay/vtd/host.ts);
// the VMM code is the same for both: it invalidates on whatever objects the host lists.

import type { Variant } from '../variant.js';

export const ARRANGEMENTS = ['per-iommu', 'shared'] as const;
export type Arrangement = (typeof ARRANGEMENTS)[number];

/** The variant key naming the arrangement. */
export const ARRANGEMENT_KEY = 'viommu';

/**
 * Splits the arrangement off a policy's variant: the policy's own factory sees the rest. Throws
 * (a usage error) on a value other than per-iommu or shared.
 */
export function takeArrangement(variant: Variant, policy: string): { readonly arrangement: Arrangement; readonly rest: Variant } {
  const raw = variant[ARRANGEMENT_KEY];
  if (raw === undefined) return { arrangement: 'per-iommu', rest: variant };
  if (!(ARRANGEMENTS as readonly string[]).includes(raw)) {
    throw new Error(`${policy}: ${ARRANGEMENT_KEY} must be one of ${ARRANGEMENTS.join(', ')}, not "${raw}"`);
  }
  const rest: Record<string, string> = { ...variant };
  delete rest[ARRANGEMENT_KEY];
  return { arrangement: raw as Arrangement, rest };
}
