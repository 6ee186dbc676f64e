// Builds canonical trace batches from events. Readers, the JSONL parser and the generator push
// events; every `batchRows` rows a batch (IpcBatch) goes to the sink, so memory stays flat however long
// the trace. Commands are decoded here once: op, error, role, scope and field columns. Columns are
// allocated for FIRST_ROOM rows and grown when a row needs more, up to the batch (`room`: a small
// input does not allocate every column at the full batch size; the batches, and so the bytes, stay
// the same); a row writes only the fields its op has (the rest stay null). What a
// decoded command writes (its row template: op, error, role, cache, range and fields) is written
// when the batch is finished, template by template into the rows that name it (formats/arrow/
// fixed-columns.ts `fill`), not row by row.
//
// A batch is plain data (formats/arrow/ipc-model.ts IpcBatch): the trace file writer writes it
// without apache-arrow (formats/arrow/ipc-file-sink.ts); formats/trace/memory-sink.ts makes
// apache-arrow RecordBatches of it. Nothing here loads apache-arrow (the ingest command does not).

import { BigCol, CodeCol, ColumnMemory, hi32, I32, I64, lo32, SmallCol, U8, U32, U64 } from '../arrow/fixed-columns.js';
import type { StringDictionary } from '../arrow/dictionary.js';
import type { ColumnChunk, IpcBatch, IpcSchema } from '../arrow/ipc-model.js';
import { classify } from '../classify.js';
import type { Codec, Decoded } from '../codec/codec.js';
import { codecFor } from '../codecs.js';
import { wordsPerSlot, type TraceHeader } from './header.js';
import {
  fieldColumns,
  intForBits,
  traceDictionaries,
  traceIpcSchema,
  type Cause,
  type EventKind,
  type Origin,
  type TraceDictionaries,
} from './fields.js';
import { HalfWordCache, WordCache } from '../codec/word-cache.js';
import { unsigned64, type Stamp } from '../capture/stamp.js';
import { causeKind, pageOf, type CauseKind } from './cause-kind.js';

export interface EventMeta {
  readonly ts_ns?: bigint;
  readonly cpu?: number;
  readonly origin?: Origin;
  readonly inferred?: boolean;
  /** Why an IOTLB invalidation was sent (map/unmap), and whether that was inferred. */
  readonly cause?: Cause;
  readonly causeInferred?: boolean;
  /** Guest queue the row belongs to (a trace with several, header `queues`); default 0. */
  readonly queue?: number;
}

/**
 * Gives each command its inferred cause as its row is written (formats/trace/cause.ts CauseWatch):
 * its op's kind (`causeKind`), range base (undefined: none) and its page (`pageOf`), and did column
 * (0 when null) in, 1 (map), 2 (unmap) or undefined (no cause) out.
 */
export interface CauseSource {
  commandOf(kind: CauseKind, base: bigint | undefined, page: number | bigint, did: number): 1 | 2 | undefined;
}

export interface BatchSink {
  write(batch: IpcBatch): void;
  /**
   * True when the sink is done with a batch's buffers once `write` returns (it has written them
   * out): the builder then hands it its columns' own arrays, and writes the next batch into them
   * (formats/arrow/fixed-columns.ts).
   */
  readonly takesBuffers?: boolean;
}

/** Where one op's fields go: column and spec name, small (<= 32 bits) or big. */
interface FieldTarget {
  readonly name: string;
  readonly small: SmallCol | undefined;
  readonly big: BigCol | undefined;
  /** Bit ranges, to tell whether a partly-known command knows this field. */
  readonly parts: readonly { readonly w: number; readonly mask: bigint }[];
  /** The VT-d domain id (the `did` column), which the cause inference reads. */
  readonly did: boolean;
}

const ALL_ONES = 0xffffffffffffffffn;

/** `id` of a row template of a command whose opcode bits are not all known: the row writes none (`commandKnownHalves`). */
const KNOWN_NO_OP = -2;

/** What a decoded command writes in its row besides slot, wrap and words (cached per words). */
interface RowTemplate {
  readonly d: Decoded;
  readonly op: number;
  readonly opName: string;
  /** Error code, or -1. */
  readonly error: number;
  readonly role: number;
  /** Cache code, or -1 (no scope). */
  readonly cache: number;
  readonly range: { readonly base: bigint; readonly bytes: bigint } | undefined;
  /**
   * The columns a row of the template takes a number in, and their values, as parallel arrays (a
   * row writes them by index: no tuple per field): small fields; the 64-bit ones (range_base and
   * range_bytes, then big fields), each value as its high and low 32-bit halves at 2j and 2j + 1
   * (filled without a BigInt, `fillTemplate`).
   */
  readonly smallCols: readonly SmallCol[];
  readonly smallVals: readonly number[];
  readonly bigCols: readonly BigCol[];
  readonly bigHalves: readonly number[];
  /** The `did` column's value (0 when null), for the cause inference. */
  readonly did: number;
  /** What the cause inference does with the op, and the page of the range base (0 without). */
  readonly causeKind: CauseKind;
  readonly page: number | bigint;
  /**
   * The template's number in the batch being built (`batchTemplates`), or -1 when no row of it
   * names the template yet: reset for the templates of a batch when it is flushed (`finishTemplates`).
   * A number per template, not a batch number the row path compares: that field, stored once until
   * the first flush, was a constant to V8, and the row path's code compiled with it was thrown away
   * at the first flush and compiled again.
   */
  id: number;
  /** Rows written from halves (`rowOfHalves`) with this template since the last `flush` counted them (`halfRowsByOp`). */
  halfRows: number;
}

/**
 * Rows the columns are allocated for at first, and the factor they grow by when a row needs more
 * (up to `batchRows`): 1,024, 8,192, 65,536. Every growth allocates and copies every column (~150
 * bytes a row) and leaves the old arrays to the collector, so they grow in few large steps: doubling
 * (six steps to 65,536) cost the 98.7 MB log ~100 M instructions more than it saved.
 */
const FIRST_ROOM = 1024;
const GROWTH = 8;

/** Row templates kept at most (emptied when full): guest queues repeat a few hundred commands. */
const TEMPLATE_CAPACITY = 4096;

export class TraceBuilder {
  /** The trace's fields and metadata (the header), shared by its batches. */
  readonly ipcSchema: IpcSchema;
  private readonly codec: Codec;
  private readonly dicts: TraceDictionaries;
  private readonly words: 2 | 4;
  private readonly origin: number;
  private readonly kindCodes: Record<EventKind, number>;
  private readonly roleCodes: Record<string, number>;
  private readonly cacheCodes: Record<string, number>;
  private readonly causeCodes: Record<string, number>;
  private readonly originCodes: Map<Origin, number>;
  private readonly errorCodes: Map<string, number>;
  private readonly opMasks: readonly { readonly w: number; readonly mask: bigint }[];
  /** `seq` of the batch's first row (a row's is this plus its row number, written at `flush`). */
  private firstSeq = 0;
  private row = 0;
  /** The kind most rows have (a command), preset with the builder's origin (`presetRows`). */
  private readonly cmdKind: number;
  /** Queues in the trace; the `queue` column exists when the header lists them. */
  private readonly queues: number;
  private readonly c;
  private readonly columns: { readonly name: string; finish(n: number, zeros?: ArrayBuffer): ColumnChunk }[];
  /**
   * Zeros (8 bytes a row of the room) that the batches of a sink that takes buffers view for the
   * columns no row has written yet, and for all-null bitmaps (formats/arrow/fixed-columns.ts
   * `blank`); never written. Undefined for a sink that keeps its batches.
   */
  private zeros: ArrayBuffer | undefined;
  /** Rows the columns and per-row arrays hold now (`grow`); every column, to grow together. */
  private room: number;
  private readonly fixed: (SmallCol | BigCol | CodeCol)[] = [];
  /** Per opcode/type code: the field targets of that op. */
  private readonly targets = new Map<number, readonly FieldTarget[]>();
  /** Decoded rows of fully known commands by (w0, w1) (words 2 and 3 zero). */
  private readonly templates = new WordCache<RowTemplate>(TEMPLATE_CAPACITY);
  /** The same by the words' 32-bit halves (`commandHalves`: no BigInt per row). */
  private readonly halfTemplates = new HalfWordCache<RowTemplate>();
  /** A command's words as 32-bit halves (low, high per word): the half-template key. */
  private readonly key = new Uint32Array(8);
  /** Infers the `cause` of each command as it is built (VT-d captures; formats/trace/cause.ts). */
  private causes: CauseSource | undefined;
  /** Per row of the batch: the number of its row template in `batchTemplates`, or -1 (none). */
  private rowTemplate: Int32Array;
  /** The row templates the batch's rows name, by number (their values go in at `flush`). */
  private readonly batchTemplates: RowTemplate[] = [];
  /** The batch's rows whose templates and `seq` are written (`settle`). */
  private settled = 0;
  /** `expandTemplates`' counting sort: where each template's rows start and the next goes, and the rows by template. */
  private groupStart = new Int32Array(0);
  private groupEnd = new Int32Array(0);
  private groupRows: Int32Array;

  constructor(
    readonly header: TraceHeader,
    private readonly sink: BatchSink,
    readonly batchRows = 1 << 16,
    origin: Origin = 'jsonl',
  ) {
    this.ipcSchema = traceIpcSchema(header);
    this.codec = codecFor(header.arch);
    this.dicts = traceDictionaries(header.arch);
    this.words = wordsPerSlot(header);
    const n = batchRows;
    const reuse = sink.takesBuffers === true;
    // The columns are made empty and take their first room together (`growColumns`).
    const room = 0;
    const code = (_: StringDictionary, nullable = true) => new CodeCol(n, nullable, reuse, room);
    const codes = (d: StringDictionary) => Object.fromEntries(d.values.map((v, i) => [v, i]));
    this.kindCodes = codes(this.dicts.kind) as Record<EventKind, number>;
    this.roleCodes = codes(this.dicts.role);
    this.cacheCodes = codes(this.dicts.cache);
    this.causeCodes = codes(this.dicts.cause);
    this.originCodes = new Map(this.dicts.origin.values.map((v, i) => [v as Origin, i]));
    this.errorCodes = new Map(this.dicts.error.values.map((v, i) => [v, i]));
    this.origin = this.originCodes.get(origin)!;
    this.cmdKind = this.kindCodes.cmd;
    this.opMasks = this.codec.table.opcode.map((r) => ({ w: r.w, mask: ((1n << BigInt(r.hi - r.lo + 1)) - 1n) << BigInt(r.lo) }));
    this.c = {
      seq: new SmallCol(U32, n, false, reuse, room),
      kind: code(this.dicts.kind, false),
      ts: new BigCol(I64, n, true, reuse, room),
      slot: new SmallCol(U32, n, true, reuse, room),
      wrap: new SmallCol(U8, n, true, reuse, room),
      w: [0, 1, 2, 3].map(() => new BigCol(U64, n, true, reuse, room)),
      known: [0, 1].map(() => new BigCol(U64, n, true, reuse, room)),
      op: code(this.dicts.op),
      error: code(this.dicts.error),
      role: code(this.dicts.role),
      cache: code(this.dicts.cache),
      rangeBase: new BigCol(U64, n, true, reuse, room),
      rangeBytes: new BigCol(U64, n, true, reuse, room),
      origin: code(this.dicts.origin, false),
      inferred: new SmallCol(U8, n, false, reuse, room),
      cpu: new SmallCol(I32, n, true, reuse, room),
      cause: code(this.dicts.cause),
      causeInferred: new SmallCol(U8, n, true, reuse, room),
      queue: new SmallCol(U8, n, false, reuse, room),
    };
    this.queues = header.queues?.length ?? 1;
    const c = this.c;
    const common: [string, { finish(n: number, zeros?: ArrayBuffer): ColumnChunk }][] = [
      ['seq', c.seq],
      ['kind', c.kind],
      ['ts_ns', c.ts],
      ['slot', c.slot],
      ['wrap', c.wrap],
      ['w0', c.w[0]!],
      ['w1', c.w[1]!],
      ['w2', c.w[2]!],
      ['w3', c.w[3]!],
      ['known0', c.known[0]!],
      ['known1', c.known[1]!],
      ['op', c.op],
      ['error', c.error],
      ['role', c.role],
      ['cache', c.cache],
      ['range_base', c.rangeBase],
      ['range_bytes', c.rangeBytes],
      ['origin', c.origin],
      ['inferred', c.inferred],
      ['cpu', c.cpu],
      ['cause', c.cause],
      ['cause_inferred', c.causeInferred],
      ['queue', c.queue],
    ];
    const byField = new Map<string, SmallCol | BigCol>();
    for (const f of fieldColumns(header.arch)) {
      const col = f.bits > 32 ? new BigCol(U64, n, true, reuse, room) : new SmallCol(intForBits(f.bits), n, true, reuse, room);
      byField.set(f.field, col);
      common.push([f.column, col]);
    }
    for (const [, col] of common) this.fixed.push(col as SmallCol | BigCol | CodeCol);
    const first = (this.room = Math.min(n, FIRST_ROOM));
    this.growColumns(first);
    this.rowTemplate = new Int32Array(first).fill(-1);
    this.groupRows = new Int32Array(first);
    this.presetRows(0, first);
    const byName = new Map(common);
    this.columns = this.ipcSchema.fields.map((f) => {
      const col = byName.get(f.name);
      if (col === undefined) throw new Error(`builder: no column for ${f.name}`);
      return { name: f.name, finish: (k: number, zeros?: ArrayBuffer) => col.finish(k, zeros) };
    });
    for (const op of this.codec.ops) {
      this.targets.set(
        op.def.code,
        op.fields.map((f) => {
          const col = byField.get(f.name)!;
          return {
            name: f.name,
            small: col instanceof SmallCol ? col : undefined,
            big: col instanceof BigCol ? col : undefined,
            parts: f.def.parts.map((p) => ({ w: p.w, mask: ((1n << BigInt(p.hi - p.lo + 1)) - 1n) << BigInt(p.lo) })),
            did: header.arch === 'vtd' && f.name === 'DID',
          };
        }),
      );
    }
  }

  /**
   * From now on, fill `cause` / `cause_inferred` of each command from `watch` (which sees every
   * command whose op is known, in order). For rows pushed without a cause of their own.
   */
  inferCauses(watch: CauseSource): void {
    this.causes = watch;
  }

  /**
   * Rows written from halves (`commandHalves`, `commandOfHalves`) per op (the decode's name), of
   * the batches flushed so far: counted per row template (a number on the template per row, added
   * up once per batch), not per row in a map.
   */
  readonly halfRowsByOp = new Map<string, number>();

  /** Rows pushed so far. */
  get rows(): number {
    return this.firstSeq + this.row;
  }

  /**
   * A command written into `slot`. `known` gives, per word, the bits the source could tell (for
   * commands rebuilt from decoded log lines); fields not fully known are null, and a command whose
   * opcode bits are unknown has a null op. Returns the decode.
   */
  command(slot: number, words: readonly bigint[], meta: EventMeta = {}, wrap?: number, known?: readonly bigint[]): Decoded {
    if (words.length > this.words) throw new Error(`builder: ${words.length} words in a ${this.header.desc_bytes}-byte queue`);
    // A 256-bit slot seen through a 128-bit source (QEMU 7.2 prints qw0/qw1 only): decoded with
    // qw2/qw3 as zero, stored as null (unknown). The template cache reads missing words as zero, so
    // the words are padded only to be decoded.
    const r = this.begin('cmd', meta);
    const c = this.c;
    c.slot.set(r, slot);
    if (wrap !== undefined) c.wrap.set(r, wrap);
    for (let i = 0; i < words.length; i++) c.w[i]!.set(r, words[i]!);
    const partial = known !== undefined && (known[0] !== ALL_ONES || known[1] !== ALL_ONES);
    if (!partial) {
      const t = this.template(words);
      this.writeTemplate(r, t);
      this.end();
      return t.d;
    }
    const w = words.length === this.words ? words : padWords(words, this.words);
    const d = this.codec.decode(w, { descBytes: this.header.desc_bytes });
    c.known[0]!.set(r, known[0]!);
    c.known[1]!.set(r, known[1]!);
    // The source could not tell the opcode/type: the command is known to exist, not what it is.
    if (!this.opMasks.every((m) => ((known[m.w] ?? 0n) & m.mask) === m.mask)) {
      this.end();
      return d;
    }
    this.writeTemplate(r, this.templateOf(d, known));
    this.end();
    return d;
  }

  /**
   * A fully known command of two words given as 32-bit halves, w0 = (w0hi, w0lo), w1 = (w1hi, w1lo),
   * with the builder's origin, its time and thread from `t`: the row `command` writes for the same
   * words and meta, written without a BigInt (the words' template found by their halves; a new one
   * is decoded once, `halfTemplate`). Returns the decode.
   *
   * The row path of a QEMU VT-d log (`rowOfHalves` for two words, written out): not a small
   * function that calls it, which V8 compiles at once ("small function") with the first rows'
   * feedback, while `rowOfHalves`, still called by that function's unoptimized code, becomes hot
   * and is compiled as well (docs/ingest.md, twenty-second pass).
   */
  commandHalves(slot: number, wrap: number | undefined, w0hi: number, w0lo: number, w1hi: number, w1lo: number, t: Stamp): Decoded {
    // `beginAt` of a command of the builder's origin (kind and origin preset), written here: its
    // bytecode is not taken from TurboFan's inlining budget, which then holds writeTemplate too.
    const c = this.c;
    const r = this.row;
    if (t.timed) c.ts.setHalves(r, t.hi, t.lo);
    if (t.tid !== undefined) c.cpu.set(r, t.tid);
    c.slot.set(r, slot);
    if (wrap !== undefined) c.wrap.set(r, wrap);
    c.w[0]!.setHalves(r, w0hi, w0lo);
    c.w[1]!.setHalves(r, w1hi, w1lo);
    const k = this.key;
    k[0] = w0lo;
    k[1] = w0hi;
    k[2] = w1lo;
    k[3] = w1hi;
    const tpl = this.halfTemplates.find(k, 0, 4) ?? this.halfTemplate(2);
    tpl.halfRows++;
    this.writeTemplate(r, tpl);
    this.end();
    return tpl.d;
  }

  /**
   * A fully known command of `n` words (2 to the queue's words per slot) whose halves are in
   * `halves` from `from` (word i: low half at from + 2i, high half next), with origin `origin`
   * (default: the builder's), its time and thread from `t`: the row `command` writes for the same
   * words and meta (a pair's commands: formats/ingest/qemu-items.ts).
   */
  commandOfHalves(
    slot: number,
    wrap: number | undefined,
    halves: ArrayLike<number>,
    from: number,
    n: number,
    t: Stamp,
    origin?: Origin,
  ): Decoded {
    if (n > this.words) throw new Error(`builder: ${n} words in a ${this.header.desc_bytes}-byte queue`);
    const k = this.key;
    for (let i = 0; i < 2 * n; i++) k[i] = halves[from + i]!;
    return this.rowOfHalves(slot, wrap, n, t, origin === undefined ? this.origin : this.originCodes.get(origin)!);
  }

  /**
   * A command of two words given as 32-bit halves with the bits of each the source could tell,
   * known = (k0hi, k0lo), (k1hi, k1lo), with origin `origin` (default: the builder's), its time and
   * thread from `t`: the row `command(slot, words, meta, wrap, known)` writes (fields not fully
   * known null; a command whose opcode bits are not all known has no op), written without a BigInt:
   * the template of the words and known bits found by their halves (`knownTemplates`), a new one
   * decoded once.
   */
  commandKnownHalves(
    slot: number,
    wrap: number | undefined,
    w0hi: number,
    w0lo: number,
    w1hi: number,
    w1lo: number,
    k0hi: number,
    k0lo: number,
    k1hi: number,
    k1lo: number,
    t: Stamp,
    origin?: Origin,
  ): Decoded {
    if ((k0hi & k0lo & k1hi & k1lo) === -1) {
      if (origin === undefined) return this.commandHalves(slot, wrap, w0hi, w0lo, w1hi, w1lo, t);
      const k = this.key;
      k[0] = w0lo;
      k[1] = w0hi;
      k[2] = w1lo;
      k[3] = w1hi;
      return this.rowOfHalves(slot, wrap, 2, t, this.originCodes.get(origin)!);
    }
    const c = this.c;
    const r = this.row;
    if (origin !== undefined) c.origin.put(r, this.originCodes.get(origin)!);
    if (t.timed) c.ts.setHalves(r, t.hi, t.lo);
    if (t.tid !== undefined) c.cpu.set(r, t.tid);
    c.slot.set(r, slot);
    if (wrap !== undefined) c.wrap.set(r, wrap);
    c.w[0]!.setHalves(r, w0hi, w0lo);
    c.w[1]!.setHalves(r, w1hi, w1lo);
    c.known[0]!.setHalves(r, k0hi, k0lo);
    c.known[1]!.setHalves(r, k1hi, k1lo);
    const k = this.key;
    k[0] = w0lo;
    k[1] = w0hi;
    k[2] = w1lo;
    k[3] = w1hi;
    const m = this.knownKey;
    m[0] = k0lo;
    m[1] = k0hi;
    m[2] = k1lo;
    m[3] = k1hi;
    const tpl = this.knownTemplates.find(m, 0, 4)?.find(k, 0, 4) ?? this.knownTemplate();
    if (tpl.id === KNOWN_NO_OP) {
      this.end();
      return tpl.d;
    }
    tpl.halfRows++;
    this.writeTemplate(r, tpl);
    this.end();
    return tpl.d;
  }

  /** The known bits of `commandKnownHalves`' command as halves (as `key` holds its words). */
  private readonly knownKey = new Uint32Array(4);
  /** Row templates of partly known commands: by their known bits, then by their words. */
  private readonly knownTemplates = new HalfWordCache<HalfWordCache<RowTemplate>>();

  /**
   * The template of the words in `key` with the known bits in `knownKey`, not yet kept: decoded
   * and kept; `id` KNOWN_NO_OP when the opcode bits are not all known (the row has no op). Out of
   * the row path.
   */
  private knownTemplate(): RowTemplate {
    const k = this.key;
    const m = this.knownKey;
    const words = [unsigned64(k[1]!, k[0]!), unsigned64(k[3]!, k[2]!)];
    const known = [unsigned64(m[1]!, m[0]!), unsigned64(m[3]!, m[2]!)];
    const w = words.length === this.words ? words : padWords(words, this.words);
    const d = this.codec.decode(w, { descBytes: this.header.desc_bytes });
    const opKnown = this.opMasks.every((o) => ((known[o.w] ?? 0n) & o.mask) === o.mask);
    const tpl = opKnown ? this.templateOf(d, known) : { ...this.templateOf(d, [0n, 0n]), id: KNOWN_NO_OP };
    let byWords = this.knownTemplates.find(m, 0, 4);
    if (byWords === undefined) this.knownTemplates.keep(m, 0, 4, (byWords = new HalfWordCache<RowTemplate>()));
    byWords.keep(k, 0, 4, tpl);
    return tpl;
  }

  /** The row of the `n` words whose halves are the first 2n of `key`. */
  private rowOfHalves(slot: number, wrap: number | undefined, n: number, t: Stamp, origin: number): Decoded {
    const r = this.beginAt(this.kindCodes.cmd, t, origin);
    const c = this.c;
    c.slot.set(r, slot);
    if (wrap !== undefined) c.wrap.set(r, wrap);
    const k = this.key;
    c.w[0]!.setHalves(r, k[1]!, k[0]!);
    c.w[1]!.setHalves(r, k[3]!, k[2]!);
    for (let i = 2; i < n; i++) c.w[i]!.setHalves(r, k[2 * i + 1]!, k[2 * i]!);
    const tpl = this.halfTemplates.find(k, 0, 2 * n) ?? this.halfTemplate(n);
    tpl.halfRows++;
    this.writeTemplate(r, tpl);
    this.end();
    return tpl.d;
  }

  /**
   * The template of the `n` words whose halves are the first 2n of `key`, not yet kept by their
   * halves: decoded (or found by the words) and kept. Out of the row path, which finds a kept one
   * for nearly every row: compiled into it, this cold code (BigInts, the decode's cache) made its
   * graph larger and took inlining budget from the row's hot leaves.
   */
  private halfTemplate(n: number): RowTemplate {
    const k = this.key;
    const words = [unsigned64(k[1]!, k[0]!), unsigned64(k[3]!, k[2]!)];
    for (let i = 2; i < n; i++) words.push(unsigned64(k[2 * i + 1]!, k[2 * i]!));
    const tpl = this.template(words);
    this.halfTemplates.keep(k, 0, 2 * n, tpl);
    return tpl;
  }

  /** A doorbell with the builder's origin, its time and thread from `t` (as `doorbell` writes it). */
  doorbellAt(prod: number, wrap: number, t: Stamp): void {
    const r = this.beginAt(this.kindCodes.doorbell, t, this.origin);
    this.c.slot.set(r, prod);
    this.c.wrap.set(r, wrap);
    this.end();
  }

  /** The decoded columns of a fully known command, cached by its words (most commands recur). */
  private template(words: readonly bigint[]): RowTemplate {
    const hit = this.templates.find(words);
    if (hit !== undefined) return hit;
    const w = words.length === this.words ? words : padWords(words, this.words);
    const t = this.templateOf(this.codec.decode(w, { descBytes: this.header.desc_bytes }));
    this.templates.keep(w, t);
    return t;
  }

  /** What a decoded command writes in its row: op, error, role, scope, and the fields `known` tells. */
  private templateOf(d: Decoded, known?: readonly bigint[]): RowTemplate {
    const cls = classify(d);
    const s = cls.scope;
    const smallCols: SmallCol[] = [];
    const smallVals: number[] = [];
    const bigCols: BigCol[] = [];
    const bigHalves: number[] = [];
    const big = (col: BigCol, v: bigint) => {
      bigCols.push(col);
      bigHalves.push(hi32(v), lo32(v));
    };
    if (s?.range !== undefined) {
      big(this.c.rangeBase, s.range.base);
      big(this.c.rangeBytes, s.range.bytes);
    }
    let did = 0;
    for (const t of d.def ? this.targets.get(d.def.code)! : []) {
      if (known !== undefined && !t.parts.every((p) => ((known[p.w] ?? 0n) & p.mask) === p.mask)) continue;
      const v = d.fields[t.name]!;
      if (t.small) {
        smallCols.push(t.small);
        smallVals.push(Number(v));
      } else big(t.big!, v);
      if (t.did) did = Number(v);
    }
    const opCode = d.code < this.dicts.op.values.length ? d.code : this.dicts.op.indexOf(d.name);
    const opName = this.dicts.op.values[opCode]!;
    return {
      causeKind: causeKind(opName),
      page: s?.range !== undefined ? pageOf(s.range.base) : 0,
      d,
      op: opCode,
      opName,
      error: d.error ? this.errorCodes.get(d.error.code === 'IQE' ? `IQE:${d.error.value}` : d.error.code)! : -1,
      role: this.roleCodes[cls.role]!,
      cache: s ? this.cacheCodes[s.cache]! : -1,
      range: s?.range,
      smallCols,
      smallVals,
      bigCols,
      bigHalves,
      did,
      id: -1,
      halfRows: 0,
    };
  }

  /** Row `r` writes template `t` (its columns at `flush`, `expandTemplates`), and its cause now. */
  private writeTemplate(r: number, t: RowTemplate): void {
    const id = t.id >= 0 ? t.id : this.numbered(t);
    this.rowTemplate[r] = id;
    const c = this.c;
    if (this.causes !== undefined) {
      // What the cause inference reads of this row: its op, range_base and did columns (null did: 0).
      const cause = this.causes.commandOf(t.causeKind, t.range?.base, t.page, t.did);
      if (cause !== undefined) {
        c.cause.set(r, cause - 1);
        c.causeInferred.set(r, 1);
      }
    }
  }

  /**
   * Template `t`, named by no row of the batch yet, takes the batch's next number. Out of the row
   * path (once per template and batch).
   */
  private numbered(t: RowTemplate): number {
    const T = this.batchTemplates;
    t.id = T.length;
    T.push(t);
    return t.id;
  }

  /** The guest's producer write: the new producer index and its wrap bit. */
  doorbell(prod: number, wrap: number, meta: EventMeta = {}): void {
    const r = this.begin('doorbell', meta);
    this.c.slot.set(r, prod);
    this.c.wrap.set(r, wrap);
    this.end();
  }

  /** The guest acknowledged a queue error (SMMUv3 GERRORN write, VT-d FSTS clear). */
  ack(meta: EventMeta = {}): void {
    this.begin('ack', meta);
    this.end();
  }

  /** An injected device fault (or its end) for the device `sid`. */
  fault(kind: 'atc_timeout' | 'atc_recover', sid: number, meta: EventMeta = {}): void {
    const r = this.begin(kind, meta);
    const t = this.targets
      .get(this.codec.lookup(this.header.arch === 'smmuv3' ? 'CMD_ATC_INV' : 'dev_tlb_inv')!.def.code)!
      .find((x) => x.name === 'SID')!;
    if (t.small) t.small.set(r, sid);
    else t.big!.set(r, BigInt(sid));
    this.end();
  }

  /**
   * Writes what the batch's rows [`settled`, `to`) take at the end, now: their row templates'
   * values (`expandTemplates`) and their `seq`. Done at `flush` for the rows not yet settled, and
   * when the room grows (`grow`) for the rows so far: the same values, written earlier. The first
   * batch's room grows twice (1,024 and 8,192 rows), so the fill loops run on those rows first and
   * are compiled before the batch's other ~57,000 rows, which they would otherwise run unoptimized
   * at the first flush (docs/ingest.md, twenty-second pass).
   */
  private settle(to: number): void {
    const from = this.settled;
    if (to <= from) return;
    this.expandTemplates(from, to);
    this.c.seq.sequence(this.firstSeq, from, to);
    this.settled = to;
  }

  /**
   * Writes the row templates of the batch's rows [from, to) into their columns: the rows grouped
   * by template (a counting sort of their numbers), then each template's values filled into its
   * rows, a column at a time. The same values, valid bits and counts as `set` per row (a row belongs
   * to one template; rows without one keep what they hold).
   */
  private expandTemplates(from: number, to: number): void {
    const T = this.batchTemplates;
    const k = T.length;
    if (k === 0) return;
    const ids = this.rowTemplate;
    if (this.groupStart.length < k + 1) {
      this.groupStart = new Int32Array(Math.max(k + 1, this.groupStart.length * 2));
      this.groupEnd = new Int32Array(this.groupStart.length);
    }
    // Each loop in a function of its own: inside one function, the first (over the batch's rows)
    // was compiled on stack before the others had run, and the code deoptimized at each of them
    // ("insufficient type feedback": compiled three times on every ingest, docs/ingest.md,
    // seventeenth pass).
    const start = this.groupStart;
    const at = this.groupEnd;
    const rows = this.groupRows;
    countTemplates(ids, from, to, start, k);
    groupStarts(start, at, k);
    placeRows(ids, from, to, at, rows);
    for (let i = 0; i < k; i++) if (start[i]! < start[i + 1]!) this.fillTemplate(T[i]!, rows, start[i]!, start[i + 1]!);
  }

  /**
   * The batch's first `n` rows are settled: role's valid bits copied from op's, the rows written
   * from halves counted by op, the templates' numbers dropped (`id` -1).
   */
  private finishTemplates(n: number): void {
    const T = this.batchTemplates;
    const k = T.length;
    if (k === 0) return;
    // role is written in op's rows only (`fillTemplate`): its valid bits are op's, one copy of the bytes.
    this.c.role.nullsOf(this.c.op, n);
    const byOp = this.halfRowsByOp;
    for (let i = 0; i < k; i++) {
      const t = T[i]!;
      t.id = -1;
      if (t.halfRows === 0) continue;
      byOp.set(t.d.name, (byOp.get(t.d.name) ?? 0) + t.halfRows);
      t.halfRows = 0;
    }
    this.rowTemplate.fill(-1, 0, n);
    T.length = 0;
  }

  /** Writes template `t`'s values into the rows `rows[from, to)`. */
  private fillTemplate(t: RowTemplate, rows: Int32Array, from: number, to: number): void {
    const c = this.c;
    // op, role and cache in one walk; every template writes op and role, and nothing else does
    // (role's valid bits are copied from op's, `expandTemplates`).
    CodeCol.fillTriple(c.op, c.role, c.cache, rows, from, to, t.op, t.role, t.cache);
    if (t.error >= 0) c.error.fill(rows, from, to, t.error);
    const sc = t.smallCols;
    for (let j = 0; j < sc.length; j++) sc[j]!.fill(rows, from, to, t.smallVals[j]!);
    const bc = t.bigCols;
    const bh = t.bigHalves;
    for (let j = 0; j < bc.length; j++) bc[j]!.fillHalves(rows, from, to, bh[2 * j]!, bh[2 * j + 1]!);
  }

  /** Emits the rows not yet in a batch. */
  flush(): void {
    const n = this.row;
    if (n === 0) return;
    this.settle(n);
    this.finishTemplates(n);
    // The columns every row writes: seq (`settle`), kind, origin, inferred and queue preset or put.
    const c = this.c;
    c.seq.counted(n);
    c.kind.counted(n);
    c.origin.counted(n);
    c.inferred.counted(n);
    if (this.header.queues !== undefined) c.queue.counted(n);
    let zeros = this.zeros;
    if (this.sink.takesBuffers === true && (zeros === undefined || zeros.byteLength < 8 * n))
      zeros = this.zeros = new ArrayBuffer(8 * this.room);
    const columns = this.columns.map((col) => col.finish(n, zeros));
    this.row = 0;
    this.settled = 0;
    this.sink.write({ schema: this.ipcSchema, length: n, columns, ...(zeros !== undefined ? { zeros } : {}) });
    // A sink that takes buffers was handed the columns' own arrays: they are cleared only now.
    for (const col of this.fixed) col.release(n);
    this.firstSeq += n;
    this.presetRows(0, n);
    if (this.causes !== undefined) {
      // Inferred causes: zeros under the null rows, as in a column written afresh per batch (the
      // bytes the two-pass inference wrote; the other columns keep what earlier batches left).
      c.cause.clear(n);
      c.causeInferred.clear(n);
    }
  }

  /**
   * Rows [from, to) take the values most rows have in the columns every row writes, which a row
   * then writes only where it differs (`beginAt`; `begin` writes them all): a command, of the
   * builder's origin, not inferred, queue 0. Done for the rows of each new batch and new room.
   */
  private presetRows(from: number, to: number): void {
    const c = this.c;
    c.kind.preset(this.cmdKind, from, to);
    c.origin.preset(this.origin, from, to);
    c.inferred.preset(0, from, to);
    c.queue.preset(0, from, to);
  }

  /**
   * Grows the room of every column and per-row array (GROWTH times, up to `batchRows`), keeping what
   * they hold, and settles the rows so far (`settle`, into the grown columns).
   */
  private grow(): void {
    const room = Math.min(GROWTH * this.room, this.batchRows);
    this.growColumns(room);
    this.presetRows(this.room, room);
    const ids = new Int32Array(room).fill(-1);
    ids.set(this.rowTemplate);
    this.rowTemplate = ids;
    this.groupRows = new Int32Array(room);
    this.room = room;
    this.settle(this.row);
  }

  /**
   * Every column's arrays grown to `room` rows as views of one ColumnMemory (formats/arrow/
   * fixed-columns.ts: fresh pages, touched only where rows are written).
   */
  private growColumns(room: number): void {
    let bytes = 0;
    for (const col of this.fixed) bytes += col.bytesToGrow(room);
    const mem = new ColumnMemory(bytes);
    for (const col of this.fixed) col.grow(room, mem);
  }

  private begin(kind: EventKind, meta: EventMeta): number {
    const c = this.c;
    const r = this.row;
    c.kind.put(r, this.kindCodes[kind]);
    if (meta.ts_ns !== undefined) c.ts.set(r, meta.ts_ns);
    c.origin.put(r, meta.origin !== undefined ? this.originCodes.get(meta.origin)! : this.origin);
    c.inferred.put(r, meta.inferred ? 1 : 0);
    const q = meta.queue ?? 0;
    if (q !== 0 && (q >= this.queues || !Number.isInteger(q))) throw new Error(`builder: queue ${q} in a trace of ${this.queues} queue(s)`);
    if (this.header.queues !== undefined) c.queue.put(r, q);
    if (meta.cpu !== undefined) c.cpu.set(r, meta.cpu);
    if (meta.cause !== undefined) {
      c.cause.set(r, this.causeCodes[meta.cause]!);
      c.causeInferred.set(r, meta.causeInferred ? 1 : 0);
    }
    return r;
  }

  /**
   * `begin` for a row of origin code `origin`, not inferred, queue 0, no cause, time and thread from
   * `t`: kind and origin written only where they differ from the preset (`presetRows`).
   */
  private beginAt(kind: number, t: Stamp, origin: number): number {
    const c = this.c;
    const r = this.row;
    if (kind !== this.cmdKind) c.kind.put(r, kind);
    if (t.timed) c.ts.setHalves(r, t.hi, t.lo);
    if (origin !== this.origin) c.origin.put(r, origin);
    if (t.tid !== undefined) c.cpu.set(r, t.tid);
    return r;
  }

  /** The row is written: the next one has room (`roomFull`). */
  private end(): void {
    if (++this.row >= this.room) this.roomFull();
  }

  /**
   * The rows fill the room: the batch is flushed when full, else the columns grow. A method of its
   * own, so that the row path's compiled code calls it (the call has run at the room's growths by
   * then) and does not load `flush` itself: that load first runs at the first full batch, after
   * the compile, and the code deoptimized there ("insufficient type feedback") and was compiled again.
   */
  private roomFull(): void {
    if (this.row >= this.batchRows) this.flush();
    else this.grow();
  }

  // guest19: the rows of a guest trace ingested on its own, written from numbers (formats/capture/guest-rows.ts).

  /** Per constant words array (`fixedCommand`): its known bits, decode and row template. */
  private readonly fixedRows = new Map<readonly bigint[], FixedRow>();

  /**
   * A command of constant `words` (the same array every call: an inferred VT-d wait or SMMUv3
   * CMD_SYNC, a command of unknown type) with the bits `known`, of the builder's origin, inferred
   * or not, its time and thread from `t`: the row `command(slot, words cut to the slot's, meta,
   * wrap, known)` writes with that meta, its decode and template made once per `words`.
   */
  fixedCommand(
    slot: number,
    wrap: number,
    words: readonly bigint[],
    known: readonly [bigint, bigint],
    t: Stamp,
    inferred: boolean,
  ): Decoded {
    let f = this.fixedRows.get(words);
    if (f === undefined || f.known !== known) {
      f = this.fixedRow(words, known);
      this.fixedRows.set(words, f);
    }
    const r = this.beginAt(this.cmdKind, t, this.origin);
    const c = this.c;
    if (inferred) c.inferred.put(r, 1);
    c.slot.set(r, slot);
    c.wrap.set(r, wrap);
    // The words and known bits as the 32-bit halves `set` of each BigInt stores.
    const h = f.halves;
    const nw = f.words.length;
    for (let i = 0; i < nw; i++) c.w[i]!.setHalves(r, h[2 * i]!, h[2 * i + 1]!);
    if (f.partial) {
      c.known[0]!.setHalves(r, h[2 * nw]!, h[2 * nw + 1]!);
      c.known[1]!.setHalves(r, h[2 * nw + 2]!, h[2 * nw + 3]!);
    }
    if (f.tpl !== undefined) this.writeTemplate(r, f.tpl);
    this.end();
    return f.d;
  }

  /** What `command` decodes and writes for these words and known bits (`fixedCommand`, once). */
  private fixedRow(words: readonly bigint[], known: readonly [bigint, bigint]): FixedRow {
    const w = words.length > this.words ? words.slice(0, this.words) : words;
    const partial = known[0] !== ALL_ONES || known[1] !== ALL_ONES;
    const halves = [...w, ...known].flatMap((v) => [hi32(v), lo32(v)]);
    if (!partial) {
      const tpl = this.template(w);
      return { known, words: w, halves, partial, d: tpl.d, tpl };
    }
    const d = this.codec.decode(w.length === this.words ? w : padWords(w, this.words), { descBytes: this.header.desc_bytes });
    // The source could not tell the opcode/type: no template (null op), as `command` writes it.
    const opKnown = this.opMasks.every((m) => ((known[m.w] ?? 0n) & m.mask) === m.mask);
    return { known, words: w, halves, partial, d, tpl: opKnown ? this.templateOf(d, known) : undefined };
  }

  /** An inferred doorbell with the builder's origin, its time and thread from `t` (`doorbell` with meta.inferred). */
  inferredDoorbellAt(prod: number, wrap: number, t: Stamp): void {
    const r = this.beginAt(this.kindCodes.doorbell, t, this.origin);
    this.c.inferred.put(r, 1);
    this.c.slot.set(r, prod);
    this.c.wrap.set(r, wrap);
    this.end();
  }
}

/** expandTemplates' counting sort, 1: rows [from, to) per template number (`start[id + 1]`), zeroed first. */
function countTemplates(ids: Int32Array, from: number, to: number, start: Int32Array, k: number): void {
  start.fill(0, 0, k + 1);
  for (let r = from; r < to; r++) {
    const id = ids[r]!;
    if (id >= 0) start[id + 1]!++;
  }
}

/** 2: where each template's rows start (prefix sums), and where its next row goes. */
function groupStarts(start: Int32Array, at: Int32Array, k: number): void {
  for (let i = 0; i < k; i++) {
    start[i + 1]! += start[i]!;
    at[i] = start[i]!;
  }
}

/** 3: the rows [from, to) in template order. */
function placeRows(ids: Int32Array, from: number, to: number, at: Int32Array, rows: Int32Array): void {
  for (let r = from; r < to; r++) {
    const id = ids[r]!;
    if (id >= 0) rows[at[id]!++] = r;
  }
}

/** A constant command's row (`fixedCommand`): its words cut to the slot's, decode and template (none: null op). */
interface FixedRow {
  readonly known: readonly [bigint, bigint];
  readonly words: readonly bigint[];
  /** The words', then known's, high and low 32-bit halves (word i: high at 2i, low at 2i + 1). */
  readonly halves: readonly number[];
  readonly partial: boolean;
  readonly d: Decoded;
  readonly tpl: RowTemplate | undefined;
}

function padWords(words: readonly bigint[], n: number): bigint[] {
  const out = words.slice(0, n);
  while (out.length < n) out.push(0n);
  return out;
}
