// What one SMMUv3 command means to one emulator instance, worked out once per distinct command
// (the consume loop finds it again by the slot's bits): the one dispatch over the command table's
// opcodes (spec/smmuv3.md §2, §6.1), the fault the instance raises whatever its state (an unknown
// opcode, reserved bits, a feature it lacks, SSec=1 on a CFGI), and the decoded fields the
// command's effect works on, as numbers, with the TLB entries a TLBI selects (§3). A command's
// meaning depends only on its bits and the instance's fixed configuration (compat, features, walk
// cache), never on cache or queue state, so a prepared command is shared by every fetch of it.
// The state-dependent part (what the caches hold, which devices answer) is the emulator's.

import type { Decoded } from '../../formats/codec/codec.js';
import type { AddrRange, Scope } from '../../formats/scope.js';
import { rangeBounds, type Bounds } from '../level-cache.js';
import { unreachable } from '../../formats/result.js';
import { smmuv3Op, SYNC_CS, TLBI_TG, type Smmuv3OpName } from '../../formats/smmuv3/commands.js';
import { atcRange, classifySmmuv3, steRangeIgnore, tlbiRange } from '../../formats/smmuv3/scope.js';
import * as qt from './qemu-trace.js';
import { LEVEL_SHIFT } from './tables.js';
import { CERROR, type Smmuv3Features } from './regs.js';
import { ANY, exactTlbKey } from './tag-filter.js';

/** A command that could not be executed: the CONS.ERR value and why. */
export interface Fault {
  readonly cerror: number;
  readonly message: string;
  readonly sid?: number;
}

export const ill = (message: string): Fault => ({ cerror: CERROR.ILL, message });

/** Which TLB entries a TLBI removes: the buckets by tag (ANY: every value), then the entries in each. */
export interface TlbiSpec {
  /** 0: NS-EL1, 1: EL2 (tag-filter.ts TlbTag), or ANY. */
  readonly regime: number;
  readonly stage: number;
  readonly vmid: number;
  readonly asid: number;
  /** The bucket key when the fields name exactly one tag (no ANY): the TLB finds that bucket. */
  readonly key: number | undefined;
  /** Input addresses, as their indexes at each table level (rangeBounds); undefined = all. */
  readonly bounds: Bounds | undefined;
  /** Walk (non-leaf) entries too (LEAF=0, or a TLBI without an address). */
  readonly table: boolean;
  /** TTL hint: only leaf entries of this level (§3). */
  readonly leafLevel: number | undefined;
  /** The exec event's text (QEMU's trace lines) and scope; only for an instance reporting exec events. */
  readonly detail: string | undefined;
  readonly scope: Scope | undefined;
}

/** What a command does, beside its decoded form (`Prepared.kind` says which fields apply). */
export type PreparedKind = 'none' | 'sync' | 'cfgi_ste' | 'cfgi_ste_range' | 'cfgi_cd' | 'tlbi' | 'atc_inv';

export interface Prepared {
  readonly d: Decoded;
  readonly kind: PreparedKind;
  /** CERROR_ILL this instance raises on the command whatever its state; undefined: it runs. */
  readonly refused: Fault | undefined;
  /** CFGI_* and ATC_INV: the StreamID. */
  readonly sid: number;
  /** CFGI_CD: the SubstreamID (undefined: CFGI_CD_ALL); ATC_INV: with SSV=1 (undefined: every one). */
  readonly ssid: number | undefined;
  /** CFGI_STE_RANGE: the StreamID bits ignored (2^(RANGE+1) − 1). */
  readonly ignore: number;
  readonly tlbi: TlbiSpec | undefined;
  /** ATC_INV: the addresses (undefined: all), and their indexes at each level (rangeBounds). */
  readonly atcRange: AddrRange | undefined;
  readonly atcBounds: Bounds | undefined;
  /** CMD_SYNC: the completion MSI it writes (CS=IRQ with IDR0.MSI and an address), if any. */
  readonly msi: { readonly addr: bigint; readonly data: number } | undefined;
}

/** The fixed configuration of an instance that a command's meaning depends on. */
export interface PrepareConfig {
  readonly qemu: boolean;
  readonly features: Smmuv3Features;
  /** missingFeature for these features (regs.ts missingFeatures). */
  readonly missing: (name: Smmuv3OpName) => string | undefined;
  /** Exec events are reported: each TLBI's text and scope are worked out too. */
  readonly exec: boolean;
}

const num = (v: bigint | undefined): number => Number(v ?? 0n);

/** The fields of a prepared command besides its decoded form, kind and refusal; unset ones default. */
type PreparedFields = Partial<Omit<Prepared, 'd' | 'kind' | 'refused'>>;

/**
 * A prepared command, every one built here as one object literal with every field in one order:
 * one hidden class for all of them. (A spread of a base object, `{ ...base, d, kind }`, gave each
 * prepared command a map of its own, so every load of one of its fields in the consume loop was
 * megamorphic: thousands of maps on the generated traces.)
 */
function made(d: Decoded, kind: PreparedKind, refused: Fault | undefined, x?: PreparedFields): Prepared {
  return {
    d,
    kind,
    refused,
    sid: x?.sid ?? 0,
    ssid: x?.ssid,
    ignore: x?.ignore ?? 0,
    tlbi: x?.tlbi,
    atcRange: x?.atcRange,
    atcBounds: x?.atcBounds,
    msi: x?.msi,
  };
}

/**
 * The one dispatch over the opcode: every command of the table has its case (the switch is
 * exhaustive, so a new row does not compile until it is handled).
 */
export function prepare(d: Decoded, c: PrepareConfig): Prepared {
  const op = smmuv3Op(d);
  if (op === undefined) return made(d, 'none', ill(d.error!.message)); // unknown opcode, incl. 0x00 and 0x07 (§2 row 1)
  if (d.error !== undefined && !c.qemu) return made(d, 'none', ill(`${d.name}: ${d.error.message}`)); // reserved bits, CS=3 (§2 row 7)
  const name = op.name;
  const f = d.fields;
  const needs = (): Fault | undefined => {
    const why = c.missing(name);
    return why === undefined ? undefined : ill(`${name}: ${why}`);
  };
  /** A TLBI: refused for a missing feature (unless `qemu`), else selecting what `tlbi` says. */
  const tlbiUnless = (refused: Fault | undefined, spec: () => TlbiSpec): Prepared =>
    refused !== undefined ? made(d, 'none', refused) : made(d, 'tlbi', undefined, { tlbi: spec() });
  const tlbi = (regime: number, stage: number, vmid: number, asid: number, at: VaSpec, detail: () => string, scope?: Scope): TlbiSpec => ({
    regime,
    stage,
    vmid,
    asid,
    key: exactTlbKey(regime, stage, vmid, asid),
    bounds: boundsOf(at.range),
    table: at.table,
    leafLevel: at.leafLevel,
    detail: c.exec ? detail() : undefined,
    scope: c.exec ? (scope ?? classifySmmuv3(d).scope!) : undefined,
  });
  // Stage-1 NS-EL1 entries: VMIDs are matched only when stage 2 exists (never by QEMU 7.2).
  const nh1Vmid = c.qemu || !c.features.s2p ? ANY : num(f.VMID);
  const none: Prepared = made(d, 'none', undefined);
  switch (name) {
    case 'CMD_SYNC':
      return made(d, 'sync', undefined, { msi: msiOf(d, c.features) });
    case 'CMD_PREFETCH_CONFIG':
    case 'CMD_PREFETCH_ADDR':
      return none; // a hint: nothing is fetched (QEMU: no-op)
    case 'CMD_CFGI_STE':
      return made(d, 'cfgi_ste', secureCfgi(d), { sid: num(f.SID) });
    case 'CMD_CFGI_STE_RANGE':
      return made(d, 'cfgi_ste_range', secureCfgi(d), { sid: num(f.SID), ignore: steRangeIgnore(f.RANGE ?? 0n) });
    case 'CMD_CFGI_CD':
      return made(d, 'cfgi_cd', secureCfgi(d), { sid: num(f.SID), ssid: Number(f.SSID) });
    case 'CMD_CFGI_CD_ALL':
      return made(d, 'cfgi_cd', secureCfgi(d), { sid: num(f.SID) });
    case 'CMD_TLBI_NH_ALL':
      if (c.qemu)
        return tlbiUnless(undefined, () => tlbi(ANY, ANY, ANY, ANY, ALL_ENTRIES, qt.tlbiNhLine, { cache: 'iotlb', regime: 'nh' })); // flushes everything (§6.1)
      return tlbiUnless(needs(), () => tlbi(0, 1, nh1Vmid, ANY, ALL_ENTRIES, qt.tlbiNhLine));
    case 'CMD_TLBI_NH_ASID': {
      const asid = num(f.ASID);
      const line = () => qt.tlbiNhAsidLine(asid);
      if (c.qemu) return tlbiUnless(undefined, () => tlbi(ANY, ANY, ANY, asid, ALL_ENTRIES, line, { cache: 'iotlb', asid })); // VMID ignored
      return tlbiUnless(needs(), () => tlbi(0, 1, nh1Vmid, asid, ALL_ENTRIES, line));
    }
    case 'CMD_TLBI_NH_VA':
    case 'CMD_TLBI_NH_VAA': {
      // NH_VA: one ASID; NH_VAA: every ASID.
      const asid = name === 'CMD_TLBI_NH_VA' ? num(f.ASID) : undefined;
      const line = () => rangeLines(d, 'smmuv3_s1_range_inval', num(f.VMID), asid ?? -1);
      return tlbiUnless(c.qemu ? undefined : needs(), () => tlbi(0, 1, nh1Vmid, asid ?? ANY, vaSpecOf(d, c, asid !== undefined), line));
    }
    case 'CMD_TLBI_NSNH_ALL':
      return tlbiUnless(undefined, () => tlbi(c.qemu ? ANY : 0, ANY, ANY, ANY, ALL_ENTRIES, qt.tlbiNhLine));
    case 'CMD_TLBI_EL3_ALL':
    case 'CMD_TLBI_EL3_VA':
      return c.qemu ? none : made(d, 'none', needs()); // always refused on the Non-secure queue
    case 'CMD_TLBI_EL2_ALL':
      return c.qemu ? none : tlbiUnless(needs(), () => tlbi(1, ANY, ANY, ANY, ALL_ENTRIES, () => name));
    case 'CMD_TLBI_EL2_ASID':
    case 'CMD_TLBI_EL2_VA': {
      const asid = num(f.ASID);
      const at = name === 'CMD_TLBI_EL2_VA' ? vaSpecOf(d, c, true) : ALL_ENTRIES;
      return c.qemu ? none : tlbiUnless(needs(), () => tlbi(1, ANY, ANY, asid, at, () => `${name} asid=${asid}`));
    }
    case 'CMD_TLBI_EL2_VAA':
      return c.qemu ? none : tlbiUnless(needs(), () => tlbi(1, ANY, ANY, ANY, vaSpecOf(d, c, false), () => name));
    case 'CMD_TLBI_S12_VMALL': {
      // Every NS-EL1 entry of the VMID, both stages (§6.1, §9).
      const vmid = num(f.VMID);
      return c.qemu ? none : tlbiUnless(needs(), () => tlbi(0, ANY, vmid, ANY, ALL_ENTRIES, () => qt.tlbiS12Line(vmid)));
    }
    case 'CMD_TLBI_S2_IPA': {
      // Stage-2 entries only; combined (nested) entries need a TLBI_NH_ALL or S12_VMALL after it,
      // which is what Linux sends for a nesting parent (§4.2).
      const vmid = num(f.VMID);
      const line = () => rangeLines(d, 'smmuv3_range_inval', vmid, -1, 2);
      return c.qemu ? none : tlbiUnless(needs(), () => tlbi(0, 2, vmid, ANY, vaSpecOf(d, c, false), line));
    }
    case 'CMD_ATC_INV': {
      if (c.qemu) return none;
      const refused = needs();
      if (refused !== undefined) return made(d, 'none', refused);
      // SSV=0 reaches entries with and without a PASID in the range (§2 "Field-by-field").
      const range = atcRange(f);
      const ssid = f.SSV === 1n ? Number(f.SSID) : undefined;
      return made(d, 'atc_inv', undefined, { sid: num(f.SID), ssid, atcRange: range, atcBounds: boundsOf(range) });
    }
    case 'CMD_PRI_RESP':
      return c.qemu ? none : made(d, 'none', needs());
    case 'CMD_RESUME':
    case 'CMD_STALL_TERM':
      return none; // no stall model: nothing is stalled (QEMU 7.2: unhandled)
    default:
      return unreachable(name);
  }
}

/** The address range, TTL level and walk-entry choice of a TLBI by address. */
interface VaSpec {
  readonly range: AddrRange | undefined;
  readonly table: boolean;
  readonly leafLevel: number | undefined;
}

/** Every entry of the selected buckets, leaf and walk. */
const ALL_ENTRIES: VaSpec = { range: undefined, table: true, leafLevel: undefined };

/** A TLBI by address (§3): its range, TTL level and walk-entry choice. */
function vaSpecOf(d: Decoded, c: PrepareConfig, exactTtl: boolean): VaSpec {
  const f = d.fields;
  const ranged = c.features.ril && (f.TG ?? TLBI_TG.NONE) !== TLBI_TG.NONE;
  const { range, pages } = ranged ? tlbiRange(f) : { range: { base: f.ADDR ?? 0n, bytes: 4096n }, pages: 1n };
  const ttl = Number(f.TTL ?? 0n);
  // TTL names the level of the leaf entries to go; entries at other levels are left (the
  // architecture makes them UNPREDICTABLE: keeping them exposes a wrong hint). It needs a TG.
  // QEMU 7.2 uses it only as an exact-key lookup for one page of one ASID.
  const useTtl = ttl !== 0 && ranged && (!c.qemu || (exactTtl && pages === 1n));
  return { range, table: f.LEAF !== 1n, leafLevel: useTtl ? ttl : undefined };
}

/** QEMU's range-invalidation trace lines of a TLBI by address. */
function rangeLines(d: Decoded, event: 'smmuv3_s1_range_inval' | 'smmuv3_range_inval', vmid: number, asid: number, stage?: number): string {
  const f = d.fields;
  return qt.rangeInvalLines(event, vmid, asid, f.ADDR ?? 0n, num(f.TG), num(f.NUM), num(f.SCALE), num(f.TTL), num(f.LEAF), stage);
}

/**
 * CMD_SYNC with CS=IRQ and IDR0.MSI: the completion MSI writes MSIDATA at MSIADDR (Linux polls
 * that word). The IRQ bit is tested, as QEMU does: CS=3 (reserved, run only in qemu-7.2 mode)
 * signals too.
 */
function msiOf(d: Decoded, x: Smmuv3Features): Prepared['msi'] {
  const f = d.fields;
  const cs = f.CS ?? SYNC_CS.NONE;
  if (!x.msi || (cs & SYNC_CS.IRQ) === 0n || (f.MSIADDR ?? 0n) === 0n) return undefined;
  return { addr: f.MSIADDR!, data: Number(f.MSIDATA ?? 0n) };
}

/** A range's indexes at each level of the SMMU's caches (TLB and ATCs share LEVEL_SHIFT); undefined: all. */
const boundsOf = (range: AddrRange | undefined): Bounds | undefined => (range === undefined ? undefined : rangeBounds(range, LEVEL_SHIFT));

/** CFGI commands with SSec=1 are refused on the Non-secure queue (spec/smmuv3.md §2 row 3). */
const secureCfgi = (d: Decoded): Fault | undefined => (d.fields.SSEC === 1n ? ill(`${d.name}: SSec=1 on the Non-secure queue`) : undefined);
