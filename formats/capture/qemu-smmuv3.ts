// QEMU's SMMUv3 trace events (hw/arm/trace-events; spec/smmuv3.md §6.3): one row per event with
// its format, newest spelling first, older ones after it (§6.3 "Older QEMU formats differ").
// `parseSmmuv3Event` turns a log line into a discriminated union on `event`. QEMU prints decoded
// fields only, never the raw command words: smmuv3-rebuild.ts rebuilds them.

import { event, formats, isEventError, lineParser, type EventUnion } from './qemu-format.js';

const NONE = formats('');
const REST = formats('{text:r}');

export const SMMUV3_EVENTS = {
  // The consume loop (spec/smmuv3.md §6.1): `consume` at each fetch (indices already masked, wrap
  // bits apart), `opcode` once the command is read, `consume_out` when the loop exits.
  smmuv3_cmdq_consume: event(formats('prod={prod:u} cons={cons:u} prod.wrap={prodWrap:u} cons.wrap={consWrap:u}')),
  smmuv3_cmdq_opcode: event(formats('<--- {name:s}')),
  smmuv3_cmdq_consume_out: event(formats('prod:{prod:u}, cons:{cons:u}, prod_wrap:{prodWrap:u}, cons_wrap:{consWrap:u}')),
  smmuv3_cmdq_consume_error: event(formats('Error on {name:s} command execution: {cmdError:u}')),
  smmuv3_unhandled_cmd: event(formats('Unhandled command type={type:u}')),
  // Decoded fields of the commands.
  smmuv3_cmdq_cfgi_ste: event(formats('streamid=0x{streamid:x}', 'streamid={streamid:u}')),
  // 6.0+: start = SID aligned down to 2^(RANGE+1); older QEMU printed start = SID unaligned.
  smmuv3_cmdq_cfgi_ste_range: event(formats('start=0x{start:x} - end=0x{end:x}')),
  smmuv3_cmdq_cfgi_cd: event(formats('sid=0x{sid:x}', 'streamid={sid:u}')),
  smmuv3_cmdq_tlbi_nh: event(formats('vmid={vmid:i}', '')),
  smmuv3_cmdq_tlbi_nsnh: event(NONE),
  smmuv3_cmdq_tlbi_nh_asid: event(formats('asid={asid:i}')),
  smmuv3_cmdq_tlbi_s12_vmid: event(formats('vmid={vmid:i}')),
  // One line per naturally aligned chunk of a TLBI range (§3). 7.2 calls it smmuv3_s1_range_inval
  // (no stage); the oldest QEMU had per-command events without the range fields.
  smmuv3_range_inval: event(
    formats(
      'vmid={vmid:i} asid={asid:i} addr=0x{addr:X} tg={tg:u} num_pages=0x{numPages:X} ttl={ttl:u} leaf={leaf:b} stage={stage:u}',
      'vmid={vmid:i} asid={asid:i} addr=0x{addr:X} tg={tg:u} num_pages=0x{numPages:X} ttl={ttl:u} leaf={leaf:b}',
      'vmid={vmid:i} asid={asid:i} addr=0x{addr:X} leaf={leaf:b}',
      'vmid={vmid:i} asid={asid:i} addr=0x{addr:X}',
      'vmid={vmid:i} addr=0x{addr:X}',
    ),
    ['smmuv3_s1_range_inval', 'smmuv3_cmdq_tlbi_nh_va', 'smmuv3_cmdq_tlbi_nh_vaa'],
  ),
  // Registers: 0x98 CMDQ_PROD (the doorbell), 0x90 CMDQ_BASE, 0x64 GERRORN, 0x20 CR0.
  smmuv3_write_mmio: event(
    formats('addr: 0x{addr:x} val:0x{val:X} size: 0x{size:x}({result:i})', 'addr: 0x{addr:x} val:0x{val:X} size: 0x{size:x}'),
  ),
  smmuv3_read_mmio: event(
    formats('addr: 0x{addr:x} val:0x{val:X} size: 0x{size:x}({result:i})', 'addr: 0x{addr:x} val:0x{val:X} size: 0x{size:x}'),
  ),
  smmuv3_write_gerror: event(formats('toggled=0x{toggled:x}, new GERROR=0x{gerror:x}')),
  smmuv3_write_gerrorn: event(formats('acked=0x{acked:x}, new GERRORN=0x{gerrorn:x}')),
  smmuv3_trigger_irq: event(formats('irq={irq:i}')),
  smmuv3_record_event: event(REST),
  // Cache maintenance QEMU did in response.
  smmuv3_config_cache_inv: event(formats('Config cache INV for sid=0x{sid:x}', 'Config cache INV for sid {sid:u}'), [
    'smmu_config_cache_inv',
  ]),
  smmu_configs_inv_sid_range: event(formats('Config cache INV SID range from 0x{start:x} to 0x{end:x}')),
  smmu_iotlb_inv_all: event(formats('IOTLB invalidate all')),
  smmu_iotlb_inv_asid: event(formats('IOTLB invalidate asid={asid:i}')),
  smmu_iotlb_inv_asid_vmid: event(formats('IOTLB invalidate asid={asid:i} vmid={vmid:i}')),
  smmu_iotlb_inv_vmid: event(formats('IOTLB invalidate vmid={vmid:i}')),
  smmu_iotlb_inv_vmid_s1: event(formats('IOTLB invalidate vmid={vmid:i}')),
  smmu_iotlb_inv_iova: event(formats('IOTLB invalidate asid={asid:i} addr=0x{addr:X}')),
  smmu_inv_notifiers_mr: event(formats('iommu mr={mr:s}')),
  smmuv3_inv_notifiers_iova: event(
    formats(
      'iommu mr={mr:s} asid={asid:i} vmid={vmid:i} iova=0x{iova:X} tg={tg:u} num_pages=0x{numPages:X} stage={stage:u}',
      'iommu mr={mr:s} asid={asid:i} iova=0x{iova:X} tg={tg:u} num_pages=0x{numPages:X}',
      'iommu mr={mr:s} asid={asid:i} iova=0x{iova:X}',
    ),
  ),
  smmuv3_notify_flag_add: event(REST),
  smmuv3_notify_flag_del: event(REST),
  smmuv3_accel_install_ste: event(REST),
} as const;

/** A parsed QEMU SMMUv3 trace event. */
export type Smmuv3QemuEvent = EventUnion<typeof SMMUV3_EVENTS>;
export type Smmuv3EventName = Smmuv3QemuEvent['event'];

/**
 * Parses a SMMUv3 event from a log line (or an already split line). undefined: not a SMMUv3 event
 * this table knows; `{ event, error }`: a known event whose arguments do not parse.
 */
export const parseSmmuv3Event = lineParser(SMMUV3_EVENTS);

export { isEventError };

/** The registers whose writes ingest reads (spec/smmuv3.md §1.1), after page-1 folding. */
export const SMMU_REG = { CR0: 0x20, GERRORN: 0x64, CMDQ_BASE: 0x90, CMDQ_PROD: 0x98, CMDQ_CONS: 0x9c } as const;
/** GERROR/GERRORN.CMDQ_ERR (bit 0). */
export const GERROR_CMDQ_ERR = 1;
/** QEMU caps CMDQ_BASE.LOG2SIZE to 19 (spec/smmuv3.md §1.2). */
export const QEMU_CMDQ_MAX_LOG2SIZE = 19;
