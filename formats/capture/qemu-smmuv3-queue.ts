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
import { halvesOf, hi32, lo32 } from '../arrow/fixed-columns.js';
import { InputFault } from '../result.js';
import type { CaptureEvent, CmdEvent, Diagnostics } from './events.js';
import { ScannedLine, type QemuByteScanner } from './qemu-bytes.js';
import type { QemuLogLine } from './qemu-log.js';
import { DetailRecords, REC, Smmuv3Halves } from './qemu-smmuv3-halves.js';
import {
  GERROR_CMDQ_ERR,
  parseSmmuv3Event,
  QEMU_CMDQ_MAX_LOG2SIZE,
  SMMU_REG,
  type Smmuv3EventName,
  type Smmuv3QemuEvent,
} from './qemu-smmuv3.js';
import { EventRows, NO_WRAP, type KnownRows } from './queue-rows.js';
import { QueueReader, type LineMeta } from './queue-reader.js';
import { QEMU_SMMU_OPCODES, rebuildSmmuv3 } from './smmuv3-rebuild.js';
import { Stamp, unsigned64 } from './stamp.js';

/** What QEMU printed about one command, for checks against the codecs. */
export interface Smmuv3QemuDetail {
  /** The opcode name QEMU printed (`SMMU_CMD_TLBI_NH_VA`, `UNKNOWN`, ...). */
  readonly name: string;
  readonly events: readonly Smmuv3QemuEvent[];
  /** CMDQ_CONS.ERR QEMU reported for it (`smmuv3_cmdq_consume_error`). */
  readonly cmdError?: number;
}

export type Smmuv3QemuCmd = CmdEvent & { readonly detail: Smmuv3QemuDetail };

export interface Smmuv3QueueStats {
  commands: number;
  unknownOpcode: number;
  doorbells: number;
  acks: number;
  errors: number;
}

export interface Smmuv3QemuQueueOptions {
  /**
   * Give each command its `detail` (what QEMU printed about it; default true, with event objects).
   * Without, the commands are rebuilt on numbers and a register-mode scanner may feed the queue.
   */
  readonly details?: boolean;
  /** Where the queue events go (default: event objects, handed out by `take()`). */
  readonly rows?: KnownRows;
}

/** The detail events smmuv3-rebuild.ts reads (the others it passes over). */
const REBUILT = [
  'smmuv3_range_inval',
  'smmuv3_cmdq_cfgi_ste',
  'smmuv3_cmdq_cfgi_ste_range',
  'smmuv3_cmdq_cfgi_cd',
  'smmuv3_cmdq_tlbi_nh',
  'smmuv3_cmdq_tlbi_nh_asid',
  'smmuv3_cmdq_tlbi_s12_vmid',
  'smmuv3_unhandled_cmd',
] as const satisfies readonly Smmuv3EventName[];
const REBUILT_EVENTS: ReadonlySet<string> = new Set<Smmuv3EventName>(REBUILT);

/** The events whose fields the queue reads: its own, and the details smmuv3-rebuild.ts reads. */
const QUEUE_EVENTS: ReadonlySet<string> = new Set<Smmuv3EventName>([
  'smmuv3_cmdq_consume',
  'smmuv3_cmdq_opcode',
  'smmuv3_cmdq_consume_error',
  'smmuv3_write_mmio',
  ...REBUILT,
]);

/** QEMU's opcode names (smmuv3-rebuild.ts), looked up without Object.prototype's names. */
const OPCODES: ReadonlyMap<string, number> = new Map(Object.entries(QEMU_SMMU_OPCODES));

/** `scanned`'s warm-up: calls with a code that is no event's (`NO_EVENT`). */
const WARM_CALLS = 512;
const NO_EVENT = -1;

/**
 * Feeds QEMU log lines in order; `take()` returns the queue events ready so far (when they go to
 * event objects). Lines come as text (`feed`), as parsed event objects (`apply`), or from a
 * register-mode byte scanner (`scanned`); all three drive the same state machine.
 */
export class Smmuv3QemuQueue extends QueueReader {
  private log2size: number | undefined;
  private base = 0n;
  private consumed = false;
  private consCons = 0;
  private consWrap = 0;
  /** The last consume line was rejected: its opcode line goes with it. */
  private lost = false;
  /** The slot and wrap of the command that failed (`failedSlot` < 0: none). */
  private failedSlot = -1;
  private failedWrap = NO_WRAP;
  /** The command being read (`openSlot` < 0: none): its slot, wrap, opcode name, line and time. */
  private openSlot = -1;
  private openWrap = NO_WRAP;
  private openName = '';
  private openLine = 0;
  private readonly openAt = new Stamp();
  /** The line of its first detail event (of any kind), or -1. */
  private firstDetail = -1;
  /** Its detail events smmuv3-rebuild.ts reads, as numbers (or, parsed as text, objects). */
  private readonly records = new DetailRecords();
  /** All its detail events, when `detail` is made (event objects). */
  private details: { ev: Smmuv3QemuEvent; line: number }[] = [];
  /** The last command closed: slot, wrap (`lastSlot` < 0: none) and detail (when made). */
  private lastSlot = -1;
  private lastWrap = NO_WRAP;
  private lastDetail: { cmdError?: number } | undefined;
  /** GERRORN as last written (its low half: CMDQ_ERR is bit 0). */
  private gerrornLo = 0;
  /** CMDQ_BASE in effect at the first doorbell, and that doorbell's line (`ringLine` < 0: none yet). */
  private ringBase = 0n;
  private ringLine = -1;
  readonly stats: Smmuv3QueueStats = { commands: 0, unknownOpcode: 0, doorbells: 0, acks: 0, errors: 0 };
  private readonly rows: KnownRows;
  private readonly events: EventRows | undefined;
  /** Whether the rows read a command's `detail` (else none is made and its events are not kept). */
  private readonly detailRead: boolean;
  private readonly file: string;
  private readonly stamp = new Stamp();
  private readonly halves = new Smmuv3Halves();

  constructor(diag: Diagnostics, opts: Smmuv3QemuQueueOptions = {}) {
    super(diag);
    this.events = opts.rows === undefined ? new EventRows() : undefined;
    this.rows = opts.rows ?? this.events!;
    this.detailRead = opts.details !== false && this.rows.readsDetail !== false;
    this.file = diag.file;
  }

  /** Whether a register-mode byte scanner may feed the queue (`scanned`): its rows read no detail. */
  get registers(): boolean {
    return !this.detailRead;
  }

  private get entries(): number {
    return 1 << (this.log2size ?? QEMU_CMDQ_MAX_LOG2SIZE);
  }

  /** Whether `apply` reads the fields of `event` (else it needs only its name). */
  override valuesRead(event: string): boolean {
    return this.detailRead || QUEUE_EVENTS.has(event);
  }

  /** The queue events ready so far, as objects (none when they go to another KnownRows). */
  override take(): CaptureEvent[] {
    return this.events?.take() ?? [];
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
        return this.consume(e.prod, e.cons, e.prodWrap, e.consWrap, no);
      case 'smmuv3_cmdq_opcode':
        return this.opcode(e.name, no, l);
      case 'smmuv3_cmdq_consume_error':
        return this.consumeError(e.cmdError);
      case 'smmuv3_cmdq_consume_out':
        return this.close();
      case 'smmuv3_write_mmio':
        this.close();
        return this.mmio(e.addr, hi32(e.val), lo32(e.val), e.size, no, l);
      default:
        if (this.openSlot < 0) return;
        if (this.firstDetail < 0) this.firstDetail = no;
        if (this.detailRead) this.details.push({ ev: e, line: no });
        else if (REBUILT_EVENTS.has(e.event)) this.records.event(e, no);
    }
  }

  /**
   * The reader of a register-mode byte scanner over SMMUV3_EVENTS (qemu-bytes.ts): `(code, no)`
   * applies the event `scanCode` just read from line `no`, its fields in the scanner's registers,
   * its prefix in `scanner.line`. The same state machine as `apply`, with no event object; only
   * for rows that make no `detail` (the detail events would need their objects).
   */
  scanned(scanner: QemuByteScanner): (code: number, no: number) => void {
    if (this.detailRead) throw new Error('Smmuv3QemuQueue: a register-mode scanner feeds rows that read no detail');
    const R = scanner.R;
    const S = scanner.S;
    const line = scanner.line;
    const c = (event: Smmuv3EventName) => scanner.code(event);
    const r = (event: Smmuv3EventName, field: string) => scanner.register(event, field);
    const [CONSUME, OPCODE, OUT, ERROR, MMIO] = [
      c('smmuv3_cmdq_consume'),
      c('smmuv3_cmdq_opcode'),
      c('smmuv3_cmdq_consume_out'),
      c('smmuv3_cmdq_consume_error'),
      c('smmuv3_write_mmio'),
    ];
    const [RANGE, STE, STE_RANGE, CD, NH, NH_ASID, S12, UNHANDLED] = [
      c('smmuv3_range_inval'),
      c('smmuv3_cmdq_cfgi_ste'),
      c('smmuv3_cmdq_cfgi_ste_range'),
      c('smmuv3_cmdq_cfgi_cd'),
      c('smmuv3_cmdq_tlbi_nh'),
      c('smmuv3_cmdq_tlbi_nh_asid'),
      c('smmuv3_cmdq_tlbi_s12_vmid'),
      c('smmuv3_unhandled_cmd'),
    ];
    const [prod, cons, prodWrap, consWrap] = ['prod', 'cons', 'prodWrap', 'consWrap'].map((f) => r('smmuv3_cmdq_consume', f));
    const name = r('smmuv3_cmdq_opcode', 'name');
    const cmdError = r('smmuv3_cmdq_consume_error', 'cmdError');
    const [addr, val, size] = ['addr', 'val', 'size'].map((f) => r('smmuv3_write_mmio', f));
    // A range chunk's registers in DetailRecords' order: vmid, asid, addr (2), tg, num_pages (2), ttl, leaf.
    const chunk = ['vmid', 'asid', 'addr', 'tg', 'numPages', 'ttl', 'leaf'].map((f) => r('smmuv3_range_inval', f));
    const [cVmid, cAsid, cAddr, cTg, cPages, cTtl, cLeaf] = chunk;
    const one = (kind: number, event: Smmuv3EventName, field: string) => ({ kind, at: r(event, field) });
    const ones = new Map<number, { kind: number; at: number }>([
      [STE, one(REC.STE, 'smmuv3_cmdq_cfgi_ste', 'streamid')],
      [CD, one(REC.CD, 'smmuv3_cmdq_cfgi_cd', 'sid')],
      [NH, one(REC.NH, 'smmuv3_cmdq_tlbi_nh', 'vmid')],
      [NH_ASID, one(REC.NH_ASID, 'smmuv3_cmdq_tlbi_nh_asid', 'asid')],
      [S12, one(REC.S12_VMID, 'smmuv3_cmdq_tlbi_s12_vmid', 'vmid')],
      [UNHANDLED, one(REC.UNHANDLED, 'smmuv3_unhandled_cmd', 'type')],
    ]);
    const [start, end] = ['start', 'end'].map((f) => r('smmuv3_cmdq_cfgi_ste_range', f));
    const recs = this.records;
    /** A detail event: its record (values from the registers), or only its line for the others. */
    const detail = (code: number, no: number): void => {
      if (this.openSlot < 0) return;
      if (this.firstDetail < 0) this.firstDetail = no;
      if (code === RANGE) {
        const v = recs.add(REC.RANGE, no);
        const x = recs.values;
        x[v] = R[cVmid!]!;
        x[v + 1] = R[cAsid!]!;
        x[v + 2] = R[cAddr!]!;
        x[v + 3] = R[cAddr! + 1]!;
        x[v + 4] = R[cTg!]!;
        x[v + 5] = R[cPages!]!;
        x[v + 6] = R[cPages! + 1]!;
        x[v + 7] = R[cTtl!]!;
        x[v + 8] = R[cLeaf!]!;
        return;
      }
      if (code === STE_RANGE) {
        const v = recs.add(REC.STE_RANGE, no);
        recs.values[v] = R[start!]!;
        recs.values[v + 1] = R[end!]!;
        return;
      }
      const o = ones.get(code);
      if (o !== undefined) recs.values[recs.add(o.kind, no)] = R[o.at]!;
    };
    const apply = (code: number, no: number): void => {
      if (code === CONSUME) this.consume(R[prod!]!, R[cons!]!, R[prodWrap!]!, R[consWrap!]!, no);
      else if (code === OPCODE) this.opcode(S[name]!, no, line);
      else if (code === MMIO) {
        this.close();
        this.mmio(R[addr!]!, R[val!]!, R[val! + 1]!, R[size!]!, no, line);
      } else if (code === OUT) this.close();
      else if (code === ERROR) this.consumeError(R[cmdError]!);
      else if (code >= 0) detail(code, no);
    };
    // Calls for no event first, so that V8 gives `apply` its feedback vector before the log's first
    // line (see qemu-vtd-queue.ts `scanned`).
    for (let i = 0; i < WARM_CALLS; i++) apply(NO_EVENT, 0);
    return apply;
  }

  end(): void {
    this.close();
  }

  private consume(prod: number, cons: number, prodWrap: number, consWrap: number, no: number): void {
    this.close();
    if (cons >= this.entries || prod >= this.entries || consWrap > 1 || prodWrap > 1) {
      this.lost = true;
      return this.diag.bad(
        no,
        `prod ${prod}/${prodWrap} cons ${cons}/${consWrap} is outside a queue of ${this.entries} entries (command dropped)`,
        'smmuv3_cmdq_consume',
      );
    }
    this.lost = false;
    this.consumed = true;
    this.consCons = cons;
    this.consWrap = consWrap;
  }

  private opcode(name: string, no: number, l: LineMeta): void {
    this.close();
    const had = this.consumed;
    this.consumed = false;
    if (!had && this.lost) {
      this.lost = false;
      return;
    }
    if (!had) return this.diag.bad(no, 'opcode line without a consume line before it', 'smmuv3_cmdq_opcode');
    // Fetched again at the slot that failed: the guest rewrote it (Linux turns a CERROR_ILL
    // command into a CMD_SYNC, spec/smmuv3.md §1.3); a rewrite has no wrap bit.
    const again = this.failedSlot >= 0 && this.failedSlot === this.consCons && this.failedWrap === this.consWrap;
    this.failedSlot = -1;
    this.openSlot = this.consCons;
    this.openWrap = again ? NO_WRAP : this.consWrap;
    this.openName = name;
    this.openLine = no;
    stampOf(l, this.openAt);
    this.firstDetail = -1;
    this.records.clear();
    if (this.detailRead) this.details = [];
  }

  private consumeError(cmdError: number): void {
    this.close();
    this.stats.errors++;
    if (this.lastSlot >= 0) {
      this.failedSlot = this.lastSlot;
      this.failedWrap = this.lastWrap;
      if (this.lastDetail !== undefined) this.lastDetail.cmdError = cmdError;
    }
  }

  /** A register write, its value as 32-bit halves. */
  private mmio(addr: number, vHi: number, vLo: number, size: number, line: number, l: LineMeta): void {
    switch (addr) {
      case SMMU_REG.CMDQ_PROD: {
        if (this.log2size === undefined) {
          this.diag.warn(`CMDQ_PROD written before CMDQ_BASE: LOG2SIZE taken as ${QEMU_CMDQ_MAX_LOG2SIZE} (QEMU's maximum)`, line);
          this.setLog2(QEMU_CMDQ_MAX_LOG2SIZE, line);
        }
        const n = this.log2size!;
        // spec/smmuv3.md §1.2: index = PROD & (2^N - 1), wrap = bit N; nothing above it (N <= 19).
        if (vHi !== 0 || vLo >>> (n + 1) !== 0)
          return this.diag.bad(
            line,
            `CMDQ_PROD ${hex(unsigned64(vHi, vLo))} has bits above the wrap bit of a 2^${n} queue`,
            'smmuv3_write_mmio',
          );
        if (this.ringLine < 0) {
          this.ringBase = this.base;
          this.ringLine = line;
        } else if (this.ringBase !== this.base) {
          throw new InputFault({
            file: this.file,
            line,
            message: `doorbell on a queue at CMDQ_BASE ${hex(this.base)}, but line ${this.ringLine} rang one at ${hex(this.ringBase)}: several vSMMU instances (or one re-programmed) cannot be told apart in this log format (QEMU's smmuv3 trace events carry no instance identifier)`,
          });
        }
        this.stats.doorbells++;
        stampOf(l, this.stamp);
        this.rows.doorbell(vLo & ((1 << n) - 1), (vLo >>> n) & 1, this.file, line, this.stamp);
        return;
      }
      case SMMU_REG.CMDQ_BASE: {
        const val = unsigned64(vHi, vLo);
        this.base = (val & 0x000fffffffffffe0n) | (size === 4 ? this.base & ~0xffffffffn : 0n);
        // LOG2SIZE [4:0]; QEMU caps it at 19.
        return this.setLog2(Math.min(vLo & 0x1f, QEMU_CMDQ_MAX_LOG2SIZE), line);
      }
      case SMMU_REG.CMDQ_BASE + 4:
        this.base = (this.base & 0xffffffffn) | ((unsigned64(vHi, vLo) << 32n) & 0x000fffff00000000n);
        return;
      case SMMU_REG.GERRORN:
        // spec/smmuv3.md §1.3: an error is active while GERROR ^ GERRORN has the bit; the guest
        // acknowledges CMDQ_ERR by toggling it in GERRORN, and QEMU resumes from CONS.
        if (((vLo ^ this.gerrornLo) & GERROR_CMDQ_ERR) !== 0) {
          this.stats.acks++;
          stampOf(l, this.stamp);
          this.rows.ack(this.file, line, this.stamp);
        }
        this.gerrornLo = vLo;
        return;
      default:
    }
  }

  private setLog2(n: number, line: number): void {
    if (this.log2size !== undefined && this.log2size !== n) this.diag.warn(`queue re-programmed: LOG2SIZE ${this.log2size} -> ${n}`, line);
    this.log2size = n;
    this.rows.queueGeometry({
      kind: 'geometry',
      entries: 1 << n,
      descBytes: 16,
      base: this.base,
      from: 'smmuv3_write_mmio CMDQ_BASE',
      at: { file: this.file, line },
    });
  }

  /** The last two opcode names looked up (interned: compared as references) and their codes. */
  private name0 = '';
  private code0: number | undefined = undefined;
  private name1 = '';
  private code1: number | undefined = undefined;

  /** QEMU's opcode `name` as a number (OPCODES), the last two remembered (commands alternate with CMD_SYNC). */
  private opcodeOf(name: string): number | undefined {
    if (name === this.name0) return this.code0;
    if (name !== this.name1) {
      this.name1 = name;
      this.code1 = OPCODES.get(name);
    }
    // the one found moves to the front
    const c = this.code1;
    this.name1 = this.name0;
    this.code1 = this.code0;
    this.name0 = name;
    this.code0 = c;
    return c;
  }

  private close(): void {
    const slot = this.openSlot;
    if (slot < 0) return;
    this.openSlot = -1;
    const name = this.openName;
    const code = this.opcodeOf(name);
    const h = this.halves;
    let detail: { name: string; events: Smmuv3QemuEvent[]; cmdError?: number } | undefined;
    let known = code !== undefined;
    if (this.detailRead || code === undefined || !this.records.rebuild(code, h)) {
      // Off the common path: smmuv3-rebuild.ts, from the events (words and masks as BigInts).
      const details = this.detailRead ? this.details : this.records.events();
      const r = rebuildSmmuv3(name, details, this.firstDetail < 0 ? (details[0]?.line ?? 0) : this.firstDetail);
      for (const p of r.problems) this.diag.bad(p.line, p.message);
      known = r.code !== undefined;
      halvesOf(r.words, h.words);
      halvesOf(r.known, h.known);
      if (this.detailRead) detail = { name, events: details.map((d) => d.ev) };
    }
    this.stats.commands++;
    if (!known) this.stats.unknownOpcode++;
    this.lastSlot = slot;
    this.lastWrap = this.openWrap;
    this.lastDetail = detail;
    const w = h.words;
    const k = h.known;
    this.rows.commandKnown(
      slot,
      this.openWrap,
      w[1]!,
      w[0]!,
      w[3]!,
      w[2]!,
      k[1]!,
      k[0]!,
      k[3]!,
      k[2]!,
      this.file,
      this.openLine,
      this.openAt,
      detail,
    );
  }
}

/** The time and thread of a line's prefix into `s` (the byte scanner's without a BigInt). */
function stampOf(l: LineMeta, s: Stamp): void {
  if (l instanceof ScannedLine) l.stamp(s);
  else s.setMeta(l);
}
