// Queue events (formats/capture/events.ts) to trace rows. The trace header needs the queue geometry
// before the first row, and a capture tells it late (QEMU: the IQA / CMDQ_BASE write comes after
// the first producer write), so events wait in a short buffer until the first command. Counts what
// was written for the ingest summary; the header is completed at close (agreement notes). VT-d
// traces get their map/unmap `cause` column as the rows are built (formats/trace/cause.ts).

import { hex } from '../bits.js';
import { hi32, lo32 } from '../arrow/fixed-columns.js';
import type { Arch } from '../codec/table.js';
import { opcodeMaskOf } from '../codecs.js';
import type { CaptureEvent, GeometryEvent } from '../capture/events.js';
import { TraceBuilder, type EventMeta } from '../trace/trace-builder.js';
import { CauseWatch, primedCauseWatch } from '../trace/cause.js';
import { wordsPerSlot, type SourceInfo, type TraceHeader } from '../trace/header.js';
import { TraceFileWriter, withVersion } from '../trace/file-writer.js';
import type { Origin } from '../trace/fields.js';
import { RingWatch } from './overrun.js';
import { EventRows, NO_WRAP, wordsOfHalves, type KnownPairRows } from '../capture/queue-rows.js';
import type { Stamp } from '../capture/stamp.js';

export interface Geometry {
  readonly entries: number;
  readonly descBytes: 16 | 32;
  readonly base?: bigint;
  /** Where it was read from, or why it was assumed. */
  readonly from: string;
}

export interface AssembledCounts {
  commands: number;
  doorbells: number;
  acks: number;
  /**
   * Commands per op; commands whose type the sources could not tell under `(unknown)`. Complete
   * after `finish` (the rows written from numbers are counted apart until then); in no set order.
   */
  readonly by_op: Record<string, number>;
  /** Rows restored rather than seen (VT-d waits and SMMUv3 CMD_SYNCs the drivers append, doorbells). */
  readonly inferred: { commands: number; doorbells: number; by_op: Record<string, number> };
}

/** Events held before the first command at most (then the default geometry is taken). */
const MAX_HELD = 4096;

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

/**
 * Also a QueueRows and PairRows (formats/capture/queue-rows.ts): a QEMU queue reader can hand it each command,
 * doorbell and ack as numbers, which go straight into the builder's columns once the trace has
 * started (what `push` of the same event object writes); before that, and for anything `write`
 * words a warning about, the event object is made and pushed.
 */
export class TraceAssembler implements KnownPairRows {
  /** The trace's rows hold no `detail`. */
  readonly readsDetail = false;
  private held: CaptureEvent[] = [];
  private geometry: Geometry;
  private writer: TraceFileWriter | undefined;
  private builder: TraceBuilder | undefined;
  private header: TraceHeader | undefined;
  private words: 2 | 4 = 2;
  private watch: RingWatch | undefined;
  /** VT-d: the cause inference, fed as the rows are built. */
  private readonly causes: CauseWatch | undefined;
  private readonly opcodeMask: bigint;
  /** `opcodeMask` (word 0's opcode bits) as halves, for `commandKnown`. */
  private readonly opcodeHi: number;
  private readonly opcodeLo: number;
  readonly warnings: string[] = [];
  readonly counts: AssembledCounts = {
    commands: 0,
    doorbells: 0,
    acks: 0,
    by_op: {},
    inferred: { commands: 0, doorbells: 0, by_op: {} },
  };

  constructor(
    private readonly output: string,
    private readonly arch: Arch,
    private readonly origin: Origin,
    defaults: Geometry,
    private readonly sources: readonly SourceInfo[],
    private readonly batchRows?: number,
  ) {
    this.geometry = defaults;
    this.causes = arch === 'vtd' ? primedCauseWatch() : undefined;
    this.opcodeMask = opcodeMaskOf(arch);
    this.opcodeHi = hi32(this.opcodeMask);
    this.opcodeLo = lo32(this.opcodeMask);
  }

  /** The geometry the trace uses (final once the first row is written). */
  get queue(): Geometry {
    return this.geometry;
  }

  push(e: CaptureEvent): void {
    if (this.builder === undefined) {
      if (e.kind === 'geometry') {
        this.geometry = geometryOf(e);
        return;
      }
      this.held.push(e);
      if (e.kind === 'cmd' || this.held.length >= MAX_HELD) this.start();
      return;
    }
    this.write(e);
  }

  private start(): void {
    const g = this.geometry;
    const first = this.held.find((e) => e.kind === 'cmd' || e.kind === 'doorbell') as { slot: number } | undefined;
    const start = first?.slot ?? 0;
    this.header = withVersion({
      invtrace: 1,
      arch: this.arch,
      queue_entries: g.entries,
      desc_bytes: g.descBytes,
      ...(start !== 0 && start < g.entries ? { start } : {}),
      ...(g.base !== undefined && g.base !== 0n ? { queue_base: hex(g.base) } : {}),
      sources: this.sources,
    });
    this.words = wordsPerSlot(this.header);
    this.writer = new TraceFileWriter(this.output, this.header);
    this.builder = new TraceBuilder(this.header, this.writer, this.batchRows, this.origin);
    if (this.causes !== undefined) this.builder.inferCauses(this.causes);
    this.watch = new RingWatch(g.entries, this.arch, this.header.start ?? 0);
    const held = this.held;
    this.held = [];
    for (const e of held) this.write(e);
  }

  command(
    slot: number,
    wrap: number,
    w0hi: number,
    w0lo: number,
    w1hi: number,
    w1lo: number,
    file: string,
    line: number,
    t: Stamp,
    detail: unknown,
  ): void {
    const b = this.builder;
    if (b === undefined || slot >= this.geometry.entries) {
      this.objects.command(slot, wrap, w0hi, w0lo, w1hi, w1lo, file, line, t, detail);
      return this.pushObjects();
    }
    const d = b.commandHalves(slot, wrap === NO_WRAP ? undefined : wrap, w0hi, w0lo, w1hi, w1lo, t);
    this.watch!.command(slot, d.error !== undefined);
    this.counts.commands++;
  }

  /**
   * A pair's command kept as numbers (queue-rows.ts PairRows): what `command` writes, or, merged,
   * what `write` writes for the event EventRows makes of it, its words cut to the slot's.
   */
  commandOfHalves(
    slot: number,
    wrap: number,
    halves: ArrayLike<number>,
    from: number,
    n: number,
    merged: boolean,
    file: string,
    line: number,
    t: Stamp,
  ): void {
    const b = this.builder;
    if (b === undefined || slot >= this.geometry.entries) {
      this.objects.commandOfHalves(slot, wrap, halves, from, n, merged, file, line, t);
      return this.pushObjects();
    }
    const w = wrap === NO_WRAP ? undefined : wrap;
    const d = b.commandOfHalves(slot, w, halves, from, Math.min(n, this.words), t, merged ? 'merged' : undefined);
    this.watch!.command(slot, d.error !== undefined);
    this.counts.commands++;
  }

  /**
   * A command rebuilt from decoded fields, with the bits the source could tell (queue-rows.ts
   * KnownRows): what `write` writes for the event EventRows makes of it. One whose opcode bits are
   * not all known (a null op, counted `(unknown)`) goes as that event.
   */
  commandKnown(
    slot: number,
    wrap: number,
    w0hi: number,
    w0lo: number,
    w1hi: number,
    w1lo: number,
    k0hi: number,
    k0lo: number,
    k1hi: number,
    k1lo: number,
    file: string,
    line: number,
    t: Stamp,
    detail: unknown,
  ): void {
    this.knownRow(slot, wrap, w0hi, w0lo, w1hi, w1lo, k0hi, k0lo, k1hi, k1lo, file, line, t, detail, false);
  }

  /**
   * A pair's merged command with the bits the two sides told (queue-rows.ts KnownPairRows): what
   * `write` writes for the event `mergeCommand` makes, origin `merged`; as `commandKnown` otherwise.
   */
  commandKnownMerged(
    slot: number,
    wrap: number,
    w0hi: number,
    w0lo: number,
    w1hi: number,
    w1lo: number,
    k0hi: number,
    k0lo: number,
    k1hi: number,
    k1lo: number,
    file: string,
    line: number,
    t: Stamp,
  ): void {
    this.knownRow(slot, wrap, w0hi, w0lo, w1hi, w1lo, k0hi, k0lo, k1hi, k1lo, file, line, t, undefined, true);
  }

  /** `commandKnown`, or merged `commandKnownMerged`. */
  private knownRow(
    slot: number,
    wrap: number,
    w0hi: number,
    w0lo: number,
    w1hi: number,
    w1lo: number,
    k0hi: number,
    k0lo: number,
    k1hi: number,
    k1lo: number,
    file: string,
    line: number,
    t: Stamp,
    detail: unknown,
    merged: boolean,
  ): void {
    const b = this.builder;
    const opHi = this.opcodeHi;
    const opLo = this.opcodeLo;
    if (b === undefined || slot >= this.geometry.entries || (k0hi & opHi) >>> 0 !== opHi || (k0lo & opLo) >>> 0 !== opLo) {
      if (merged) this.objects.commandKnownMerged(slot, wrap, w0hi, w0lo, w1hi, w1lo, k0hi, k0lo, k1hi, k1lo, file, line, t);
      else this.objects.commandKnown(slot, wrap, w0hi, w0lo, w1hi, w1lo, k0hi, k0lo, k1hi, k1lo, file, line, t, detail);
      return this.pushObjects();
    }
    const w = wrap === NO_WRAP ? undefined : wrap;
    const d = b.commandKnownHalves(slot, w, w0hi, w0lo, w1hi, w1lo, k0hi, k0lo, k1hi, k1lo, t, merged ? 'merged' : undefined);
    this.watch!.command(slot, d.error !== undefined);
    this.counts.commands++;
  }

  unknownCommand(slot: number, wrap: number, file: string, line: number, t: Stamp, detail: unknown): void {
    this.objects.unknownCommand(slot, wrap, file, line, t, detail);
    this.pushObjects();
  }

  // guest19: a guest trace ingested on its own (formats/capture/guest-rows.ts GuestRows), from numbers.

  /**
   * A fully known guest command of `n` words whose halves are in `halves` from `from` (word i: low
   * half at from + 2i), its time and CPU in `t`: the row `push` writes for its event object (the
   * words cut to the slot's); before the trace starts, that object.
   */
  guestCommand(slot: number, wrap: number, halves: ArrayLike<number>, from: number, n: number, file: string, line: number, t: Stamp): void {
    const b = this.builder;
    if (b === undefined || slot >= this.geometry.entries) {
      const words = wordsOfHalves(halves, from, n);
      return this.push({ kind: 'cmd', slot, wrap, words, at: { file, line }, ts_ns: t.ts_ns, cpu: t.tid });
    }
    const d = b.commandOfHalves(slot, wrap, halves, from, Math.min(n, this.words), t);
    this.watch!.command(slot, d.error !== undefined);
    this.counts.commands++;
  }

  /**
   * A command of constant `words` (the same array every call) with the bits `known`, inferred or
   * not: the row `push` writes for its event object (TraceBuilder.fixedCommand), counted by op.
   */
  fixedCommand(
    slot: number,
    wrap: number,
    words: readonly bigint[],
    known: readonly [bigint, bigint],
    inferred: boolean,
    file: string,
    line: number,
    t: Stamp,
  ): void {
    const b = this.builder;
    if (b === undefined || slot >= this.geometry.entries) {
      const at = { file, line };
      return this.push({ kind: 'cmd', slot, wrap, words, known, at, ts_ns: t.ts_ns, cpu: t.tid, ...(inferred ? { inferred } : {}) });
    }
    const d = b.fixedCommand(slot, wrap, words, known, t, inferred);
    const opKnown = this.opcodeKnown(known);
    const op = opKnown ? d.name : '(unknown)';
    this.watch!.command(slot, opKnown && d.error !== undefined);
    this.counts.commands++;
    bump(this.counts.by_op, op);
    if (inferred) {
      this.counts.inferred.commands++;
      bump(this.counts.inferred.by_op, op);
    }
  }

  /** Whether `known` tells the opcode bits (as `write` asks of an event's), kept per array. */
  private opcodeKnown(known: readonly [bigint, bigint]): boolean {
    let k = this.knownOps.get(known);
    if (k === undefined) this.knownOps.set(known, (k = (known[0] & this.opcodeMask) === this.opcodeMask));
    return k;
  }

  private readonly knownOps = new Map<readonly [bigint, bigint], boolean>();

  /** An inferred doorbell: the row `push` writes for its event object; before the trace starts, that object. */
  inferredDoorbell(slot: number, wrap: number, file: string, line: number, t: Stamp): void {
    const b = this.builder;
    if (b === undefined || slot >= this.geometry.entries) {
      return this.push({ kind: 'doorbell', slot, wrap, at: { file, line }, ts_ns: t.ts_ns, cpu: t.tid, inferred: true });
    }
    b.inferredDoorbellAt(slot, wrap, t);
    const at = this.at;
    at.file = file;
    at.line = line;
    this.watch!.doorbell(slot, wrap, at);
    this.counts.doorbells++;
    this.counts.inferred.doorbells++;
  }

  doorbell(slot: number, wrap: number, file: string, line: number, t: Stamp): void {
    const b = this.builder;
    if (b === undefined || slot >= this.geometry.entries) {
      this.objects.doorbell(slot, wrap, file, line, t);
      return this.pushObjects();
    }
    b.doorbellAt(slot, wrap, t);
    const at = this.at;
    at.file = file;
    at.line = line;
    this.watch!.doorbell(slot, wrap, at);
    this.counts.doorbells++;
  }

  ack(file: string, line: number, t: Stamp): void {
    this.objects.ack(file, line, t);
    this.pushObjects();
  }

  queueGeometry(e: GeometryEvent): void {
    this.push(e);
  }

  /** Events made as objects (QueueRows calls before the trace starts, or rare ones). */
  private readonly objects = new EventRows();
  /** Where a doorbell was read, for the ring watch (read only for a warning; reused). */
  private readonly at = { file: '', line: 0 };

  private pushObjects(): void {
    for (const e of this.objects.take()) this.push(e);
  }

  private write(e: CaptureEvent): void {
    const b = this.builder!;
    if (e.kind === 'geometry') {
      const g = geometryOf(e);
      if (g.entries !== this.geometry.entries || g.descBytes !== this.geometry.descBytes) {
        this.warnings.push(
          `${e.at.file}:${e.at.line}: queue geometry changed to ${g.entries} x ${g.descBytes} B (${g.from}); the trace keeps ${this.geometry.entries} x ${this.geometry.descBytes} B`,
        );
      }
      this.watch!.reset();
      return;
    }
    // The event is its own row metadata (time, CPU, origin, inferred); the builder's default origin is ours.
    const meta: EventMeta = e;
    const entries = this.geometry.entries;
    switch (e.kind) {
      case 'cmd': {
        if (e.slot >= entries) {
          this.warnings.push(`${e.at.file}:${e.at.line}: slot ${e.slot} is outside the queue of ${entries} entries; command dropped`);
          return;
        }
        const words = e.words.length > this.words ? e.words.slice(0, this.words) : e.words;
        const d = b.command(e.slot, words, meta, e.wrap, e.known);
        const opKnown = e.known === undefined || (e.known[0] & this.opcodeMask) === this.opcodeMask;
        const op = opKnown ? d.name : '(unknown)';
        this.watch!.command(e.slot, opKnown && d.error !== undefined);
        this.counts.commands++;
        bump(this.counts.by_op, op);
        if (e.inferred) {
          this.counts.inferred.commands++;
          bump(this.counts.inferred.by_op, op);
        }
        return;
      }
      case 'doorbell':
        if (e.slot >= entries) {
          this.warnings.push(`${e.at.file}:${e.at.line}: producer ${e.slot} is outside the queue of ${entries} entries; doorbell dropped`);
          return;
        }
        b.doorbell(e.slot, e.wrap, meta);
        this.watch!.doorbell(e.slot, e.wrap, e.at);
        this.counts.doorbells++;
        if (e.inferred) this.counts.inferred.doorbells++;
        return;
      case 'ack':
        b.ack(meta);
        this.watch!.ack();
        this.counts.acks++;
        return;
      default:
    }
  }

  /**
   * Writes the last rows and publishes the file with the final header (sources now with counts;
   * VT-d under caching mode: notes.cause). A VT-d trace that is not caching mode has its causes
   * nulled again.
   */
  async finish(notes: Record<string, unknown>, sources?: readonly SourceInfo[]): Promise<TraceHeader> {
    if (this.builder === undefined) this.start();
    this.builder!.flush();
    // The rows written from numbers are counted per op by the builder (per row template).
    const byOp = this.builder!.halfRowsByOp;
    for (const [op, n] of byOp) this.counts.by_op[op] = (this.counts.by_op[op] ?? 0) + n;
    byOp.clear();
    this.warnings.push(...this.watch!.warnings);
    const cause = this.causes?.inference();
    const header: TraceHeader = {
      ...this.header!,
      ...(sources ? { sources } : {}),
      notes: cause?.caching_mode ? { ...notes, cause } : notes,
    };
    await this.writer!.close(header);
    // A rare second pass that reads the trace (apache-arrow): loaded only then.
    if (cause !== undefined && !cause.caching_mode && this.causes!.marked)
      await (await import('../trace/strip-causes.js')).stripCauses(this.output, header);
    return header;
  }

  abort(): void {
    this.writer?.abort();
  }
}

function geometryOf(e: GeometryEvent): Geometry {
  return { entries: e.entries, descBytes: e.descBytes, ...(e.base !== undefined ? { base: e.base } : {}), from: e.from };
}
