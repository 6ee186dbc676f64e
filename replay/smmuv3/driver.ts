// The host kernel's side of one physical SMMU's command queue, as Linux's arm-smmu-v3 driver
// drives it (spec/smmuv3.md §1.3, §4.1): commands plus a CMD_SYNC written at PROD, one CMDQ_PROD
// write, then a wait for the SYNC. While waiting, the GERROR handler runs the skip routine: an
// illegal command's slot is rewritten as a CMD_SYNC (CS=SEV) and GERRORN acknowledged, so the
// commands after it still run and the caller never learns of it; CERROR_ABT and
// CERROR_ATC_INV_SYNC are acknowledged as they are (the command is fetched or the SYNC retried
// again). A SYNC that cannot complete, because a device keeps timing out, ends the wait with
// ETIMEDOUT (the 1 s poll timeout), leaving the queue stuck at that SYNC.

import { GuestMemory, LITTLE_ENDIAN } from '../memory.js';
import { SmmuRing } from '../../formats/ring.js';
import type { HostOp, HostOpSink } from '../host.js';
import { Smmuv3, type Smmuv3Options } from './emulator.js';
import { HOST_FEATURES } from './regs.js';
import { SidTable } from '../sid-table.js';
import { rowOf } from '../../formats/codec/table.js';
import { SMMUV3_OPS } from '../../formats/smmuv3/commands.js';
import { SYNC, cmd, type Words } from './encode.js';

export const PHYS_QUEUE_BASE = 0x8000_0000n;

export type IssueResult = 0 | 'ETIMEDOUT';

/** CMD_ATC_INV's opcode, from the command table. */
const ATC_INV = rowOf(SMMUV3_OPS, 'CMD_ATC_INV').code;

/**
 * A command as the host queue writes it, made once per command (a host keeps its converted
 * commands): its words, the same as four 32-bit halves (h0 the low half of word 0: the ring's
 * layout on a little-endian host, so a write is four number stores, no BigInt stored per command;
 * as int32 fields of the object itself, not a typed array of its own, which was one more object to
 * load per write), its opcode, and a CMD_ATC_INV's physical SID (its devtlb_inv op's key; −1 for
 * other commands).
 */
export interface HostCommand {
  readonly words: Words;
  readonly h0: number;
  readonly h1: number;
  readonly h2: number;
  readonly h3: number;
  readonly code: number;
  readonly sid: number;
}

/** `words` as a HostCommand. */
export function hostCommand(words: Words): HostCommand {
  const half = (w: bigint, shift: bigint) => Number(BigInt.asIntN(32, w >> shift)); // int32: the same 32 bits in a typed-array store
  const h0 = half(words[0], 0n);
  const h1 = half(words[0], 32n);
  const code = h0 & 0xff;
  return { words, h0, h1, h2: half(words[1], 0n), h3: half(words[1], 32n), code, sid: code === ATC_INV ? h1 >>> 0 : -1 };
}

export class PhysicalQueue {
  readonly mem = new GuestMemory();
  readonly unit: Smmuv3;
  private readonly ring: SmmuRing;
  /** The driver's PROD (wrap|index). */
  private prod = 0;
  /**
   * The host ops this queue reports, made once: their kind, IOMMU and text never change (a
   * host_cmd's text is its opcode's name), so no record or string is built per command.
   */
  private readonly cmdOps: (HostOp | undefined)[] = [];
  private readonly syncOp: HostOp;
  /** devtlbOp's ops by physical SID, the device answering and timed out (SID-indexed tables, not a Map by a computed key). */
  private readonly devtlbOps = new SidTable<HostOp>();
  private readonly devtlbSilentOps = new SidTable<HostOp>();
  /** The ring's address as a number (slot addresses without a BigInt). */
  private readonly slotAddrNum = Number(PHYS_QUEUE_BASE);
  /** The ring as 32-bit halves, low half first (little-endian hosts; else undefined): put stores a command's halves there. */
  private readonly ringHalves: Uint32Array | undefined;
  private readonly doorbellOp: HostOp;

  constructor(
    readonly iommu: number,
    private readonly ops: HostOpSink,
    log2size: number,
    opts: Smmuv3Options = {},
  ) {
    if (log2size < 7) throw new Error('Linux refuses a CMDQ of 64 entries or fewer (one batch + a SYNC must fit)');
    this.ring = new SmmuRing(log2size);
    this.mem.addRegion(PHYS_QUEUE_BASE, this.ring.entries * 16);
    this.unit = new Smmuv3(this.mem, { features: HOST_FEATURES, ...opts });
    this.unit.configureQueue(PHYS_QUEUE_BASE, this.ring.entries, 16);
    this.ringHalves = LITTLE_ENDIAN ? this.mem.halvesAt(this.slotAddrNum, this.ring.entries * 16) : undefined;
    this.syncOp = { kind: 'host_sync', iommu, detail: 'CMD_SYNC' };
    this.doorbellOp = { kind: 'host_doorbell', iommu, detail: 'CMDQ_PROD' };
  }

  /**
   * The devtlb_inv op of ATC_INV `c`: one per (physical SID, whether the device answers now), made
   * once, as the other ops (its text names both).
   */
  private devtlbOp(c: HostCommand): HostOp {
    const sid = c.sid;
    const timedOut = this.unit.atcSilent(sid);
    const ops = timedOut ? this.devtlbSilentOps : this.devtlbOps;
    let op = ops.get(sid);
    if (op === undefined) ops.set(sid, (op = { kind: 'devtlb_inv', iommu: this.iommu, timedOut, detail: atcDetailOf(sid, timedOut) }));
    return op;
  }

  /** The host_cmd op of command `c` (the name `what` gives it, one per opcode). */
  private cmdOp(c: HostCommand, what: (w: Words) => string): HostOp {
    return (this.cmdOps[c.code] ??= { kind: 'host_cmd', iommu: this.iommu, detail: what(c.words) });
  }

  private consValue(): number {
    return this.unit.consumerValue();
  }

  /**
   * arm_smmu_cmdq_issue_cmdlist(cmds, n, sync=true): writes the commands and a CMD_SYNC,
   * publishes them with one PROD write, and waits for the SYNC. `n`: the first n of `cmds` (a
   * caller's reused block); `what` names a command (its host_cmd text, one per opcode).
   */
  issue(cmds: readonly HostCommand[], what: (w: Words) => string, n = cmds.length): IssueResult {
    this.retryStuck();
    if (this.ring.free(this.prod, this.consValue()) < n + 1) return 'ETIMEDOUT'; // stuck behind a SYNC that never completes
    for (let i = 0; i < n; i++) {
      const c = cmds[i]!;
      this.put(c);
      this.ops(this.cmdOp(c, what));
      if (c.code === ATC_INV) this.ops(this.devtlbOp(c));
    }
    const sync = this.prod;
    this.put(SYNC_COMMAND);
    this.ops(this.syncOp);
    this.ops(this.doorbellOp);
    this.unit.writeProducer(this.prod & this.ring.mask, (this.prod >>> this.ring.log2size) & 1);
    return this.wait(sync);
  }

  /** Writes `c` at PROD (its halves: four stores into the ring) and moves PROD on. */
  private put(c: HostCommand): void {
    const slot = this.prod & this.ring.mask;
    const h = this.ringHalves;
    if (h !== undefined && !this.mem.hasFaults) {
      const o = slot * 4;
      h[o] = c.h0;
      h[o + 1] = c.h1;
      h[o + 2] = c.h2;
      h[o + 3] = c.h3;
    } else this.mem.writeWordsAt(this.slotAddrNum + slot * 16, c.words);
    this.prod = this.ring.inc(this.prod);
  }

  /** The GERROR handler ran on a queue stuck at an ATC time-out: retry the SYNC once. */
  private retryStuck(): void {
    if (this.unit.consumerError()?.code === 'CERROR_ATC_INV_SYNC') this.unit.acknowledge();
  }

  /** Polls for the SYNC at `sync`, running the skip routine on each queue error (§1.3). */
  private wait(sync: number): IssueResult {
    let last: string | undefined;
    for (;;) {
      const error = this.unit.consumerError();
      if (error === undefined) return this.ring.consumed(this.consValue(), sync) ? 0 : 'ETIMEDOUT';
      const c = this.unit.consumer();
      const at = `${error.code}@${c.index}`;
      if (at === last) return 'ETIMEDOUT'; // the same error again after the retry: it will not clear
      last = at;
      if (error.code === 'CERROR_ILL') this.mem.writeWords(PHYS_QUEUE_BASE + BigInt(c.index * 16), SKIP_SYNC);
      this.unit.acknowledge();
    }
  }
}

/** The devtlb_inv detail, for a reader: the physical SID, and whether the device times out. */
export function atcDetail(unit: Smmuv3, c: Words): string {
  const sid = Number(c[0] >> 32n);
  return atcDetailOf(sid, unit.atcSilent(sid));
}

/** atcDetail of physical SID `sid` with the device answering or timed out. */
export function atcDetailOf(sid: number, timedOut: boolean): string {
  return `sid=0x${sid.toString(16)}${timedOut ? ' (device timed out)' : ''}`;
}

/** What the skip routine writes over an illegal command: a CMD_SYNC with CS=SEV (§1.3). */
const SKIP_SYNC: Words = cmd('CMD_SYNC', { CS: 2 });

/** The CMD_SYNC issue appends, as a HostCommand. */
const SYNC_COMMAND = hostCommand(SYNC);
