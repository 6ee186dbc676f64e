// Builds canonical trace batches from events. Readers, the JSONL parser and the generator push
// events; every `batchRows` rows a RecordBatch goes to the sink, so memory stays flat however long
// the trace. Commands are decoded here once: op, error, role, scope and field columns.

import { RecordBatch, Struct, makeData, type Schema } from 'apache-arrow';
import { DictCol, i32, i64, u8, u16, u32, u64 } from '../arrow/columns.js';
import { classify } from '../classify.js';
import type { Codec, Decoded } from '../codec/codec.js';
import { codecFor } from '../codecs.js';
import { wordsPerSlot, type TraceHeader } from './header.js';
import { fieldColumns, traceDictionaries, traceSchema, type EventKind, type Origin, type TraceDictionaries } from './schema.js';

export interface EventMeta {
  readonly ts_ns?: bigint;
  readonly cpu?: number;
  readonly origin?: Origin;
  readonly inferred?: boolean;
}

export interface BatchSink {
  write(batch: RecordBatch): void;
}

/** Collects batches in memory (small traces, tests). */
export class MemorySink implements BatchSink {
  readonly batches: RecordBatch[] = [];
  write(batch: RecordBatch): void {
    this.batches.push(batch);
  }
}

interface FieldSlot {
  readonly field: string;
  readonly col: { push(v: number | bigint): void; pushNull(): void; finish(): unknown; length: number };
  readonly big: boolean;
}

export class TraceBuilder {
  readonly schema: Schema;
  private readonly codec: Codec;
  private readonly dicts: TraceDictionaries;
  private readonly words: 2 | 4;
  private readonly origin: Origin;
  private seq = 0;
  private inBatch = 0;
  private readonly c = {
    seq: u32(), kind: null as unknown as DictCol, ts: i64(), slot: u32(), wrap: u8(),
    w: [u64(), u64(), u64(), u64()], known: [u64(), u64()],
    op: null as unknown as DictCol, error: null as unknown as DictCol, role: null as unknown as DictCol,
    cache: null as unknown as DictCol, rangeBase: u64(), rangeBytes: u64(),
    origin: null as unknown as DictCol, inferred: u8(), cpu: i32(),
  };
  private readonly fieldSlots: FieldSlot[];
  private readonly errorCodes: Map<string, number>;

  constructor(readonly header: TraceHeader, private readonly sink: BatchSink, readonly batchRows = 1 << 16, origin: Origin = 'jsonl') {
    this.schema = traceSchema(header);
    this.codec = codecFor(header.arch);
    this.dicts = traceDictionaries(header.arch);
    this.words = wordsPerSlot(header);
    this.origin = origin;
    this.c.kind = new DictCol(this.dicts.kind);
    this.c.op = new DictCol(this.dicts.op);
    this.c.error = new DictCol(this.dicts.error);
    this.c.role = new DictCol(this.dicts.role);
    this.c.cache = new DictCol(this.dicts.cache);
    this.c.origin = new DictCol(this.dicts.origin);
    this.fieldSlots = fieldColumns(header.arch).map((f) => {
      const big = f.bits > 32;
      const col = f.bits <= 8 ? u8() : f.bits <= 16 ? u16() : f.bits <= 32 ? u32() : u64();
      return { field: f.field, col: col as unknown as FieldSlot['col'], big };
    });
    this.errorCodes = new Map(this.dicts.error.values.map((v, i) => [v, i]));
  }

  /** Rows pushed so far. */
  get rows(): number {
    return this.seq;
  }

  /**
   * A command written into `slot`. `known` gives, per word, the bits the source could tell (for
   * commands rebuilt from decoded log lines); fields not fully known are null, and a command whose
   * opcode bits are unknown has a null op. Returns the decode.
   */
  command(slot: number, words: readonly bigint[], meta: EventMeta = {}, wrap?: number, known?: readonly bigint[]): Decoded {
    if (words.length > this.words) throw new Error(`builder: ${words.length} words in a ${this.header.desc_bytes}-byte queue`);
    // A 256-bit slot seen through a 128-bit source (QEMU 7.2 prints qw0/qw1 only): decoded with
    // qw2/qw3 as zero, stored as null (unknown).
    const w = words.length === this.words ? words : padWords(words, this.words);
    const d = this.codec.decode(w, { descBytes: this.header.desc_bytes });
    this.begin('cmd', meta);
    const c = this.c;
    c.slot.push(slot);
    c.wrap.pushMaybe(wrap);
    for (let i = 0; i < 4; i++) {
      if (i < words.length) c.w[i]!.push(w[i]!);
      else c.w[i]!.pushNull();
    }
    const partial = known !== undefined && known.some((k) => k !== 0xffffffffffffffffn);
    // The source could not tell the opcode/type: the command is known to exist, not what it is.
    const opKnown = !partial || this.codec.table.opcode.every((r) => {
      const m = ((1n << BigInt(r.hi - r.lo + 1)) - 1n) << BigInt(r.lo);
      return ((known![r.w] ?? 0n) & m) === m;
    });
    c.known[0]!.pushMaybe(partial ? known[0] : undefined);
    c.known[1]!.pushMaybe(partial ? known[1] : undefined);
    if (!opKnown) {
      c.op.pushNull();
      c.error.pushNull();
      c.role.pushNull();
      c.cache.pushNull();
      c.rangeBase.pushNull();
      c.rangeBytes.pushNull();
      for (const f of this.fieldSlots) f.col.pushNull();
      this.end();
      return d;
    }
    c.op.pushCode(d.code < this.dicts.op.values.length ? d.code : this.dicts.op.indexOf(d.name));
    if (d.error) c.error.pushCode(this.errorCodes.get(d.error.code === 'IQE' ? `IQE:${d.error.value}` : d.error.code)!);
    else c.error.pushNull();
    const cls = classify(d);
    c.role.push(cls.role);
    const s = cls.scope;
    if (s) c.cache.push(s.cache);
    else c.cache.pushNull();
    c.rangeBase.pushMaybe(s?.range?.base);
    c.rangeBytes.pushMaybe(s?.range?.bytes);
    const def = d.def;
    for (const f of this.fieldSlots) {
      const v = d.fields[f.field];
      if (v === undefined || (partial && def && !fieldKnown(def.fields.find((x) => x.name === f.field)!.parts, known!))) {
        f.col.pushNull();
      } else f.col.push(f.big ? v : Number(v));
    }
    this.end();
    return d;
  }

  /** The guest's producer write: the new producer index and its wrap bit. */
  doorbell(prod: number, wrap: number, meta: EventMeta = {}): void {
    this.begin('doorbell', meta);
    this.c.slot.push(prod);
    this.c.wrap.push(wrap);
    this.blankCommand();
    this.end();
  }

  /** The guest acknowledged a queue error (SMMUv3 GERRORN write, VT-d FSTS clear). */
  ack(meta: EventMeta = {}): void {
    this.begin('ack', meta);
    this.c.slot.pushNull();
    this.c.wrap.pushNull();
    this.blankCommand();
    this.end();
  }

  /** An injected device fault (or its end) for the device `sid`. */
  fault(kind: 'atc_timeout' | 'atc_recover', sid: number, meta: EventMeta = {}): void {
    this.begin(kind, meta);
    this.c.slot.pushNull();
    this.c.wrap.pushNull();
    this.blankCommand('SID', sid);
    this.end();
  }

  /** Emits the rows not yet in a batch. */
  flush(): void {
    if (this.inBatch === 0) return;
    const c = this.c;
    const byName = new Map<string, unknown>([
      ['seq', c.seq.finish()], ['kind', c.kind.finish()], ['ts_ns', c.ts.finish()], ['slot', c.slot.finish()],
      ['wrap', c.wrap.finish()], ['w0', c.w[0]!.finish()], ['w1', c.w[1]!.finish()], ['w2', c.w[2]!.finish()],
      ['w3', c.w[3]!.finish()], ['known0', c.known[0]!.finish()], ['known1', c.known[1]!.finish()],
      ['op', c.op.finish()], ['error', c.error.finish()], ['role', c.role.finish()], ['cache', c.cache.finish()],
      ['range_base', c.rangeBase.finish()], ['range_bytes', c.rangeBytes.finish()], ['origin', c.origin.finish()],
      ['inferred', c.inferred.finish()], ['cpu', c.cpu.finish()],
    ]);
    for (const f of this.fieldSlots) byName.set(f.field.toLowerCase(), f.col.finish());
    const children = this.schema.fields.map((f) => {
      const d = byName.get(f.name);
      if (d === undefined) throw new Error(`builder: no column for ${f.name}`);
      return d;
    });
    const length = this.inBatch;
    this.inBatch = 0;
    const data = makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children: children as never });
    this.sink.write(new RecordBatch(this.schema, data));
  }

  private begin(kind: EventKind, meta: EventMeta): void {
    const c = this.c;
    c.seq.push(this.seq++);
    c.kind.push(kind);
    c.ts.pushMaybe(meta.ts_ns);
    c.origin.push(meta.origin ?? this.origin);
    c.inferred.push(meta.inferred ? 1 : 0);
    c.cpu.pushMaybe(meta.cpu);
  }

  private end(): void {
    if (++this.inBatch >= this.batchRows) this.flush();
  }

  private blankCommand(setField?: string, value?: number): void {
    const c = this.c;
    for (const w of c.w) w.pushNull();
    c.known[0]!.pushNull();
    c.known[1]!.pushNull();
    c.op.pushNull();
    c.error.pushNull();
    c.role.pushNull();
    c.cache.pushNull();
    c.rangeBase.pushNull();
    c.rangeBytes.pushNull();
    for (const f of this.fieldSlots) {
      if (f.field === setField && value !== undefined) f.col.push(f.big ? BigInt(value) : value);
      else f.col.pushNull();
    }
  }
}

function padWords(words: readonly bigint[], n: number): bigint[] {
  const out = words.slice(0, n);
  while (out.length < n) out.push(0n);
  return out;
}

function fieldKnown(parts: readonly { w: number; hi: number; lo: number }[], known: readonly bigint[]): boolean {
  return parts.every((p) => {
    const m = ((1n << BigInt(p.hi - p.lo + 1)) - 1n) << BigInt(p.lo);
    return ((known[p.w] ?? 0n) & m) === m;
  });
}
