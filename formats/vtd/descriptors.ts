// The VT-d invalidation descriptor table: every type of spec/vtd.md §2 with every field
// (qw0..qw3 [hi:lo]). Type = qw0[3:0] plus high type bits qw0[11:9] (§2, gotcha 1). Reserved bits
// are what no field claims (qw2/qw3 of a 256-bit slot are reserved for every type); setting one
// raises IQE with IQERCD.IQEI = 4, an unknown type IQEI = 3 (§1.4).

import { bits } from '../bits.js';
import { namedValues, rowOf, rowsOf, type ArchTable, type FieldDef, type NamesWhere, type OpDef } from '../codec/table.js';

const F = (w: number, hi: number, lo = hi) => [bits(w, hi, lo)];

const DID = { name: 'DID', parts: F(0, 31, 16), doc: 'domain ID' } as const satisfies FieldDef;
const PASID = { name: 'PASID', parts: F(0, 51, 32), doc: 'process address space ID' } as const satisfies FieldDef;
const AM = { name: 'AM', parts: F(1, 5, 0), doc: 'address mask: 2^AM pages at ADDR (§3)' } as const satisfies FieldDef;
const IH = { name: 'IH', parts: F(1, 6), doc: 'invalidation hint: leaf entries only' } as const satisfies FieldDef;
const ADDR = { name: 'ADDR', parts: F(1, 63, 12), addr: true, doc: 'address' } as const satisfies FieldDef;
// PFSID is split: PFSID[3:0] at qw0[15:12], PFSID[15:4] at qw0[63:52] (§2.2 types 0x3 and 0x8).
const PFSID = {
  name: 'PFSID',
  parts: [bits(0, 15, 12), bits(0, 63, 52)],
  doc: 'physical function source-id (ECAP.DIT)',
} as const satisfies FieldDef;

// Columns role and owner: what classification (formats/vtd/scope.ts) and the VMM (replay/vmm/vtd.ts)
// read (spec/vtd.md §5): IOTLB and PASID-IOTLB descriptors go to the host's nested HWPTs,
// device-TLB ones too (to the device's own), context, PASID-cache and interrupt-entry-cache
// descriptors are the VMM's (re-attach, interrupt remapping), page responses are PRI the VMM
// answers, and a wait is the completion point.
// One row per line, as the table reads (a row is one record of the spec or of the CLI):
// prettier-ignore
export const VTD_OPS = [
  { code: 0x1, name: 'cc_inv', role: 'invalidate', owner: 'vmm', aka: ['QI_CC_TYPE', 'VTD_INV_DESC_CC', 'context-cache'],
    doc: 'context-cache invalidate', fields: [
      { name: 'G', parts: F(0, 5, 4), values: { GLOBAL: 1, DOMAIN: 2, DEVICE: 3 }, reserved: [0], doc: 'granularity' },
      DID,
      { name: 'SID', parts: F(0, 47, 32), doc: 'source-id (device-selective)' },
      { name: 'FM', parts: F(0, 49, 48), doc: 'function mask: SID bits ignored (1: b2, 2: b2:1, 3: b2:0)' }] },
  { code: 0x2, name: 'iotlb_inv', role: 'invalidate', owner: 'host', aka: ['QI_IOTLB_TYPE', 'VTD_INV_DESC_IOTLB', 'iotlb'],
    doc: 'IOTLB invalidate', fields: [
      { name: 'G', parts: F(0, 5, 4), values: { GLOBAL: 1, DOMAIN: 2, PAGE: 3 }, reserved: [0], doc: 'granularity' },
      { name: 'DW', parts: F(0, 6), doc: 'drain writes' },
      { name: 'DR', parts: F(0, 7), doc: 'drain reads' },
      DID, AM, IH, ADDR] },
  { code: 0x3, name: 'dev_tlb_inv', role: 'invalidate', owner: 'devtlb', aka: ['QI_DIOTLB_TYPE', 'VTD_INV_DESC_DEVICE', 'device'],
    doc: 'device-TLB (ATS) invalidate', fields: [
      PFSID,
      { name: 'MIP', parts: F(0, 20, 16), doc: 'max invalidations pending (Linux QDEP)' },
      { name: 'SID', parts: F(0, 47, 32), doc: 'source-id of the device' },
      { name: 'S', parts: F(1, 0), doc: 'size: 0 = one page, 1 = lowest zero bit of ADDR at or above 12 (§3)' },
      ADDR] },
  { code: 0x4, name: 'iec_inv', role: 'invalidate', owner: 'vmm', aka: ['QI_IEC_TYPE', 'VTD_INV_DESC_IEC', 'iec'],
    doc: 'interrupt-entry-cache invalidate', fields: [
      { name: 'G', parts: F(0, 4), values: { GLOBAL: 0, INDEX: 1 }, doc: 'granularity (1 = index-selective)' },
      { name: 'IM', parts: F(0, 31, 27), doc: 'index mask: 2^IM entries' },
      { name: 'IIDX', parts: F(0, 47, 32), doc: 'interrupt index' }] },
  { code: 0x5, name: 'inv_wait', role: 'sync', owner: 'sync', aka: ['QI_IWD_TYPE', 'VTD_INV_DESC_WAIT', 'wait'],
    doc: 'invalidation wait: completion point', fields: [
      { name: 'IF', parts: F(0, 4), doc: 'interrupt on completion' },
      { name: 'SW', parts: F(0, 5), doc: 'status write' },
      { name: 'FN', parts: F(0, 6), doc: 'fence' },
      { name: 'PD', parts: F(0, 7), doc: 'page-request drain (QEMU treats it as reserved)' },
      { name: 'STATUS_DATA', parts: F(0, 63, 32), doc: 'status data written on completion' },
      { name: 'STATUS_ADDR', parts: F(1, 63, 2), addr: true, doc: 'status address' }] },
  { code: 0x6, name: 'p_iotlb_inv', role: 'invalidate', owner: 'host', aka: ['QI_EIOTLB_TYPE', 'VTD_INV_DESC_PIOTLB', 'p-iotlb'], wideOnly: true,
    doc: 'PASID-based IOTLB invalidate', fields: [
      { name: 'G', parts: F(0, 5, 4), values: { PASID: 2, PAGE: 3 }, reserved: [0, 1], doc: 'granularity' },
      DID, PASID, AM, IH, ADDR] },
  { code: 0x7, name: 'pc_inv', role: 'invalidate', owner: 'vmm', aka: ['QI_PC_TYPE', 'VTD_INV_DESC_PC', 'pasid-cache'], wideOnly: true,
    doc: 'PASID-cache invalidate', fields: [
      { name: 'G', parts: F(0, 5, 4), values: { DOMAIN: 0, PASID: 1, GLOBAL: 3 }, reserved: [2], doc: 'granularity' },
      DID, PASID] },
  { code: 0x8, name: 'p_dev_tlb_inv', role: 'invalidate', owner: 'devtlb', aka: ['QI_DEIOTLB_TYPE', 'VTD_INV_DESC_DEV_PIOTLB', 'device-piotlb'], wideOnly: true,
    doc: 'PASID-based device-TLB invalidate', fields: [
      { name: 'MIP', parts: F(0, 8, 4), doc: 'max invalidations pending (Linux QDEP)' },
      PFSID,
      { name: 'SID', parts: F(0, 31, 16), doc: 'source-id of the device' },
      PASID,
      { name: 'G', parts: F(1, 0), doc: 'every PASID of the device' },
      { name: 'S', parts: F(1, 11), doc: 'size, as for type 3' },
      ADDR] },
  { code: 0x9, name: 'page_grp_resp', role: 'other', owner: 'vmm', aka: ['QI_PGRP_RESP_TYPE', 'VTD_INV_DESC_PGRESP'],
    doc: 'page group response (PRI)', note: 'VT-d 3.x layout; version-dependent (spec/vtd.md §2.2)', fields: [
      { name: 'P', parts: F(0, 4), doc: 'PASID present' },
      { name: 'PDP', parts: F(0, 5), doc: 'private data present' },
      { name: 'RC', parts: F(0, 15, 12), values: { SUCCESS: 0, INVALID: 1, FAILURE: 0xf }, doc: 'response code' },
      { name: 'RID', parts: F(0, 31, 16), doc: 'requester-id' },
      PASID,
      { name: 'LPIG', parts: F(1, 2), doc: 'last page in group' },
      { name: 'PRGI', parts: F(1, 11, 3), doc: 'page request group index' }] },
  // VT-d 2.x layout, from Linux's QI_PSTRM_* macros (removed from the 3.x spec). Its PASID field
  // overlaps the 3.x high type bits qw0[11:9]: such a descriptor is only a page stream response
  // when PASID[7:5] = 0, and the encoder refuses other values.
  { code: 0xa, name: 'page_strm_resp', role: 'other', owner: 'vmm', aka: ['QI_PSTRM_RESP_TYPE'],
    doc: 'page stream response (VT-d 2.x)', note: 'VT-d 2.x layout from Linux QI_PSTRM_* [?]', fields: [
      { name: 'PASID', parts: F(0, 23, 4), doc: 'process address space ID' },
      { name: 'BUS', parts: F(0, 31, 24), doc: 'requester bus' },
      { name: 'PRIV', parts: F(0, 54, 32), doc: 'private data' },
      { name: 'PRGI', parts: F(0, 63, 55), doc: 'page request index' },
      { name: 'RC', parts: F(1, 3, 0), doc: 'response code' },
      { name: 'DEVFN', parts: F(1, 11, 4), doc: 'requester device/function' },
      ADDR] },
] as const satisfies readonly OpDef[];

/** One row of the table, and the name of every VT-d descriptor type (a union the compiler checks). */
export type VtdOp = (typeof VTD_OPS)[number];
export type VtdDescName = VtdOp['name'];
/** The descriptor types that invalidate a cache (role column). */
export type VtdInvalidateName = NamesWhere<typeof VTD_OPS, 'role', 'invalidate'>;

/** The row of a decoded VT-d descriptor; undefined for another architecture or an unknown type. */
export const vtdOp = rowsOf<VtdOp>('vtd');

/** Granularities (G) by name, per type (§2.2). */
export const CC_G = namedValues(rowOf(VTD_OPS, 'cc_inv'), 'G');
export const IOTLB_G = namedValues(rowOf(VTD_OPS, 'iotlb_inv'), 'G');
export const IEC_G = namedValues(rowOf(VTD_OPS, 'iec_inv'), 'G');
export const PIOTLB_G = namedValues(rowOf(VTD_OPS, 'p_iotlb_inv'), 'G');
export const PC_G = namedValues(rowOf(VTD_OPS, 'pc_inv'), 'G');

export const VTD_TABLE: ArchTable = {
  arch: 'vtd',
  maxWords: 4,
  wordName: (w) => `qw${w}`,
  opcode: [bits(0, 3, 0), bits(0, 11, 9)],
  ops: VTD_OPS,
  // IQERCD.IQEI (spec/vtd.md §1.4): 3 invalid descriptor type, 4 reserved-field violation.
  reject: (kind, message, field) => ({
    code: 'IQE',
    value: kind === 'unknown-op' || kind === 'width' ? 3 : 4,
    message,
    ...(field ? { field } : {}),
  }),
};
