// QEMU's VT-d trace events (hw/i386/trace-events; spec/vtd.md §6.4): one row per event with its
// format, newest spelling first, older ones after it. `parseVtdEvent` turns a log line into a
// discriminated union on `event`. QEMU prints `vtd_inv_desc` with qword 1 (`high`) BEFORE qword 0
// (`low`): `hi` is qw1, `lo` is qw0.

import { event, formats, isEventError, lineParser, type EventUnion } from './qemu-format.js';

const NONE = formats('');
const REST = formats('{text:r}');
const BDF = 'Device {bus:x}:{dev:x}.{fn:x}';

export const VTD_EVENTS = {
  // Queued invalidation (spec/vtd.md §6.1): one `vtd_inv_qi_head` per descriptor fetched, then
  // `vtd_inv_desc` with the raw words (QEMU 7.2 prints none for PASID-cache/PASID-IOTLB), then the
  // decoded detail of the descriptor.
  vtd_inv_desc: event(formats('invalidate desc type {type:s} high 0x{hi:X} low 0x{lo:X}')),
  vtd_inv_desc_cc_domain: event(formats('context invalidate domain 0x{did:x}')),
  vtd_inv_desc_cc_global: event(formats('context invalidate globally')),
  // One line per device the device-selective invalidation matched (bus:dev.fn).
  vtd_inv_desc_cc_device: event(formats('context invalidate device {bus:x}:{dev:x}.{fn:x}')),
  vtd_inv_desc_cc_devices: event(formats('context invalidate devices sid 0x{sid:x} fmask 0x{fmask:x}')),
  vtd_inv_desc_iotlb_global: event(formats('iotlb invalidate global')),
  vtd_inv_desc_iotlb_domain: event(formats('iotlb invalidate whole domain 0x{did:x}')),
  vtd_inv_desc_iotlb_pages: event(formats('iotlb invalidate domain 0x{did:x} addr 0x{addr:X} mask 0x{mask:x}')),
  vtd_inv_desc_iotlb_pasid_pages: event(formats('iotlb invalidate domain 0x{did:x} addr 0x{addr:X} mask 0x{mask:x} pasid 0x{pasid:x}')),
  vtd_inv_desc_iotlb_pasid: event(formats('iotlb invalidate domain 0x{did:x} pasid 0x{pasid:x}')),
  vtd_inv_desc_wait_sw: event(formats('wait invalidate status write addr 0x{addr:X} data 0x{data:x}')),
  vtd_inv_desc_wait_irq: event(REST),
  vtd_inv_desc_wait_write_fail: event(formats('write fail for wait desc hi 0x{hi:X} lo 0x{lo:X}')),
  vtd_inv_desc_iec: event(formats('granularity 0x{granularity:x} index 0x{index:x} mask 0x{mask:x}')),
  // QEMU ≤ 3.x reported malformed descriptors as trace events (now error_report_once on stderr).
  vtd_inv_desc_invalid: event(formats('{text:r}hi 0x{hi:X} lo 0x{lo:X}'), [
    'vtd_inv_desc_cc_invalid',
    'vtd_inv_desc_iotlb_invalid',
    'vtd_inv_desc_wait_invalid',
    'vtd_inv_desc_iec_invalid',
  ]),
  vtd_inv_qi_head: event(formats('read head {head:u}')),
  vtd_inv_qi_tail: event(formats('write tail {tail:u}')),
  vtd_inv_qi_setup: event(formats('addr 0x{addr:X} size {size:u}')),
  vtd_inv_qi_enable: event(formats('enabled {enabled:b}')),
  vtd_inv_qi_fetch: event(NONE),
  vtd_warn_invalid_qi_tail: event(formats('tail 0x{tail:x}')),
  // Registers (spec/vtd.md §1.1): 0x88 IQT (the doorbell), 0x90 IQA, 0x34 FSTS, 0x18 GCMD.
  vtd_reg_write: event(formats('addr 0x{addr:x} size 0x{size:x} value 0x{value:X}')),
  vtd_reg_read: event(formats('addr 0x{addr:x} size 0x{size:x}')),
  vtd_reg_write_gcmd: event(formats('status 0x{status:x} value 0x{value:x}')),
  vtd_reg_write_fectl: event(formats('value 0x{value:x}')),
  vtd_reg_write_iectl: event(formats('value 0x{value:x}')),
  vtd_reg_ics_clear_ip: event(NONE),
  vtd_fsts_clear_ip: event(NONE),
  vtd_fsts_ppf: event(formats('FSTS PPF bit set to {set:b}')),
  vtd_reg_dmar_root: event(formats('addr 0x{addr:X} scalable {scalable:b}', 'addr 0x{addr:X} extended {extended:b}')),
  vtd_reg_ir_root: event(formats('addr 0x{addr:X} size 0x{size:x}')),
  vtd_dmar_enable: event(formats('enable {enable:b}')),
  vtd_ir_enable: event(formats('enable {enable:b}')),
  // Side effects of descriptors and register writes.
  vtd_switch_address_space: event(formats(`${BDF} switching address space (iommu enabled={enabled:b})`)),
  vtd_context_cache_reset: event(NONE),
  vtd_iotlb_reset: event(formats('IOTLB reset (reason: {reason:r})')),
  vtd_as_unmap_whole: event(formats(`${BDF} start 0x{start:X} size 0x{size:X}`)),
  vtd_pasid_cache_gsi: event(NONE),
  vtd_pasid_cache_reset: event(NONE),
  vtd_pasid_cache_dsi: event(formats('Domain slective PC invalidation domain 0x{did:x}')),
  vtd_pasid_cache_psi: event(formats('PASID slective PC invalidation domain 0x{did:x} pasid 0x{pasid:x}')),
  // Faults and warnings: kept as free text.
  vtd_frr_new: event(REST),
  vtd_dmar_fault: event(REST),
  vtd_fault_disabled: event(REST),
  vtd_warn_ir_trigger: event(REST),
  vtd_warn_ir_vector: event(REST),
  vtd_re_not_present: event(REST),
  vtd_ce_not_present: event(REST),
} as const;

/** A parsed QEMU VT-d trace event. */
export type VtdQemuEvent = EventUnion<typeof VTD_EVENTS>;
export type VtdEventName = VtdQemuEvent['event'];

/**
 * Parses a VT-d event from a log line (or an already split line). undefined: not a VT-d event
 * this table knows; `{ event, error }`: a known event whose arguments do not parse.
 */
export const parseVtdEvent = lineParser(VTD_EVENTS);

export { isEventError };

/** The registers whose writes ingest reads (spec/vtd.md §1.1). */
export const VTD_REG = { GCMD: 0x18, FSTS: 0x34, IQT: 0x88, IQA: 0x90, IQA_HI: 0x94 } as const;
/** FSTS bits that stop or flag the queue (W1C): IQE b4, ICE b5, ITE b6. */
export const FSTS_IQE = 1 << 4;
export const FSTS_ICE = 1 << 5;
export const FSTS_ITE = 1 << 6;
