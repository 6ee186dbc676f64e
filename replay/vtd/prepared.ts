// What one VT-d descriptor means to one unit, worked out once per distinct descriptor (the
// consume loop finds it again by the slot's bits): whether the unit refuses it with IQE whatever
// its state (descriptorFault: the codec's errors and what the unit supports, spec/vtd.md §1.3-1.4,
// §2.2), and the fields its queue handling reads, as numbers: a wait's SW/IF/FN, status address
// and data (§2.2 type 0x5), a device-TLB descriptor's SID. A descriptor's meaning depends only on
// its bits, the queue width it was decoded with and the unit's fixed capabilities (compat, MAMV),
// never on cache or queue state, so a prepared descriptor is shared by every fetch of it. The
// state-dependent part (pending waits, silent devices, cache contents) is the unit's (unit.ts).

import type { Decoded } from '../../formats/codec/codec.js';
import { IOTLB_G, vtdOp } from '../../formats/vtd/descriptors.js';
import { unreachable } from '../../formats/result.js';
import { IQEI, type Iqei } from './regs.js';
import { prepareDrop, type PreparedDrop } from './invalidate.js';

/** What a unit supports beyond the codec's table (see the header table). */
export interface DescriptorCaps {
  /** QEMU 7.2 rules for waits. */
  readonly compat: boolean;
  /** CAP.MAMV. */
  readonly mamv: number;
}

/** Why a unit refuses a descriptor: IQERCD.IQEI and a message. */
export interface DescriptorFault {
  readonly iqei: Iqei;
  readonly why: string;
}

/** The guest-facing unit's capabilities: the architecture, QEMU's CAP.MAMV, no page requests. */
export const GUEST_CAPS: DescriptorCaps = { compat: false, mamv: 18 };

/**
 * Why a unit with `caps` refuses descriptor `d` with IQE (IQERCD.IQEI and a message), or
 * undefined when it executes it (spec/vtd.md §1.3-1.4, §2.2). One rule for bare hardware, the VMM
 * (which must refuse what the guest's vIOMMU does not advertise) and a hardware-direct queue.
 */
export function descriptorFault(d: Decoded, caps: DescriptorCaps): DescriptorFault | undefined {
  // The table maps unknown types and width to 3, reserved bits to 4.
  if (d.error !== undefined) return { iqei: d.error.value as Iqei, why: `${d.name}: ${d.error.message}` };
  const name = vtdOp(d)!.name; // without an error the type has a row
  const f = d.fields;
  switch (name) {
    case 'iotlb_inv':
      if (f.G === IOTLB_G.PAGE && n(f.AM) > caps.mamv)
        return { iqei: IQEI.RESERVED_FIELD, why: `AM ${n(f.AM)} above CAP.MAMV ${caps.mamv}` };
      return undefined;
    case 'inv_wait': {
      if (!caps.compat) return undefined;
      const sw = f.SW === 1n;
      const irq = f.IF === 1n;
      if (f.PD === 1n) return { iqei: IQEI.RESERVED_FIELD, why: 'wait with PD (reserved in QEMU 7.2)' };
      if (sw && irq) return { iqei: IQEI.RESERVED_FIELD, why: 'wait with both SW and IF (QEMU 7.2 asserts)' };
      if (!sw && !irq) return { iqei: IQEI.RESERVED_FIELD, why: 'wait with neither SW nor IF' };
      return undefined;
    }
    case 'page_grp_resp':
    case 'page_strm_resp':
      return { iqei: IQEI.INVALID_TYPE, why: `${name}: page requests are not supported (ECAP.PRS=0)` };
    case 'cc_inv':
    case 'dev_tlb_inv':
    case 'iec_inv':
    case 'p_iotlb_inv':
    case 'pc_inv':
    case 'p_dev_tlb_inv':
      return undefined;
    default:
      return unreachable(name);
  }
}

const n = (v: bigint | undefined): number => Number(v ?? 0n);

/** Addresses below this are exact doubles (GuestMemory's number-addressed accesses). */
const EXACT = 2n ** 53n;

/** Which queue handling a descriptor gets: a wait, a device-TLB invalidation (may time out), or the others. */
export type PreparedKind = 'wait' | 'devtlb' | 'other';

export interface Prepared {
  readonly d: Decoded;
  /** The IQE the unit raises on it whatever its state; undefined: it runs. */
  readonly refused: DescriptorFault | undefined;
  readonly kind: PreparedKind;
  /** Device-TLB descriptors (types 0x3, 0x8): the SID. */
  readonly sid: number;
  /** Waits: status write, interrupt, fence (SW, IF, FN). */
  readonly sw: boolean;
  readonly irq: boolean;
  readonly fence: boolean;
  /** Waits: STATUS_ADDR, and as a number (-1 from 2^53: written by BigInt address). */
  readonly statusAddr: bigint;
  readonly statusAt: number;
  readonly statusData: number;
  /** An IOTLB or device-TLB invalidation's tags and range, prepared (invalidate.ts prepareDrop); else undefined. */
  readonly drop: PreparedDrop | undefined;
}

/** `d` as a unit with `caps` runs it. */
export function prepare(d: Decoded, caps: DescriptorCaps): Prepared {
  const refused = descriptorFault(d, caps);
  const f = d.fields;
  const wait = d.name === 'inv_wait';
  const statusAddr = wait ? (f.STATUS_ADDR ?? 0n) : 0n;
  return {
    d,
    refused,
    kind: wait ? 'wait' : d.name === 'dev_tlb_inv' || d.name === 'p_dev_tlb_inv' ? 'devtlb' : 'other',
    sid: n(f.SID),
    sw: wait && f.SW === 1n,
    irq: wait && f.IF === 1n,
    fence: wait && f.FN === 1n,
    statusAddr,
    statusAt: statusAddr < EXACT ? Number(statusAddr) : -1,
    statusData: wait ? n(f.STATUS_DATA) : 0,
    drop: refused === undefined ? prepareDrop(d) : undefined,
  };
}
