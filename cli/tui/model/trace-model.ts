// The TUI's trace in memory: the columns the command list, filters, search and queue view read,
// copied batch by batch out of the Arrow file into compact typed arrays (about 40 bytes a row for
// SMMUv3, 56 for 256-bit VT-d), then the Arrow batches are dropped. Nothing holds an object per
// row; a row's text and decoded fields are made only when it is on screen.

import { open } from 'node:fs/promises';
import { RecordBatchReader, type AsyncRecordBatchFileReader, type RecordBatch } from 'apache-arrow';
import type { Codec } from '../../../formats/codec/codec.js';
import type { Arch } from '../../../formats/codec/table.js';
import { codecFor } from '../../../formats/codecs.js';
import { InputFault } from '../../../formats/result.js';
import { period, published, ringIndex, ringWrap, step, wrapped, wrapValue } from '../../../formats/ring.js';
import { wordsPerSlot, type TraceHeader } from '../../../formats/trace/header.js';
import { openTrace } from '../../../formats/trace/io.js';
import { CACHES, ERROR_CODES, EVENT_KINDS, ORIGINS, ROLES, traceDictionaries, type EventKind } from '../../../formats/trace/schema.js';
import { viewBatch } from '../../../formats/trace/view.js';

/** Null in a Uint32 column. */
export const NONE = 0xffffffff;
/** Null in a small code column (op, error, role, cache, wrap). */
export const NO_CODE = 0xff;
export const NO_OP = 0xffff;

/** Per-row flags. */
export const FLAG_INFERRED = 1;
/** The ring wrapped at this command: its slot is below the previous command's. */
export const FLAG_WRAPPED = 2;
/** A doorbell whose producer passed the end of the ring. */
export const FLAG_DOORBELL_WRAPS = 4;
/** A command at a slot the consumer stopped on (it raised an error). */
export const FLAG_ERROR_STOP = 8;

/** The key fields the list shows and the filters read, per architecture; `domain` names the guest domain tag. */
export const KEY_FIELDS: Readonly<Record<Arch, { readonly fields: readonly string[]; readonly domain: string }>> = {
  smmuv3: { fields: ['sid', 'asid', 'vmid'], domain: 'asid' },
  vtd: { fields: ['did', 'sid', 'pasid'], domain: 'did' },
};

/**
 * The queue at each doorbell, on a ring of 2 x entries positions (index plus wrap bit, as
 * formats/trace/info.ts counts them). CONS is modelled, not recorded: bare hardware consumes what
 * a doorbell publishes before the next one, and stops on a command that raises an error until the
 * guest acknowledges it (spec/smmuv3.md §1.3, spec/vtd.md: IQH stays on the faulting descriptor).
 */
export interface Doorbells {
  readonly count: number;
  /** Trace row of each doorbell. */
  readonly row: Uint32Array;
  /** Producer position written (wrap * entries + slot). */
  readonly prod: Uint32Array;
  /** Producer position before this doorbell. */
  readonly prevProd: Uint32Array;
  /** Consumer position when the guest wrote PROD. */
  readonly consBefore: Uint32Array;
  /** Consumer position after bare hardware consumed what it could. */
  readonly consAfter: Uint32Array;
  /** 1 when the consumer stopped on an error before reaching PROD. */
  readonly stopped: Uint8Array;
}

export interface TraceModel {
  readonly path: string;
  readonly header: TraceHeader;
  readonly arch: Arch;
  readonly codec: Codec;
  readonly entries: number;
  readonly wordsPerSlot: 2 | 4;
  readonly rows: number;
  readonly kind: Uint8Array;
  readonly slot: Uint32Array;
  readonly wrap: Uint8Array;
  readonly op: Uint16Array;
  readonly opNames: readonly string[];
  readonly error: Uint8Array;
  readonly role: Uint8Array;
  readonly cache: Uint8Array;
  readonly origin: Uint8Array;
  readonly flags: Uint8Array;
  /** Source timestamps (ns); `tsValid` says which are known; `firstTs` the earliest. */
  readonly ts: BigInt64Array;
  readonly tsValid: Uint8Array;
  readonly firstTs: bigint | undefined;
  /** Raw words w0..w(n-1). */
  readonly words: readonly BigUint64Array[];
  /** Bits of w0/w1 the source could tell, for the rows that say (`knownRow[i]` = 1). Absent when no row does. */
  readonly known?: { readonly row: Uint8Array; readonly w: readonly [BigUint64Array, BigUint64Array] };
  /** Key field columns (KEY_FIELDS), NONE where null. */
  readonly keys: Readonly<Record<string, Uint32Array>>;
  readonly doorbells: Doorbells;
  /** Row counts by kind, and commands. */
  readonly counts: { readonly commands: number; readonly doorbells: number; readonly wraps: number };
}

export const kindName = (m: TraceModel, row: number): EventKind => EVENT_KINDS[m.kind[row]!]!;
export const opName = (m: TraceModel, row: number): string | undefined => (m.op[row] === NO_OP ? undefined : m.opNames[m.op[row]!]);
export const errorName = (m: TraceModel, row: number): string | undefined =>
  m.error[row] === NO_CODE ? undefined : ERROR_CODES[m.error[row]!];
export const roleName = (m: TraceModel, row: number): string | undefined => (m.role[row] === NO_CODE ? undefined : ROLES[m.role[row]!]);
export const cacheName = (m: TraceModel, row: number): string | undefined => (m.cache[row] === NO_CODE ? undefined : CACHES[m.cache[row]!]);
export const originName = (m: TraceModel, row: number): string => ORIGINS[m.origin[row]!]!;
export const wordsOf = (m: TraceModel, row: number): bigint[] => m.words.map((w) => w[row]!);

/**
 * Positions on the queue ring: 2E, because a trace records a wrap bit for both architectures
 * (VT-d: the lap parity ingest writes; formats/ring.ts).
 */
export const ringPeriod = (m: Pick<TraceModel, 'entries'>): number => period(m.entries, true);

/** Slot and wrap bit of a ring position. */
export const slotOf = (m: TraceModel, pos: number): number => ringIndex(pos, m.entries);
export const wrapOf = (m: TraceModel, pos: number): number => ringWrap(pos, m.entries);

/** Index of the first doorbell at or after `row` (the one that publishes a command), or -1. */
export function doorbellAtOrAfter(m: TraceModel, row: number): number {
  const r = m.doorbells.row;
  let lo = 0,
    hi = m.doorbells.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (r[mid]! < row) lo = mid + 1;
    else hi = mid;
  }
  return lo < m.doorbells.count ? lo : -1;
}

/** Maps one batch's dictionary codes onto a fixed name list (extended with names it lacks). */
function codeMap(names: readonly string[], into: { names: string[]; index: Map<string, number> }): Int32Array {
  const out = new Int32Array(names.length);
  names.forEach((n, i) => {
    let k = into.index.get(n);
    if (k === undefined) {
      k = into.names.length;
      into.names.push(n);
      into.index.set(n, k);
    }
    out[i] = k;
  });
  return out;
}

function fixedIndex(values: readonly string[]): { names: string[]; index: Map<string, number> } {
  return { names: [...values], index: new Map(values.map((v, i) => [v, i])) };
}

/** A column of a batch: its values (dictionary codes for a dictionary column), names, validity. */
function columnOf(
  batch: RecordBatch,
  name: string,
): { values: ArrayLike<number | bigint>; names: readonly string[]; valid: (i: number) => boolean } | undefined {
  const v = batch.getChild(name);
  if (v === null || v.data.length !== 1) return undefined;
  const d = v.data[0]!;
  const bitmap = d.nullCount > 0 ? d.nullBitmap : undefined;
  const off = d.offset;
  return {
    values: d.values as ArrayLike<number | bigint>,
    names: d.dictionary ? (d.dictionary.toArray() as string[]) : [],
    valid: bitmap === undefined ? () => true : (i) => ((bitmap[(i + off) >> 3]! >> ((i + off) & 7)) & 1) === 1,
  };
}

const ALL_BITS = 0xffffffffffffffffn;

/** The growing columns of a load, all of one capacity. */
class Growing {
  cap = 0;
  kind = new Uint8Array(0);
  slot = new Uint32Array(0);
  wrap = new Uint8Array(0);
  op = new Uint16Array(0);
  error = new Uint8Array(0);
  role = new Uint8Array(0);
  cache = new Uint8Array(0);
  origin = new Uint8Array(0);
  flags = new Uint8Array(0);
  ts = new BigInt64Array(0);
  tsValid = new Uint8Array(0);
  words: BigUint64Array[];
  keys: Record<string, Uint32Array>;
  known: { row: Uint8Array; w: [BigUint64Array, BigUint64Array] } | undefined;

  constructor(nw: number, keyNames: readonly string[]) {
    this.words = Array.from({ length: nw }, () => new BigUint64Array(0));
    this.keys = Object.fromEntries(keyNames.map((k) => [k, new Uint32Array(0)]));
  }

  /** Makes room for `need` rows (at least `hint`): one copy per column when it grows. */
  reserve(need: number, hint: number): void {
    if (need <= this.cap) return;
    const cap = Math.max(need, hint, this.cap * 2);
    const g = <A extends { set(a: A): void }>(a: A, make: (k: number) => A): A => {
      const next = make(cap);
      next.set(a);
      return next;
    };
    this.kind = g(this.kind, (k) => new Uint8Array(k));
    this.slot = g(this.slot, (k) => new Uint32Array(k));
    this.wrap = g(this.wrap, (k) => new Uint8Array(k));
    this.op = g(this.op, (k) => new Uint16Array(k));
    this.error = g(this.error, (k) => new Uint8Array(k));
    this.role = g(this.role, (k) => new Uint8Array(k));
    this.cache = g(this.cache, (k) => new Uint8Array(k));
    this.origin = g(this.origin, (k) => new Uint8Array(k));
    this.flags = g(this.flags, (k) => new Uint8Array(k));
    this.ts = g(this.ts, (k) => new BigInt64Array(k));
    this.tsValid = g(this.tsValid, (k) => new Uint8Array(k));
    this.words = this.words.map((w) => g(w, (k) => new BigUint64Array(k)));
    for (const k of Object.keys(this.keys)) this.keys[k] = g(this.keys[k]!, (m) => new Uint32Array(m));
    if (this.known) {
      this.known = {
        row: g(this.known.row, (k) => new Uint8Array(k)),
        w: [g(this.known.w[0], (k) => new BigUint64Array(k)), g(this.known.w[1], (k) => new BigUint64Array(k))],
      };
    }
    this.cap = cap;
  }

  knownMasks(): { row: Uint8Array; w: [BigUint64Array, BigUint64Array] } {
    this.known ??= { row: new Uint8Array(this.cap), w: [new BigUint64Array(this.cap), new BigUint64Array(this.cap)] };
    return this.known;
  }
}

/** Streams a trace file into a TraceModel; `onProgress(rows, fraction)` after each batch. */
export async function loadTraceModel(path: string, onProgress?: (rows: number, fraction: number) => void): Promise<TraceModel> {
  const trace = await openTrace(path); // validates the file and its header
  const header = trace.header;
  const arch = header.arch;
  const nw = wordsPerSlot(header);
  const entries = header.queue_entries;
  const ops = fixedIndex(traceDictionaries(arch).op.values);
  const fixed = {
    kind: fixedIndex(EVENT_KINDS),
    error: fixedIndex(ERROR_CODES),
    role: fixedIndex(ROLES),
    cache: fixedIndex(CACHES),
    origin: fixedIndex(ORIGINS),
  };
  const keyNames = KEY_FIELDS[arch].fields;
  const g = new Growing(nw, keyNames);
  let n = 0;
  const fh = await open(path, 'r');
  try {
    const reader = (await RecordBatchReader.from(fh)) as AsyncRecordBatchFileReader;
    await reader.open();
    const nBatches = reader.numRecordBatches;
    let batchNo = 0;
    for await (const batch of reader) {
      const v = viewBatch(batch);
      // Batches are of one size but the last: the first one tells the whole size.
      g.reserve(n + v.length, batchNo === 0 ? v.length * nBatches : 0);
      const kMap = codeMap(v.kind.names, fixed.kind);
      const oMap = codeMap(v.op.names, ops);
      const eMap = codeMap(v.error.names, fixed.error);
      const rMap = codeMap(v.role.names, fixed.role);
      const orMap = codeMap(v.origin.names, fixed.origin);
      const cache = columnOf(batch, 'cache');
      const cMap = cache ? codeMap(cache.names, fixed.cache) : undefined;
      const keyCols = keyNames.map((k) => [k, columnOf(batch, k)] as const);
      const k0 = columnOf(batch, 'known0'),
        k1 = columnOf(batch, 'known1');
      for (let i = 0; i < v.length; i++) {
        const r = n + i;
        g.kind[r] = kMap[v.kind.codes[i]!]!;
        g.slot[r] = v.slot.valid(i) ? v.slot.values[i]! : NONE;
        g.wrap[r] = v.wrap.valid(i) ? v.wrap.values[i]! : NO_CODE;
        g.op[r] = v.op.valid(i) ? oMap[v.op.codes[i]!]! : NO_OP;
        g.error[r] = v.error.valid(i) ? eMap[v.error.codes[i]!]! : NO_CODE;
        g.role[r] = v.role.valid(i) ? rMap[v.role.codes[i]!]! : NO_CODE;
        g.cache[r] = cache && cMap && cache.valid(i) ? cMap[Number(cache.values[i])]! : NO_CODE;
        g.origin[r] = orMap[v.origin.codes[i]!]!;
        g.flags[r] = v.inferred[i] ? FLAG_INFERRED : 0;
        if (v.ts.valid(i)) {
          g.ts[r] = v.ts.values[i]!;
          g.tsValid[r] = 1;
        }
        for (let w = 0; w < nw; w++) g.words[w]![r] = v.w[w]!.valid(i) ? v.w[w]!.values[i]! : 0n;
        for (const [k, c] of keyCols) g.keys[k]![r] = c && c.valid(i) ? Number(c.values[i]) : NONE;
        if (k0 && k1 && (k0.valid(i) || k1.valid(i))) {
          const known = g.knownMasks();
          known.row[r] = 1;
          known.w[0][r] = k0.valid(i) ? (k0.values[i] as bigint) : ALL_BITS;
          known.w[1][r] = k1.valid(i) ? (k1.values[i] as bigint) : ALL_BITS;
        }
      }
      n += v.length;
      batchNo++;
      onProgress?.(n, nBatches > 0 ? batchNo / nBatches : 1);
      await new Promise<void>((res) => setImmediate(res)); // the UI draws its progress between batches
    }
  } catch (e) {
    if (e instanceof InputFault) throw e;
    throw new InputFault({ file: path, message: `corrupt Arrow file: ${(e as Error).message}` });
  } finally {
    await fh.close();
  }
  const trim = <A extends { slice(a: number, b: number): A }>(a: A) => (g.cap === n ? a : a.slice(0, n));
  const core = {
    path,
    header,
    arch,
    codec: codecFor(arch),
    entries,
    wordsPerSlot: nw,
    rows: n,
    kind: trim(g.kind),
    slot: trim(g.slot),
    wrap: trim(g.wrap),
    op: trim(g.op),
    opNames: ops.names,
    error: trim(g.error),
    role: trim(g.role),
    cache: trim(g.cache),
    origin: trim(g.origin),
    flags: trim(g.flags),
    ts: trim(g.ts),
    tsValid: trim(g.tsValid),
    words: g.words.map(trim),
    ...(g.known
      ? { known: { row: trim(g.known.row), w: [trim(g.known.w[0]), trim(g.known.w[1])] as [BigUint64Array, BigUint64Array] } }
      : {}),
    keys: Object.fromEntries(Object.entries(g.keys).map(([k, a]) => [k, trim(a)])),
  };
  let firstTs: bigint | undefined;
  for (let r = 0; r < n; r++) if (core.tsValid[r] && (firstTs === undefined || core.ts[r]! < firstTs)) firstTs = core.ts[r]!;
  const { doorbells, wraps, commands } = queueModel(core);
  return { ...core, firstTs, doorbells, counts: { commands, doorbells: doorbells.count, wraps } };
}

type ModelCore = Pick<TraceModel, 'rows' | 'kind' | 'slot' | 'wrap' | 'error' | 'flags' | 'header' | 'entries'>;

/**
 * One pass over the rows: wrap marks, and the producer/consumer positions at each doorbell.
 * The consumer model: at a doorbell (or an acknowledgement) it walks from CONS towards PROD and
 * stops on a slot whose command raises an error, until the guest acknowledges it.
 */
function queueModel(m: ModelCore): { doorbells: Doorbells; wraps: number; commands: number } {
  const entries = m.entries;
  const period = ringPeriod(m);
  const KIND_CMD = EVENT_KINDS.indexOf('cmd'),
    KIND_DB = EVENT_KINDS.indexOf('doorbell'),
    KIND_ACK = EVENT_KINDS.indexOf('ack');
  let count = 0,
    commands = 0;
  for (let r = 0; r < m.rows; r++) if (m.kind[r] === KIND_DB) count++;
  const db = {
    count,
    row: new Uint32Array(count),
    prod: new Uint32Array(count),
    prevProd: new Uint32Array(count),
    consBefore: new Uint32Array(count),
    consAfter: new Uint32Array(count),
    stopped: new Uint8Array(count),
  };
  const slotError = new Uint8Array(entries);
  const slotRow = new Int32Array(entries).fill(-1);
  let prod = m.header.start ?? 0;
  let cons = prod;
  let pendingError = false;
  let lastSlot = -1;
  let lastWrap = 0;
  let wraps = 0;
  let d = 0;
  const consume = () => {
    for (let steps = 0; cons !== prod && !pendingError && steps < period; steps++) {
      const s = ringIndex(cons, entries);
      if (slotError[s]) {
        pendingError = true;
        const r = slotRow[s]!;
        if (r >= 0) m.flags[r]! |= FLAG_ERROR_STOP;
        break;
      }
      cons = step(cons, 1, period);
    }
  };
  for (let r = 0; r < m.rows; r++) {
    const k = m.kind[r];
    if (k === KIND_CMD) {
      commands++;
      const s = m.slot[r]!;
      if (s === NONE || s >= entries) continue;
      slotError[s] = m.error[r] === NO_CODE ? 0 : 1;
      slotRow[s] = r;
      // The ring wrapped: a lower slot in the next lap (a rewrite of an earlier slot keeps its lap).
      if (m.wrap[r] !== NO_CODE) {
        if (s < lastSlot && m.wrap[r] !== lastWrap) m.flags[r]! |= FLAG_WRAPPED;
        lastSlot = s;
        lastWrap = m.wrap[r]!;
      }
    } else if (k === KIND_DB) {
      const s = m.slot[r]!;
      const w = m.wrap[r] === NO_CODE ? 0 : m.wrap[r]!;
      const next = s === NONE ? prod : wrapValue(s, w, entries);
      if (wrapped(prod, published(prod, next, period), entries)) {
        wraps++;
        m.flags[r]! |= FLAG_DOORBELL_WRAPS;
      }
      db.row[d] = r;
      db.prevProd[d] = prod;
      db.consBefore[d] = cons;
      prod = next;
      db.prod[d] = prod;
      consume();
      db.consAfter[d] = cons;
      db.stopped[d] = cons !== prod ? 1 : 0;
      d++;
    } else if (k === KIND_ACK) {
      pendingError = false;
      consume();
    }
  }
  return { doorbells: db, wraps, commands };
}
