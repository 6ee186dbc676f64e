// The SMMUv3 command queue as QEMU's log shows it (spec/smmuv3.md §6.1, §6.3): geometry from the
// CMDQ_BASE write (LOG2SIZE [4:0]), a command per `smmuv3_cmdq_opcode` at the CONS index and wrap of
// the `smmuv3_cmdq_consume` line before it, its words rebuilt from the decoded fields that follow
// (smmuv3-rebuild.ts), a doorbell per guest CMDQ_PROD write, an ack per GERRORN write that toggles
// CMDQ_ERR.
//
// Several vSMMU instances (one per pSMMU) cannot be told apart in this log format: no smmuv3 trace
// event carries an instance identifier (hw/arm/trace-events: smmuv3_cmdq_consume, _opcode,
// _write_mmio print indices, opcodes and register offsets only), so their lines would interleave
// into one ring. A log whose doorbells run on a second CMDQ_BASE (another instance, or the one
// re-programmed) is refused in one line rather than guessed at (docs/trace-format.md).
//
// Order: QEMU consumes inside the CMDQ_PROD write handler and traces the MMIO write at the END of
// the handler, so the log already has the commands before the `smmuv3_write_mmio addr: 0x98` line
// of the doorbell that published them, which is the trace order.

import { hex } from '../bits.js';
import { InputFault } from '../result.js';
import type { CmdEvent } from './events.js';
import type { QemuLogLine } from './qemu-log.js';
import { GERROR_CMDQ_ERR, parseSmmuv3Event, QEMU_CMDQ_MAX_LOG2SIZE, SMMU_REG, type Smmuv3QemuEvent } from './qemu-smmuv3.js';
import { metaOf, QueueReader, type LineMeta } from './queue-reader.js';
import { rebuildSmmuv3, type DetailLine } from './smmuv3-rebuild.js';

/** What QEMU printed about one command, for checks against the codecs. */
export interface Smmuv3QemuDetail {
  /** The opcode name QEMU printed (`SMMU_CMD_TLBI_NH_VA`, `UNKNOWN`, ...). */
  readonly name: string;
  readonly events: readonly Smmuv3QemuEvent[];
  /** CMDQ_CONS.ERR QEMU reported for it (`smmuv3_cmdq_consume_error`). */
  readonly cmdError?: number;
}

export type Smmuv3QemuCmd = CmdEvent & { readonly detail: Smmuv3QemuDetail };

interface Open {
  readonly slot: number;
  readonly wrap: number | undefined;
  readonly name: string;
  readonly line: number;
  readonly meta: { ts_ns: bigint | undefined; cpu: number | undefined };
  readonly details: DetailLine[];
}

export interface Smmuv3QueueStats {
  commands: number;
  unknownOpcode: number;
  doorbells: number;
  acks: number;
  errors: number;
}

/** Feeds QEMU log lines in order; `take()` returns the queue events ready so far. */
export class Smmuv3QemuQueue extends QueueReader {
  private log2size: number | undefined;
  private base = 0n;
  private consume: { cons: number; wrap: number } | undefined;
  /** The last consume line was rejected: its opcode line goes with it. */
  private lost = false;
  private failed: { slot: number; wrap: number | undefined } | undefined;
  private open: Open | undefined;
  private last: Smmuv3QemuCmd | undefined;
  private gerrorn = 0n;
  /** CMDQ_BASE in effect at the first doorbell, and that doorbell's line. */
  private ringBase: { base: bigint; line: number } | undefined;
  readonly stats: Smmuv3QueueStats = { commands: 0, unknownOpcode: 0, doorbells: 0, acks: 0, errors: 0 };

  private get entries(): number {
    return 1 << (this.log2size ?? QEMU_CMDQ_MAX_LOG2SIZE);
  }

  feed(l: QemuLogLine, no: number): void {
    const e = this.parsed(parseSmmuv3Event, l, no);
    if (e !== undefined) this.apply(e, l, no);
  }

  /** An event already parsed (and counted) from line `no`, whose prefix `l` tells time and thread. */
  apply(e: Smmuv3QemuEvent, l: LineMeta, no: number): void {
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- every other event is a detail of the command being executed
    switch (e.event) {
      case 'smmuv3_cmdq_consume':
        this.close();
        if (e.cons >= this.entries || e.prod >= this.entries || e.consWrap > 1 || e.prodWrap > 1) {
          this.lost = true;
          return this.diag.bad(
            no,
            `prod ${e.prod}/${e.prodWrap} cons ${e.cons}/${e.consWrap} is outside a queue of ${this.entries} entries (command dropped)`,
            e.event,
          );
        }
        this.lost = false;
        this.consume = { cons: e.cons, wrap: e.consWrap };
        return;
      case 'smmuv3_cmdq_opcode': {
        this.close();
        const c = this.consume;
        this.consume = undefined;
        if (c === undefined && this.lost) {
          this.lost = false;
          return;
        }
        if (c === undefined) return this.diag.bad(no, 'opcode line without a consume line before it', e.event);
        // Fetched again at the slot that failed: the guest rewrote it (Linux turns a CERROR_ILL
        // command into a CMD_SYNC, spec/smmuv3.md §1.3); a rewrite has no wrap bit.
        const again = this.failed !== undefined && this.failed.slot === c.cons && this.failed.wrap === c.wrap;
        this.failed = undefined;
        this.open = { slot: c.cons, wrap: again ? undefined : c.wrap, name: e.name, line: no, meta: metaOf(l), details: [] };
        return;
      }
      case 'smmuv3_cmdq_consume_error':
        this.close();
        this.stats.errors++;
        if (this.last !== undefined) {
          this.failed = { slot: this.last.slot, wrap: this.last.wrap };
          (this.last.detail as { cmdError?: number }).cmdError = e.cmdError;
        }
        return;
      case 'smmuv3_cmdq_consume_out':
        return this.close();
      case 'smmuv3_write_mmio':
        this.close();
        return this.mmio(e.addr, e.val, e.size, no, metaOf(l));
      default:
        if (this.open !== undefined) this.open.details.push({ ev: e, line: no });
    }
  }

  end(): void {
    this.close();
  }

  private mmio(addr: number, val: bigint, size: number, line: number, meta: { ts_ns: bigint | undefined; cpu: number | undefined }): void {
    const at = { file: this.diag.file, line };
    switch (addr) {
      case SMMU_REG.CMDQ_PROD: {
        if (this.log2size === undefined) {
          this.diag.warn(`CMDQ_PROD written before CMDQ_BASE: LOG2SIZE taken as ${QEMU_CMDQ_MAX_LOG2SIZE} (QEMU's maximum)`, line);
          this.setLog2(QEMU_CMDQ_MAX_LOG2SIZE, line);
        }
        const n = BigInt(this.log2size!);
        // spec/smmuv3.md §1.2: index = PROD & (2^N - 1), wrap = bit N; nothing above it.
        if (val >> (n + 1n) !== 0n)
          return this.diag.bad(line, `CMDQ_PROD ${hex(val)} has bits above the wrap bit of a 2^${n} queue`, 'smmuv3_write_mmio');
        if (this.ringBase === undefined) this.ringBase = { base: this.base, line };
        else if (this.ringBase.base !== this.base) {
          throw new InputFault({
            ...at,
            message: `doorbell on a queue at CMDQ_BASE ${hex(this.base)}, but line ${this.ringBase.line} rang one at ${hex(this.ringBase.base)}: several vSMMU instances (or one re-programmed) cannot be told apart in this log format (QEMU's smmuv3 trace events carry no instance identifier)`,
          });
        }
        this.stats.doorbells++;
        this.out.push({ kind: 'doorbell', slot: Number(val & ((1n << n) - 1n)), wrap: Number((val >> n) & 1n), at, ...meta });
        return;
      }
      case SMMU_REG.CMDQ_BASE:
        this.base = (val & 0x000fffffffffffe0n) | (size === 4 ? this.base & ~0xffffffffn : 0n);
        // LOG2SIZE [4:0]; QEMU caps it at 19.
        return this.setLog2(Math.min(Number(val & 0x1fn), QEMU_CMDQ_MAX_LOG2SIZE), line);
      case SMMU_REG.CMDQ_BASE + 4:
        this.base = (this.base & 0xffffffffn) | ((val << 32n) & 0x000fffff00000000n);
        return;
      case SMMU_REG.GERRORN:
        // spec/smmuv3.md §1.3: an error is active while GERROR ^ GERRORN has the bit; the guest
        // acknowledges CMDQ_ERR by toggling it in GERRORN, and QEMU resumes from CONS.
        if (((val ^ this.gerrorn) & BigInt(GERROR_CMDQ_ERR)) !== 0n) {
          this.stats.acks++;
          this.out.push({ kind: 'ack', at, ...meta });
        }
        this.gerrorn = val;
        return;
      default:
    }
  }

  private setLog2(n: number, line: number): void {
    if (this.log2size !== undefined && this.log2size !== n) this.diag.warn(`queue re-programmed: LOG2SIZE ${this.log2size} -> ${n}`, line);
    this.log2size = n;
    this.out.push({
      kind: 'geometry',
      entries: 1 << n,
      descBytes: 16,
      base: this.base,
      from: 'smmuv3_write_mmio CMDQ_BASE',
      at: { file: this.diag.file, line },
    });
  }

  private close(): void {
    const o = this.open;
    if (o === undefined) return;
    this.open = undefined;
    const r = rebuildSmmuv3(o.name, o.details);
    for (const p of r.problems) this.diag.bad(p.line, p.message);
    this.stats.commands++;
    if (r.code === undefined) this.stats.unknownOpcode++;
    const cmd: Smmuv3QemuCmd = {
      kind: 'cmd',
      slot: o.slot,
      wrap: o.wrap,
      words: r.words,
      known: r.known,
      at: { file: this.diag.file, line: o.line },
      ...o.meta,
      detail: { name: o.name, events: o.details.map((d) => d.ev) },
    };
    this.last = cmd;
    this.out.push(cmd);
  }
}
