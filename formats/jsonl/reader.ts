// JSONL scenarios (DESIGN.md "Trace files"): a header line, then one event per line. Commands are
// placed in the queue one after another from `start` (wrapping, with the SMMU wrap bit toggling
// each lap); `doorbell` publishes everything written so far. Lines starting with # are comments.
//
//   {"cmd": ["0x600f2", "0xffff8000"]}                raw words (2, or 4 for 256-bit VT-d)
//   {"cmd": {"op": "TLBI_NH_VA", "asid": 1, ...}}     symbolic, encoded by the codecs
//   {"cmd": [...], "slot": 7}                         rewrite slot 7 (the cursor does not move)
//   {"doorbell": true}  |  {"doorbell": {"prod": 5, "wrap": 1}}
//   {"ack": true}                                     acknowledge a queue error (GERRORN / FSTS)
//   {"fault": "atc_timeout", "sid": "0x100"}          the device stops answering ATS invalidations
//   optional on any event: "ts" (ns), "cpu"
//   "queue": N on any event of a trace whose header lists several queues (`queues`): which guest
//   queue it belongs to (default 0); each queue has its own cursor (docs/trace-format.md)

import { parseU64 } from '../bits.js';
import { codecFor } from '../codecs.js';
import { readLines } from '../lines.js';
import { RingCursor } from '../ring.js';
import { InputFault, type InputError } from '../result.js';
import type { BatchSink } from '../trace/trace-builder.js';
import { TraceBuilder, type EventMeta } from '../trace/trace-builder.js';
import { parseHeader, wordsPerSlot, type TraceHeader } from '../trace/header.js';
import type { Decoded } from '../codec/codec.js';
import { RingWatch } from '../ingest/overrun.js';
import { queueCount, queueHeaders } from '../trace/queues.js';
import type { Cause } from '../trace/fields.js';

type Json = Record<string, unknown>;

const EVENT_KEYS = new Set(['cmd', 'doorbell', 'ack', 'fault', 'slot', 'ts', 'cpu', 'sid', 'known', 'comment', 'cause', 'queue']);

/** One guest queue of a scenario: its own header (geometry), placement cursor and ring checks. */
interface ScenarioQueue {
  readonly header: TraceHeader;
  readonly cursor: RingCursor;
  readonly watch: RingWatch;
}

/**
 * Collects the header: normally the first line, but a header written over several lines (as in
 * DESIGN.md) is accepted until its JSON object closes.
 */
class HeaderCollector {
  private text = '';
  private firstLine = 0;
  constructor(private readonly file: string) {}

  /** Feeds a line; returns the header once complete. */
  feed(t: string, no: number): TraceHeader | undefined {
    if (this.text === '') this.firstLine = no;
    this.text += `${t}\n`;
    try {
      JSON.parse(this.text);
    } catch (e) {
      if (no - this.firstLine >= MAX_HEADER_LINES) {
        throw new InputFault({ file: this.file, line: this.firstLine, message: `header is not valid JSON (${(e as Error).message})` });
      }
      return undefined;
    }
    return parseHeaderLine(this.text, this.file, this.firstLine);
  }

  pending(): boolean {
    return this.text !== '';
  }

  fail(): never {
    throw new InputFault({ file: this.file, line: this.firstLine, message: 'header is not valid JSON (unterminated object)' });
  }
}

const MAX_HEADER_LINES = 64;

export async function readJsonlHeader(path: string): Promise<TraceHeader> {
  const hc = new HeaderCollector(path);
  for await (const line of readLines(path)) {
    const t = line.text.trim();
    if (t === '' || (t.startsWith('#') && !hc.pending())) continue;
    const h = hc.feed(t, line.no);
    if (h) return h;
  }
  if (hc.pending()) hc.fail();
  throw new InputFault({ file: path, message: 'empty file: expected a header line' });
}

function parseHeaderLine(text: string, file: string, line: number): TraceHeader {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputFault({ file, line, message: `header is not valid JSON (${(e as Error).message})` });
  }
  const h = parseHeader(json);
  if (!h.ok) throw new InputFault({ file, line, ...h.error });
  return h.value;
}

function value(v: unknown, what: string, at: Partial<InputError>): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string') {
    const p = parseU64(v);
    if (p !== undefined) return p;
  }
  throw new InputFault({ ...at, field: what, message: `expected an unsigned 64-bit value, got ${JSON.stringify(v)}` });
}

/**
 * Streams a JSONL scenario into a sink; returns the header the trace carries (`amend` may add
 * provenance to the one in the file).
 */
export async function readJsonl(
  path: string,
  sink: BatchSink,
  opts: { batchRows?: number; amend?: (h: TraceHeader) => TraceHeader } = {},
): Promise<{ header: TraceHeader; rows: number; warnings: string[] }> {
  let header: TraceHeader | undefined;
  let builder: TraceBuilder | undefined;
  let queues: ScenarioQueue[] = [];
  const hc = new HeaderCollector(path);
  for await (const line of readLines(path)) {
    const t = line.text.trim();
    if (t === '' || (t.startsWith('#') && (header !== undefined || !hc.pending()))) continue;
    const at = { file: path, line: line.no };
    if (header === undefined) {
      const parsed = hc.feed(t, line.no);
      if (parsed === undefined) continue;
      header = opts.amend ? opts.amend(parsed) : parsed;
      builder = new TraceBuilder(header, sink, opts.batchRows, 'jsonl');
      queues = queueHeaders(header).map((h) => ({
        header: h,
        cursor: new RingCursor(h.queue_entries, h.start ?? 0),
        watch: new RingWatch(h.queue_entries, h.arch, h.start ?? 0),
      }));
      continue;
    }
    let ev: Json;
    try {
      const j = JSON.parse(t) as unknown;
      if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new Error('expected an object');
      ev = j as Json;
    } catch (e) {
      throw new InputFault({ ...at, message: `not a JSON event (${(e as Error).message})` });
    }
    applyEvent(ev, header, builder!, queues, at);
  }
  if (header === undefined || builder === undefined) {
    if (hc.pending()) hc.fail();
    throw new InputFault({ file: path, message: 'empty file: expected a header line' });
  }
  builder.flush();
  return { header, rows: builder.rows, warnings: queues.flatMap((q) => q.watch.warnings) };
}

/** `"cause": "map" | "unmap"`: why the guest sent this invalidation (docs/trace-format.md). */
function causeOf(v: unknown, at: { file: string; line: number }): Cause {
  if (v !== 'map' && v !== 'unmap')
    throw new InputFault({ ...at, field: 'cause', message: `cause must be "map" or "unmap", not ${JSON.stringify(v)}` });
  return v;
}

/** `"queue": N`: a queue the header lists (0 when absent). */
function queueOf(v: unknown, header: TraceHeader, at: { file: string; line: number }): number {
  if (v === undefined) return 0;
  const n = queueCount(header);
  const q = Number(value(v, 'queue', at));
  if (q >= n) {
    throw new InputFault({
      ...at,
      field: 'queue',
      message:
        header.queues === undefined
          ? 'the header lists no queues (add "queues" to use "queue")'
          : `queue ${q} is not in the header's ${n} queues`,
    });
  }
  return q;
}

function applyEvent(
  ev: Json,
  header: TraceHeader,
  b: TraceBuilder,
  queues: readonly ScenarioQueue[],
  at: { file: string; line: number },
): void {
  for (const k of Object.keys(ev)) {
    if (!EVENT_KEYS.has(k)) throw new InputFault({ ...at, field: k, message: `unknown key "${k}"` });
  }
  const queue = queueOf(ev.queue, header, at);
  const { cursor: cur, watch } = queues[queue]!;
  const meta: EventMeta = {
    ...(queue !== 0 ? { queue } : {}),
    ...(ev.ts !== undefined ? { ts_ns: value(ev.ts, 'ts', at) } : {}),
    ...(ev.cpu !== undefined ? { cpu: Number(value(ev.cpu, 'cpu', at)) } : {}),
    ...(ev.cause !== undefined ? { cause: causeOf(ev.cause, at) } : {}),
  };
  if (ev.cause !== undefined && ev.cmd === undefined)
    throw new InputFault({ ...at, field: 'cause', message: 'only a cmd event has a cause' });
  const kinds = ['cmd', 'doorbell', 'ack', 'fault'].filter((k) => ev[k] !== undefined);
  if (kinds.length !== 1) {
    throw new InputFault({ ...at, message: `an event has exactly one of cmd, doorbell, ack, fault (found ${kinds.join(', ') || 'none'})` });
  }
  const entries = queues[queue]!.header.queue_entries;
  if (ev.cmd !== undefined) {
    const words = commandWords(ev.cmd, header, at);
    let known: bigint[] | undefined;
    if (ev.known !== undefined) {
      if (!Array.isArray(ev.known) || ev.known.length !== 2) throw new InputFault({ ...at, field: 'known', message: 'expected two masks' });
      known = ev.known.map((k, i) => value(k, `known[${i}]`, at));
    }
    if (ev.slot !== undefined) {
      const slot = Number(value(ev.slot, 'slot', at));
      if (slot >= entries) throw new InputFault({ ...at, field: 'slot', message: `slot ${slot} is outside a queue of ${entries} entries` });
      watch.command(slot, rejected(b.command(slot, words, meta, undefined, known), known));
    } else {
      watch.command(cur.slot, rejected(b.command(cur.slot, words, meta, cur.wrap, known), known));
      cur.advance();
    }
    return;
  }
  if (ev.doorbell !== undefined) {
    const where = `${at.file}:${at.line}`;
    if (ev.doorbell === true) {
      watch.doorbell(cur.slot, cur.wrap, where);
      return b.doorbell(cur.slot, cur.wrap, meta);
    }
    if (typeof ev.doorbell === 'object' && ev.doorbell !== null) {
      const d = ev.doorbell as Json;
      const prod = Number(value(d.prod, 'doorbell.prod', at));
      const wrap = d.wrap === undefined ? cur.wrap : Number(value(d.wrap, 'doorbell.wrap', at));
      if (prod >= entries || wrap > 1)
        throw new InputFault({
          ...at,
          field: 'doorbell',
          message: `producer ${prod} (wrap ${wrap}) is outside a queue of ${entries} entries`,
        });
      watch.doorbell(prod, wrap, where);
      return b.doorbell(prod, wrap, meta);
    }
    throw new InputFault({ ...at, field: 'doorbell', message: 'expected true or {"prod": N, "wrap": 0|1}' });
  }
  if (ev.ack !== undefined) {
    if (ev.ack !== true) throw new InputFault({ ...at, field: 'ack', message: 'expected true' });
    watch.ack();
    return b.ack(meta);
  }
  if (ev.fault !== 'atc_timeout' && ev.fault !== 'atc_recover') {
    throw new InputFault({ ...at, field: 'fault', message: 'expected "atc_timeout" or "atc_recover"' });
  }
  if (ev.sid === undefined) throw new InputFault({ ...at, field: 'sid', message: 'a fault names the device (sid)' });
  b.fault(ev.fault, Number(value(ev.sid, 'sid', at)), meta);
}

/** Does the hardware reject this command (a decode error on a command whose type is known)? */
function rejected(d: Decoded, known: readonly bigint[] | undefined): boolean {
  return d.error !== undefined && (known === undefined || known[0] !== 0n);
}

function commandWords(cmd: unknown, header: TraceHeader, at: { file: string; line: number }): bigint[] {
  const n = wordsPerSlot(header);
  if (Array.isArray(cmd)) {
    if (cmd.length !== 2 && cmd.length !== n) {
      throw new InputFault({ ...at, field: 'cmd', message: `expected ${n === 4 ? '2 or 4' : '2'} words, got ${cmd.length}` });
    }
    return cmd.map((w, i) => value(w, `cmd[${i}]`, at));
  }
  if (typeof cmd === 'object' && cmd !== null) {
    const { op, ...rest } = cmd as Json;
    if (typeof op !== 'string') throw new InputFault({ ...at, field: 'cmd.op', message: 'a symbolic command names its op' });
    const fields: Record<string, bigint> = {};
    for (const [k, v] of Object.entries(rest)) fields[k] = value(v, `cmd.${k}`, at);
    const r = codecFor(header.arch).encode(op, fields, n);
    if (!r.ok) throw new InputFault({ ...at, ...r.error, field: r.error.field ? `cmd.${r.error.field}` : 'cmd' });
    return r.value;
  }
  throw new InputFault({ ...at, field: 'cmd', message: 'expected a list of words or {"op": ...}' });
}
