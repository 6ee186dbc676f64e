// Rebuilds an SMMUv3 command's raw words from what QEMU printed about it (spec/smmuv3.md §6.3):
// the opcode name and the decoded-field events that follow it. The words are encoded by the codec
// (formats/codecs.ts SMMUV3.encode); `known` marks the bits the log told, so that fields QEMU does
// not print (CMD_SYNC CS/MSH/MSIATTR, the LEAF of CFGI_STE, SSID, SSEC, ...) end up null in the
// trace instead of invented zeros.

import { hex } from '../bits.js';
import type { CompiledField } from '../codec/codec.js';
import { SMMUV3 } from '../codecs.js';
import type { Smmuv3QemuEvent } from './qemu-smmuv3.js';

/**
 * QEMU's SMMUCommandType enum (hw/arm/smmuv3-internal.h), printed as `SMMU_CMD_<NAME>`. QEMU puts
 * SMMU_CMD_CFGI_ALL at 0x07, which the architecture does not define (CFGI_ALL is CFGI_STE_RANGE
 * with RANGE=31): spec/smmuv3.md §2 discrepancy 1. "UNKNOWN" and "INVALID" name no opcode.
 */
export const QEMU_SMMU_OPCODES: Readonly<Record<string, number>> = {
  SMMU_CMD_PREFETCH_CONFIG: 0x01,
  SMMU_CMD_PREFETCH_ADDR: 0x02,
  SMMU_CMD_CFGI_STE: 0x03,
  SMMU_CMD_CFGI_STE_RANGE: 0x04,
  SMMU_CMD_CFGI_CD: 0x05,
  SMMU_CMD_CFGI_CD_ALL: 0x06,
  SMMU_CMD_CFGI_ALL: 0x07,
  SMMU_CMD_TLBI_NH_ALL: 0x10,
  SMMU_CMD_TLBI_NH_ASID: 0x11,
  SMMU_CMD_TLBI_NH_VA: 0x12,
  SMMU_CMD_TLBI_NH_VAA: 0x13,
  SMMU_CMD_TLBI_EL3_ALL: 0x18,
  SMMU_CMD_TLBI_EL3_VA: 0x1a,
  SMMU_CMD_TLBI_EL2_ALL: 0x20,
  SMMU_CMD_TLBI_EL2_ASID: 0x21,
  SMMU_CMD_TLBI_EL2_VA: 0x22,
  SMMU_CMD_TLBI_EL2_VAA: 0x23,
  SMMU_CMD_TLBI_S12_VMALL: 0x28,
  SMMU_CMD_TLBI_S2_IPA: 0x2a,
  SMMU_CMD_TLBI_NSNH_ALL: 0x30,
  SMMU_CMD_ATC_INV: 0x40,
  SMMU_CMD_PRI_RESP: 0x41,
  SMMU_CMD_RESUME: 0x44,
  SMMU_CMD_STALL_TERM: 0x45,
  SMMU_CMD_SYNC: 0x46,
};

/** A detail event and the log line it came from. */
export interface DetailLine {
  readonly ev: Smmuv3QemuEvent;
  readonly line: number;
}

export interface Rebuilt {
  /** The opcode, when QEMU named one. */
  readonly code: number | undefined;
  readonly words: readonly [bigint, bigint];
  readonly known: readonly [bigint, bigint];
  /** Lines that contradict the command or each other (those facts are left unknown). */
  readonly problems: readonly { readonly line: number; readonly message: string }[];
}

const OPCODE_MASK = 0xffn; // DW0[7:0]

/** Bits of a field, per word, in place. */
function fieldMask(f: CompiledField): [bigint, bigint] {
  const m: [bigint, bigint] = [0n, 0n];
  for (const p of f.parts) m[p.w as 0 | 1] |= p.mask << p.lo;
  return m;
}

/** The TLBI-by-address opcodes, whose range QEMU prints as `smmuv3_range_inval` chunks. */
export const VA_RANGE_OPS: ReadonlySet<number> = new Set([0x12, 0x13, 0x1a, 0x22, 0x23, 0x2a]);

/**
 * The (NUM, SCALE) pairs with (NUM+1) << SCALE = pages (spec/smmuv3.md §3): the log gives the page
 * count, not its encoding. Several pairs may fit (4 pages: 3/0, 1/1, 0/2).
 */
export function numScaleCandidates(pages: bigint): { num: number; scale: number }[] {
  const out: { num: number; scale: number }[] = [];
  for (let scale = 0; scale < 32; scale++) {
    if ((pages & ((1n << BigInt(scale)) - 1n)) !== 0n) break;
    const n = pages >> BigInt(scale);
    if (n >= 1n && n <= 32n) out.push({ num: Number(n) - 1, scale });
  }
  return out;
}

const ctz = (v: bigint): number => {
  let n = 0;
  while (v > 0n && (v & 1n) === 0n) {
    v >>= 1n;
    n++;
  }
  return n;
};

/**
 * The words of the command QEMU named `opName`, from its detail events. `firstLine`: the line of
 * its first detail event of any kind (where a field the encoder refuses is reported), when
 * `details` holds only some of them.
 */
export function rebuildSmmuv3(opName: string, details: readonly DetailLine[], firstLine = details[0]?.line ?? 0): Rebuilt {
  const code = QEMU_SMMU_OPCODES[opName];
  const problems: { line: number; message: string }[] = [];
  if (code === undefined) return { code, words: [0n, 0n], known: [0n, 0n], problems };
  const op = SMMUV3.lookup(code);
  if (op === undefined) return { code, words: [BigInt(code), 0n], known: [OPCODE_MASK, 0n], problems };
  const fields = new Map(op.fields.map((f) => [f.name, f]));
  const values: Record<string, bigint> = {};
  const known: [bigint, bigint] = [OPCODE_MASK, 0n];
  const tell = (name: string, v: bigint | number, mask?: [bigint, bigint]): void => {
    const f = fields.get(name);
    if (f === undefined) return;
    values[name] = BigInt(v);
    const m = mask ?? fieldMask(f);
    known[0] |= m[0];
    known[1] |= m[1];
  };
  const of = <E extends Smmuv3QemuEvent['event']>(name: E) =>
    details.filter((d) => d.ev.event === name) as { ev: Extract<Smmuv3QemuEvent, { event: E }>; line: number }[];

  for (const u of of('smmuv3_unhandled_cmd')) {
    if (u.ev.type !== code) problems.push({ line: u.line, message: `unhandled command type ${u.ev.type} but opcode ${opName}` });
  }
  if (VA_RANGE_OPS.has(code)) rangeFields(code, of('smmuv3_range_inval'), tell, problems);
  switch (code) {
    case 0x03:
      for (const d of of('smmuv3_cmdq_cfgi_ste')) tell('SID', d.ev.streamid);
      break;
    case 0x04:
      for (const d of of('smmuv3_cmdq_cfgi_ste_range')) steRange(d, tell, fields.get('SID')!, problems);
      break;
    case 0x05:
    case 0x06:
      for (const d of of('smmuv3_cmdq_cfgi_cd')) tell('SID', d.ev.sid);
      break;
    case 0x10:
      for (const d of of('smmuv3_cmdq_tlbi_nh')) if (d.ev.vmid !== undefined && d.ev.vmid >= 0) tell('VMID', d.ev.vmid);
      break;
    case 0x11:
      for (const d of of('smmuv3_cmdq_tlbi_nh_asid')) if (d.ev.asid >= 0) tell('ASID', d.ev.asid);
      break;
    case 0x28:
      for (const d of of('smmuv3_cmdq_tlbi_s12_vmid')) if (d.ev.vmid >= 0) tell('VMID', d.ev.vmid);
      break;
    default:
  }
  const r = SMMUV3.encode(code, values);
  if (!r.ok) {
    problems.push({
      line: firstLine,
      message: `${op.def.name}: ${r.error.field ? `${r.error.field}: ` : ''}${r.error.message}`,
    });
    return { code, words: [BigInt(code), 0n], known: [OPCODE_MASK, 0n], problems };
  }
  return { code, words: [r.value[0]!, r.value[1]!], known, problems };
}

type Tell = (name: string, v: bigint | number, mask?: [bigint, bigint]) => void;

/**
 * TLBI by address: one `range_inval` line per naturally aligned chunk (QEMU splits the range), so
 * the command's ADDR is the first chunk's address and its page count the sum of the chunks'.
 */
function rangeFields(
  code: number,
  chunks: readonly { ev: Extract<Smmuv3QemuEvent, { event: 'smmuv3_range_inval' }>; line: number }[],
  tell: Tell,
  problems: { line: number; message: string }[],
): void {
  const first = chunks[0];
  if (first === undefined) return;
  const f = first.ev;
  for (const c of chunks.slice(1)) {
    const e = c.ev;
    if (e.vmid !== f.vmid || e.asid !== f.asid || e.tg !== f.tg || e.ttl !== f.ttl || e.leaf !== f.leaf) {
      problems.push({ line: c.line, message: 'range chunk differs from the first chunk in vmid/asid/tg/ttl/leaf' });
      return;
    }
  }
  if ((f.addr & 0xfffn) !== 0n) {
    problems.push({ line: first.line, message: `address ${hex(f.addr)} is not 4 KiB aligned` });
    return;
  }
  tell('ADDR', f.addr);
  if (f.vmid >= 0 && code !== 0x22 && code !== 0x23 && code !== 0x1a) tell('VMID', f.vmid);
  if (f.asid !== undefined && f.asid >= 0 && (code === 0x12 || code === 0x22)) tell('ASID', f.asid);
  if (f.leaf !== undefined) tell('LEAF', f.leaf ? 1 : 0);
  if (f.tg === undefined) return;
  tell('TG', f.tg);
  if (f.ttl !== undefined) tell('TTL', f.ttl);
  if (f.tg === 0) return; // not a range: NUM/SCALE are ignored and the log cannot tell them
  const granule = 1n << BigInt(2 * f.tg + 10);
  let pages = 0n;
  let next = f.addr;
  for (const c of chunks) {
    if (c.ev.addr !== next || c.ev.numPages === undefined || c.ev.numPages === 0n) {
      problems.push({ line: c.line, message: `range chunk at ${hex(c.ev.addr)} does not continue the range at ${hex(next)}` });
      return;
    }
    pages += c.ev.numPages;
    next += c.ev.numPages * granule;
  }
  const cands = numScaleCandidates(pages);
  if (cands.length === 0) {
    problems.push({ line: first.line, message: `${pages} pages cannot be encoded as (NUM+1) << SCALE` });
    return;
  }
  // Only a unique encoding is known; otherwise Linux's choice (SCALE = ctz(pages)) fills the
  // words so that the range comes out right, with NUM and SCALE marked unknown.
  const pick = cands.find((c) => c.scale === ctz(pages)) ?? cands[0]!;
  if (cands.length === 1) {
    tell('NUM', pick.num);
    tell('SCALE', pick.scale);
  } else {
    tell('NUM', pick.num, [0n, 0n]);
    tell('SCALE', pick.scale, [0n, 0n]);
  }
}

/**
 * CFGI_STE_RANGE: QEMU ≥ 6.0 prints start = SID aligned down to 2^(RANGE+1) and end = start + that
 * - 1, so RANGE is known and SID only above the range; older QEMU printed start = SID as given.
 */
function steRange(
  d: { ev: Extract<Smmuv3QemuEvent, { event: 'smmuv3_cmdq_cfgi_ste_range' }>; line: number },
  tell: Tell,
  sidField: CompiledField,
  problems: { line: number; message: string }[],
): void {
  const start = BigInt(d.ev.start);
  const span = BigInt(d.ev.end) - start + 1n;
  if (span < 2n || (span & (span - 1n)) !== 0n) {
    tell('SID', start);
    problems.push({ line: d.line, message: `SID range ${hex(start)}..${hex(d.ev.end)} is not 2^(RANGE+1) StreamIDs` });
    return;
  }
  let range = -1;
  for (let s = span; s > 1n; s >>= 1n) range++;
  tell('RANGE', range);
  if ((start & (span - 1n)) !== 0n) return tell('SID', start); // older QEMU: start = SID unaligned
  const sidMask = fieldMask(sidField);
  tell('SID', start, [sidMask[0] & ~((span - 1n) << 32n), 0n]);
}
