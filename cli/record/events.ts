// The QEMU trace events `invtrace record` enables per vIOMMU: what the QEMU-log readers need and
// nothing per translation. The list follows samples/captures/README.md ("QEMU events enabled") and
// capture.sh; spec/vtd.md §6.4 and spec/smmuv3.md §6.3 describe each event.
//
// QEMU's events file takes one name or glob a line and `#` comments (trace/control.c). A plain name
// that this QEMU build lacks costs a warning at start-up; a glob that matches nothing is silent, so
// names that differ between QEMU releases are written as globs covering both spellings.

import type { Arch } from '../../formats/codec/table.js';

export interface EventGroup {
  /** Event names or globs, as QEMU's events file takes them. */
  readonly events: readonly string[];
  /** Why the readers want them. */
  readonly why: string;
}

export const QEMU_EVENTS: Readonly<Record<Arch, readonly EventGroup[]>> = {
  vtd: [
    { events: ['vtd_inv_*'], why: 'queue set-up, IQT writes, each fetched descriptor and its decoded line' },
    {
      events: ['vtd_reg_write*', 'vtd_reg_dmar_root', 'vtd_reg_ir_root', 'vtd_reg_ics_clear_ip'],
      why: 'register writes: IQA, IQT, GCMD, FSTS/ICS acks',
    },
    { events: ['vtd_dmar_enable', 'vtd_ir_enable', 'vtd_switch_address_space'], why: 'translation and remapping on/off' },
    { events: ['vtd_context_cache_reset', 'vtd_iotlb_reset', 'vtd_as_unmap_whole'], why: 'cache resets QEMU does itself' },
    { events: ['vtd_fsts_*', 'vtd_frr_new', 'vtd_dmar_fault', 'vtd_fault_disabled'], why: 'faults and queue errors (FSTS.IQE)' },
    {
      events: ['vtd_warn_invalid_qi_tail', 'vtd_warn_ir_trigger', 'vtd_re_not_present', 'vtd_ce_not_present'],
      why: 'rejected tails and missing root/context entries',
    },
    { events: ['vtd_pasid_cache_*'], why: 'PASID-cache invalidations (newer QEMU; QEMU 7.2 consumes them silently)' },
  ],
  smmuv3: [
    { events: ['smmuv3_cmdq_*'], why: 'CMDQ consume loop: PROD/CONS with wrap bits, opcodes, CFGI/TLBI details, errors' },
    { events: ['smmuv3_*range_inval'], why: 'TLBI by address (smmuv3_s1_range_inval in QEMU 7.2, smmuv3_range_inval later)' },
    { events: ['smmu*_config_cache_inv', 'smmu_configs_inv_*'], why: 'configuration cache invalidations' },
    { events: ['smmu_iotlb_inv_*'], why: 'IOTLB invalidations (all, ASID, ASID+VMID, VMID, IOVA)' },
    {
      events: ['smmuv3_unhandled_cmd', 'smmuv3_record_event', 'smmuv3_trigger_irq', 'smmuv3_write_gerror', 'smmuv3_write_gerrorn'],
      why: 'commands QEMU ignores, events, GERROR and its acknowledgement',
    },
    { events: ['smmuv3_write_mmio'], why: 'register writes: CMDQ_BASE, CMDQ_PROD (the doorbell), CR0' },
    {
      events: ['smmu_inv_notifiers_mr', 'smmuv3_inv_notifiers_iova', 'smmuv3_notify_flag_add', 'smmuv3_notify_flag_del'],
      why: 'UNMAP notifications to vhost/VFIO',
    },
    { events: ['smmuv3_accel_*'], why: 'nested STEs installed on the host (newer QEMU, arm-smmuv3,accel=on)' },
  ],
};

/** Left out on purpose, with the reason (printed in the events file). */
export const LEFT_OUT: Readonly<Record<Arch, string>> = {
  vtd:
    'per-translation events (vtd_dmar_translate, vtd_iotlb_*, vtd_page_walk_*, vtd_ir_remap*) and ' +
    'vtd_warn_ir_vector (with kernel-irqchip=split it logs every PIT tick: millions of lines per boot)',
  smmuv3:
    'per-translation events (smmuv3_translate_*, smmu_iotlb_lookup_*, smmu_ptw_*, smmuv3_get_ste/cd, ' +
    'smmuv3_decode_cd*, smmuv3_config_cache_hit/miss) and smmuv3_read_mmio (CONS polling)',
};

/** The events file `record` hands QEMU with `-trace events=FILE`. */
export function eventsFileText(arch: Arch): string {
  const lines = [
    `# QEMU trace events for the ${arch === 'vtd' ? 'Intel VT-d (intel-iommu)' : 'Arm SMMUv3'} ` +
      'invalidation path, written by invtrace record.',
    `# Left out: ${LEFT_OUT[arch]}.`,
  ];
  for (const g of QEMU_EVENTS[arch]) lines.push(`# ${g.why}`, ...g.events);
  return `${lines.join('\n')}\n`;
}
