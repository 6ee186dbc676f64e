// The SMMUv3 command table: every CMDQ opcode of spec/smmuv3.md §2 with every field as the spec
// prints it (DW0/DW1 [hi:lo]). Reserved bits are what no field claims; they raise CERROR_ILL.

import { bits } from '../bits.js';
import { namedValues, rowOf, rowsOf, type ArchTable, type FieldDef, type NamesWhere, type OpDef } from '../codec/table.js';

const F = (w: number, hi: number, lo = hi) => [bits(w, hi, lo)];

// Fields shared by several commands (spec/smmuv3.md §2 "Field-by-field details").
const SSEC = { name: 'SSEC', parts: F(0, 10), doc: 'Secure stream (QEMU decodes it; Linux never sets it)' } as const satisfies FieldDef;
const SSV = { name: 'SSV', parts: F(0, 11), doc: 'SubstreamID valid' } as const satisfies FieldDef;
const SSID = { name: 'SSID', parts: F(0, 31, 12), doc: 'SubstreamID (PASID)' } as const satisfies FieldDef;
const SID = { name: 'SID', parts: F(0, 63, 32), doc: 'StreamID' } as const satisfies FieldDef;
const VMID = { name: 'VMID', parts: F(0, 47, 32), doc: 'virtual machine ID' } as const satisfies FieldDef;
const ASID = { name: 'ASID', parts: F(0, 63, 48), doc: 'address space ID' } as const satisfies FieldDef;
const NUM = { name: 'NUM', parts: F(0, 16, 12), doc: 'range: pages = (NUM+1) << SCALE (RIL, §3)' } as const satisfies FieldDef;
const SCALE = { name: 'SCALE', parts: F(0, 24, 20), doc: 'range scale (RIL, §3)' } as const satisfies FieldDef;
const LEAF = { name: 'LEAF', parts: F(1, 0), doc: 'only last-level (leaf) entries' } as const satisfies FieldDef;
const TTL = { name: 'TTL', parts: F(1, 9, 8), doc: 'level hint of leaf entries (0 = none)' } as const satisfies FieldDef;
const TG = {
  name: 'TG',
  parts: F(1, 11, 10),
  values: { NONE: 0, '4K': 1, '16K': 2, '64K': 3 },
  doc: 'range granule 2^(2*TG+10); 0 = not a range command',
} as const satisfies FieldDef;
const ADDR = { name: 'ADDR', parts: F(1, 63, 12), addr: true, doc: 'virtual address' } as const satisfies FieldDef;
const VA_RANGE = [NUM, SCALE] as const;
const VA_ARGS = [LEAF, TTL, TG, ADDR] as const;

// Columns role and owner: what classification (formats/smmuv3/scope.ts) and the VMM
// (replay/vmm/smmuv3.ts) read. Owner follows QEMU accel mode and the kernel's
// arm_vsmmu_convert_user_cmd (spec/smmuv3.md §5.1-5.2): the kernel takes the TLBI_NH_*, NSNH_ALL,
// CFGI_CD(_ALL) and ATC_INV opcodes; the VMM handles CFGI_STE(_RANGE) by re-installing STEs and
// the hints and stall/PRI responses itself; a stage-1-only vSMMU implements no EL2/EL3 or stage-2
// TLBI, so those are illegal for a guest.
// One row per line, as the table reads (a row is one record of the spec or of the CLI):
// prettier-ignore
export const SMMUV3_OPS = [
  { code: 0x01, name: 'CMD_PREFETCH_CONFIG', role: 'other', owner: 'vmm', aka: ['CMDQ_OP_PREFETCH_CFG', 'SMMU_CMD_PREFETCH_CONFIG'],
    doc: 'prefetch the configuration of a stream', fields: [SSEC, SSV, SSID, SID] },
  { code: 0x02, name: 'CMD_PREFETCH_ADDR', role: 'other', owner: 'vmm', aka: ['SMMU_CMD_PREFETCH_ADDR'],
    doc: 'prefetch translations of an address range', fields: [SSEC, SSV, SSID, SID,
      { name: 'SIZE', parts: F(1, 4, 0), doc: 'log2 of the range in pages' }, ADDR],
    note: 'DW1 fields as Linux masks them (PREFETCH_1_SIZE, PREFETCH_1_ADDR_MASK); the rest taken as reserved' },
  { code: 0x03, name: 'CMD_CFGI_STE', role: 'invalidate', owner: 'vmm', aka: ['CMDQ_OP_CFGI_STE', 'SMMU_CMD_CFGI_STE'],
    doc: 'invalidate the cached STE of one StreamID', fields: [SSEC, SID, LEAF] },
  { code: 0x04, name: 'CMD_CFGI_STE_RANGE', role: 'invalidate', owner: 'vmm', aka: ['CMDQ_OP_CFGI_ALL', 'CMD_CFGI_ALL', 'SMMU_CMD_CFGI_STE_RANGE'],
    doc: 'invalidate STEs of 2^(RANGE+1) StreamIDs aligned down from SID (RANGE=31: all)',
    fields: [SSEC, SID, { name: 'RANGE', parts: F(1, 4, 0), doc: 'log2(count) - 1 of StreamIDs' }] },
  { code: 0x05, name: 'CMD_CFGI_CD', role: 'invalidate', owner: 'host', aka: ['CMDQ_OP_CFGI_CD', 'SMMU_CMD_CFGI_CD'],
    doc: 'invalidate the cached CD of (SID, SSID)', fields: [SSEC, SSID, SID, LEAF] },
  { code: 0x06, name: 'CMD_CFGI_CD_ALL', role: 'invalidate', owner: 'host', aka: ['CMDQ_OP_CFGI_CD_ALL', 'SMMU_CMD_CFGI_CD_ALL'],
    doc: 'invalidate every cached CD of a StreamID', fields: [SSEC, SID] },
  { code: 0x10, name: 'CMD_TLBI_NH_ALL', role: 'invalidate', owner: 'host', aka: ['CMDQ_OP_TLBI_NH_ALL', 'SMMU_CMD_TLBI_NH_ALL'],
    doc: 'invalidate all stage-1 entries of a VMID', fields: [VMID] },
  { code: 0x11, name: 'CMD_TLBI_NH_ASID', role: 'invalidate', owner: 'host', aka: ['CMDQ_OP_TLBI_NH_ASID', 'SMMU_CMD_TLBI_NH_ASID'],
    doc: 'invalidate all entries of an ASID', fields: [VMID, ASID] },
  { code: 0x12, name: 'CMD_TLBI_NH_VA', role: 'invalidate', owner: 'host', aka: ['CMDQ_OP_TLBI_NH_VA', 'SMMU_CMD_TLBI_NH_VA'],
    doc: 'invalidate stage-1 entries of an ASID by address or range', fields: [...VA_RANGE, VMID, ASID, ...VA_ARGS] },
  { code: 0x13, name: 'CMD_TLBI_NH_VAA', role: 'invalidate', owner: 'host', aka: ['CMDQ_OP_TLBI_NH_VAA', 'SMMU_CMD_TLBI_NH_VAA'],
    doc: 'invalidate stage-1 entries of every ASID by address or range', fields: [...VA_RANGE, VMID, ...VA_ARGS] },
  { code: 0x18, name: 'CMD_TLBI_EL3_ALL', role: 'invalidate', owner: 'illegal', aka: ['SMMU_CMD_TLBI_EL3_ALL'], doc: 'invalidate all EL3 entries', fields: [] },
  { code: 0x1a, name: 'CMD_TLBI_EL3_VA', role: 'invalidate', owner: 'illegal', aka: ['SMMU_CMD_TLBI_EL3_VA'],
    doc: 'invalidate EL3 entries by address', fields: [...VA_RANGE, ...VA_ARGS],
    note: 'layout taken to be EL2_VA without ASID [? spec/smmuv3.md §2]' },
  { code: 0x20, name: 'CMD_TLBI_EL2_ALL', role: 'invalidate', owner: 'illegal', aka: ['CMDQ_OP_TLBI_EL2_ALL', 'SMMU_CMD_TLBI_EL2_ALL'],
    doc: 'invalidate all EL2 entries', fields: [] },
  { code: 0x21, name: 'CMD_TLBI_EL2_ASID', role: 'invalidate', owner: 'illegal', aka: ['CMDQ_OP_TLBI_EL2_ASID', 'SMMU_CMD_TLBI_EL2_ASID'],
    doc: 'invalidate EL2 entries of an ASID', fields: [ASID] },
  { code: 0x22, name: 'CMD_TLBI_EL2_VA', role: 'invalidate', owner: 'illegal', aka: ['CMDQ_OP_TLBI_EL2_VA', 'SMMU_CMD_TLBI_EL2_VA'],
    doc: 'invalidate EL2 entries of an ASID by address', fields: [...VA_RANGE, ASID, ...VA_ARGS] },
  { code: 0x23, name: 'CMD_TLBI_EL2_VAA', role: 'invalidate', owner: 'illegal', aka: ['SMMU_CMD_TLBI_EL2_VAA'],
    doc: 'invalidate EL2 entries of every ASID by address', fields: [...VA_RANGE, ...VA_ARGS],
    note: 'layout taken to be EL2_VA without ASID [? spec/smmuv3.md §2]' },
  { code: 0x28, name: 'CMD_TLBI_S12_VMALL', role: 'invalidate', owner: 'illegal', aka: ['CMDQ_OP_TLBI_S12_VMALL', 'SMMU_CMD_TLBI_S12_VMALL'],
    doc: 'invalidate all stage-1 and stage-2 entries of a VMID', fields: [VMID] },
  { code: 0x2a, name: 'CMD_TLBI_S2_IPA', role: 'invalidate', owner: 'illegal', aka: ['CMDQ_OP_TLBI_S2_IPA', 'SMMU_CMD_TLBI_S2_IPA'],
    doc: 'invalidate stage-2 entries of a VMID by IPA or range',
    fields: [...VA_RANGE, VMID, LEAF, TTL, TG,
      { name: 'ADDR', parts: F(1, 51, 12), addr: true, doc: 'intermediate physical address (Linux: [51:12])' }] },
  { code: 0x30, name: 'CMD_TLBI_NSNH_ALL', role: 'invalidate', owner: 'host', aka: ['CMDQ_OP_TLBI_NSNH_ALL', 'SMMU_CMD_TLBI_NSNH_ALL'],
    doc: 'invalidate all non-secure non-hypervisor entries', fields: [] },
  { code: 0x40, name: 'CMD_ATC_INV', role: 'invalidate', owner: 'devtlb', aka: ['CMDQ_OP_ATC_INV', 'SMMU_CMD_ATC_INV'],
    doc: 'invalidate the ATC of a device (ATS): 4 KiB << SIZE bytes at ADDR',
    fields: [{ name: 'GLOBAL', parts: F(0, 9), doc: 'global entries too (Linux never sets it)' }, SSV, SSID, SID,
      { name: 'SIZE', parts: F(1, 5, 0), doc: 'log2 of the span in 4 KiB pages; 52 = everything' }, ADDR] },
  { code: 0x41, name: 'CMD_PRI_RESP', role: 'other', owner: 'vmm', aka: ['CMDQ_OP_PRI_RESP', 'SMMU_CMD_PRI_RESP'],
    doc: 'respond to a PRI page request group', fields: [SSV, SSID, SID,
      { name: 'GRPID', parts: F(1, 8, 0), doc: 'page request group index' },
      { name: 'RESP', parts: F(1, 13, 12), values: { DENY: 0, FAIL: 1, SUCC: 2 }, reserved: [3], doc: 'response' }] },
  { code: 0x44, name: 'CMD_RESUME', role: 'other', owner: 'vmm', aka: ['CMDQ_OP_RESUME', 'SMMU_CMD_RESUME'],
    doc: 'resume or terminate a stalled transaction', fields: [SSEC,
      { name: 'RESP', parts: F(0, 13, 12), values: { TERM: 0, RETRY: 1, ABORT: 2 }, reserved: [3], doc: 'action' },
      SID, { name: 'STAG', parts: F(1, 15, 0), doc: 'stall tag' }] },
  { code: 0x45, name: 'CMD_STALL_TERM', role: 'other', owner: 'vmm', aka: ['SMMU_CMD_STALL_TERM'],
    doc: 'terminate every stalled transaction of a stream', fields: [SSEC, SID],
    note: 'SID position from the architecture [? spec/smmuv3.md §2]' },
  { code: 0x46, name: 'CMD_SYNC', role: 'sync', owner: 'sync', aka: ['CMDQ_OP_CMD_SYNC', 'SMMU_CMD_SYNC'],
    doc: 'completion point: every earlier command has completed when it completes', fields: [
      // CS = 0b11 is CERROR_ILL (IHI 0070 §4.7.3, per the openvmm audit in spec/smmuv3.md §2 row 7).
      { name: 'CS', parts: F(0, 13, 12), values: { NONE: 0, IRQ: 1, SEV: 2 }, reserved: [3], doc: 'completion signal' },
      { name: 'MSH', parts: F(0, 23, 22), doc: 'MSI shareability' },
      { name: 'MSIATTR', parts: F(0, 27, 24), doc: 'MSI memory attributes' },
      { name: 'MSIDATA', parts: F(0, 63, 32), doc: 'MSI payload' },
      { name: 'MSIADDR', parts: F(1, 51, 2), addr: true, doc: 'MSI address' }] },
] as const satisfies readonly OpDef[];

/** One row of the table, and the name of every SMMUv3 command (a union the compiler checks). */
export type Smmuv3Op = (typeof SMMUV3_OPS)[number];
export type Smmuv3OpName = Smmuv3Op['name'];
/** The commands that invalidate a cache (role column). */
export type Smmuv3InvalidateName = NamesWhere<typeof SMMUV3_OPS, 'role', 'invalidate'>;

/** The row of a decoded SMMUv3 command; undefined for another architecture or an unknown opcode. */
export const smmuv3Op = rowsOf<Smmuv3Op>('smmuv3');

/** TLBI TG by name: NONE (not a range command), 4K, 16K, 64K. */
export const TLBI_TG = namedValues(rowOf(SMMUV3_OPS, 'CMD_TLBI_NH_VA'), 'TG');
/** CMD_SYNC CS by name: NONE, IRQ, SEV. */
export const SYNC_CS = namedValues(rowOf(SMMUV3_OPS, 'CMD_SYNC'), 'CS');

export const SMMUV3_TABLE: ArchTable = {
  arch: 'smmuv3',
  maxWords: 2,
  wordName: (w) => `DW${w}`,
  opcode: [bits(0, 7, 0)],
  ops: SMMUV3_OPS,
  // Every malformed command is CERROR_ILL (spec/smmuv3.md §1.3, §9).
  reject: (_kind, message, field) => ({ code: 'CERROR_ILL', value: 1, message, ...(field ? { field } : {}) }),
};
