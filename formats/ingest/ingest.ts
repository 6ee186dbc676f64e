// `ingest`: captures to a canonical trace file, format and architecture detected (or forced).
// Inputs: a JSONL scenario alone; or a QEMU trace log, a guest trace (ftrace text or a serial
// console holding it), or one of each (both sides of a run, aligned: align.ts). Everything streams
// (memory does not grow with the file), the output is written atomically, and the summary says what
// was read, what was inferred and what was skipped.

import { basename } from 'node:path';
import type { Arch } from '../codec/table.js';
import { Diagnostics, type CaptureEvent } from '../capture/events.js';
import { GuestSmmuv3Queue, GuestSmmuv3Rows } from '../capture/guest-smmuv3.js';
import { GuestByteScanner } from '../capture/guest-bytes.js';
import {
  guestFacts,
  readGuestChunks,
  type GuestFacts,
  type GuestFactsRead,
  type GuestItem,
  type GuestKind,
  type Progress,
} from '../capture/guest-trace.js';
import { GuestVtdQueue, GuestVtdRows, LINUX_QI_LENGTH } from '../capture/guest-vtd.js';
import { QEMU_CMDQ_MAX_LOG2SIZE } from '../capture/qemu-smmuv3.js';
import { readJsonl, readJsonlHeader } from '../jsonl/reader.js';
import { InputFault } from '../result.js';
import type { SourceInfo, TraceHeader } from '../trace/header.js';
import { TraceFileWriter, withVersion } from '../trace/file-writer.js';
import type { Origin } from '../trace/fields.js';
import { Aligner, type Agreement } from './align.js';
import { QemuSmmuv3Items, QemuVtdItems } from './qemu-items.js';
import { GuestKeptCommands } from './guest-items.js';
import type { GuestRows } from '../capture/guest-rows.js';
import { TraceAssembler, type Geometry } from './assemble.js';
import { nameOrder } from './name-order.js';
import { sniff, SIDE_OF, type Side } from './detect.js';
import {
  pipelineAsked,
  qemuEvents,
  qemuEventsInWorker,
  qemuItems,
  readSmmuv3LogInto,
  readVtdLogInto,
  readVtdLogPipelined,
  type Pipeline,
  type PipelineOptions,
} from './qemu-side.js';

export interface IngestOptions {
  readonly output: string;
  readonly format?: string;
  readonly arch?: Arch;
  /** Stop at the first malformed line (InputFault) instead of warning and counting. */
  readonly strict?: boolean;
  /** Queue entries when no source tells them (a guest-only SMMUv3 trace without its console). */
  readonly queueEntries?: number;
  /** VT-d guest trace: largest gap between the qi_submit events of one submission (ns). */
  readonly vtdBatchGapNs?: bigint;
  readonly batchRows?: number;
  /** Called after each block of lines read: the file, its (decompressed) bytes and lines so far. */
  readonly progress?: Progress;
  /**
   * Read a QEMU log through queue event objects even when it is ingested on its own, where it is
   * otherwise read straight into the trace's columns (`readVtdLogInto`, `readSmmuv3LogInto`), and a
   * pair's QEMU side as event batches grouped by the aligner (`itemsOf`), where it is otherwise
   * grouped as the queue emits it and kept as numbers (qemu-items.ts), a pair's guest side as event
   * batches (`guestCommands`), where its commands are otherwise kept as numbers (guest-items.ts), and
   * a guest trace ingested on its own through its queue's event objects, where it is otherwise read
   * straight into the columns (`readGuestInto`). The output is the same; for tests of those fast paths.
   */
  readonly eventObjects?: boolean;
  /**
   * A QEMU log ingested on its own: `serial` reads it in this thread, `worker` in a worker thread
   * (a VT-d log: the two-stage pipeline, qemu-side.ts readVtdLogPipelined); `auto` (the default,
   * unless INVTRACE_INGEST_WORKER=0/1 says) is `serial`: on the 2-core machine the pipeline saved
   * 0-4% of wall time when idle and cost up to 27% more under load, for 0.2 s more CPU (docs/ingest.md,
   * "Two stages"). The output is the same.
   */
  readonly pipeline?: Pipeline;
  /** Tests: the pipeline's batch size, or a batch it skips. */
  readonly pipelineOptions?: PipelineOptions;
}

export type { Progress };

/** One input as read. */
export interface SourceSummary {
  readonly file: string;
  readonly format: string;
  readonly side: Side;
  readonly lines: number;
  /** Events read, by name. */
  readonly events: Readonly<Record<string, number>>;
  /** Events the readers do not know, by name (skipped). */
  readonly unknown_events: Readonly<Record<string, number>>;
  /** Lines that could not be read (skipped, or fatal with --strict). */
  readonly malformed: number;
  /** What a guest console or trace header said beside the trace. */
  readonly facts?: Readonly<Record<string, string | number>>;
}

export interface IngestSummary {
  readonly output: string;
  /** The input format (`qemu-log+ftrace` for both sides of a run). */
  readonly format: string;
  readonly arch: Arch;
  readonly inputs: readonly string[];
  readonly rows: number;
  readonly warnings: readonly string[];
  // Fields below: captures only (absent for JSONL scenarios).
  /** `qemu`, `guest` or `merged` (both sides). */
  readonly origin?: Origin;
  readonly sources?: readonly SourceSummary[];
  readonly queue?: { readonly entries: number; readonly desc_bytes: number; readonly base: string | null; readonly from: string };
  readonly commands?: number;
  readonly doorbells?: number;
  readonly acks?: number;
  /** Commands per op; `(unknown)`: commands whose type no source could tell. */
  readonly by_op?: Readonly<Record<string, number>>;
  /** Rows restored rather than seen. */
  readonly inferred?: { readonly commands: number; readonly doorbells: number; readonly by_op: Readonly<Record<string, number>> };
  readonly skipped?: { readonly malformed_lines: number; readonly unknown_events: Readonly<Record<string, number>> };
  /** Both sides: how they agree (also in the trace header notes). */
  readonly agreement?: Agreement;
}

interface Input {
  readonly file: string;
  readonly format: string;
  readonly side: Side;
  readonly arch?: Arch;
}

export async function ingest(files: readonly string[], opts: IngestOptions): Promise<IngestSummary> {
  if (files.length === 0) throw new InputFault({ message: 'no input files' });
  const inputs: Input[] = [];
  for (const file of files) {
    const s = opts.format ? { format: opts.format } : await sniff(file);
    if (s === undefined) throw new InputFault({ file, message: 'unrecognized capture format (use --format to force one)' });
    const side = SIDE_OF[s.format];
    if (side === undefined) throw new InputFault({ file, message: `unknown format ${s.format}` });
    inputs.push({ file, format: s.format, side, ...('arch' in s && s.arch ? { arch: s.arch } : {}) });
  }
  if (inputs[0]!.format === 'jsonl') return ingestJsonl(files, opts);
  const qemu = inputs.filter((i) => i.side === 'qemu');
  const guest = inputs.filter((i) => i.side === 'guest');
  if (qemu.length > 1 || guest.length > 1 || qemu.length + guest.length !== inputs.length) {
    throw new InputFault({
      message: `ingest takes one QEMU log, one guest trace, or one of each (got ${inputs.map((i) => `${i.file} (${i.format})`).join(', ')})`,
    });
  }
  const arch = opts.arch ?? archOf(inputs);
  return ingestCapture(qemu[0], guest[0], arch, opts);
}

function archOf(inputs: readonly Input[]): Arch {
  const known = inputs.filter((i) => i.arch !== undefined);
  if (known.length === 0)
    throw new InputFault({ file: inputs[0]!.file, message: 'cannot tell the architecture (no IOMMU events found): use --arch' });
  const a = known[0]!;
  const b = known.find((i) => i.arch !== a.arch);
  if (b) throw new InputFault({ message: `${a.file} is ${a.arch} but ${b.file} is ${b.arch}` });
  return a.arch!;
}

async function ingestJsonl(files: readonly string[], opts: IngestOptions): Promise<IngestSummary> {
  if (files.length !== 1) throw new InputFault({ message: 'a JSONL scenario is ingested on its own' });
  const file = files[0]!;
  const amend = (h: TraceHeader): TraceHeader => withVersion({ ...h, sources: [{ file: basename(file), format: 'jsonl' }] });
  const header = amend(await readJsonlHeader(file));
  if (opts.arch && opts.arch !== header.arch) {
    throw new InputFault({ file, message: `--arch ${opts.arch} but the header says ${header.arch}` });
  }
  const w = new TraceFileWriter(opts.output, header);
  try {
    const { rows, warnings } = await readJsonl(file, w, { amend });
    await w.close();
    return { output: opts.output, format: 'jsonl', arch: header.arch, inputs: files, rows, warnings };
  } catch (e) {
    w.abort();
    throw e;
  }
}

/**
 * A guest trace to read: its file and kind, the architecture, where its problems and its console's
 * facts go, the queue size its slots run over, and the ingest's options.
 */
interface GuestRead {
  readonly file: string;
  readonly kind: GuestKind;
  readonly arch: Arch;
  readonly diag: Diagnostics;
  readonly facts: GuestFacts;
  readonly entries: number;
  readonly opts: IngestOptions;
}

/** The guest side as batches of queue events. */
function guestEvents(r: GuestRead, paired: boolean): AsyncGenerator<CaptureEvent[]> {
  const { diag, entries, opts } = r;
  const q =
    r.arch === 'vtd'
      ? new GuestVtdQueue(diag, {
          entries,
          ...(opts.vtdBatchGapNs !== undefined ? { gapNs: opts.vtdBatchGapNs } : {}),
          // Paired: the aligner reads the guest's descriptors only (align.ts), the waits and doorbells are QEMU's.
          descriptorsOnly: paired,
        })
      : new GuestSmmuv3Queue(diag, { entries });
  return guestBatches(
    readGuestChunks(r.file, r.kind, diag, r.facts, opts.progress, new GuestByteScanner(), paired ? PAIRED_GUEST_BLOCK : undefined),
    q,
  );
}

/**
 * A guest trace read into its queue's rows as numbers (guest-rows.ts), to `rows`: a numeric byte
 * scanner (guest-bytes.ts), no event object, BigInt or string per line on the common path
 * (docs/ingest.md, "The guest side"); the rows, diagnostics and errors are those of `guestEvents`.
 * Yields after each block of `block` bytes (lines.ts ReadLineOptions) and once more after the end.
 */
async function* guestRowBlocks(r: GuestRead, rows: GuestRows, block?: number): AsyncGenerator<void> {
  const { diag, entries, opts } = r;
  const q =
    r.arch === 'vtd'
      ? new GuestVtdRows(diag, rows, { entries, ...(opts.vtdBatchGapNs !== undefined ? { gapNs: opts.vtdBatchGapNs } : {}) })
      : new GuestSmmuv3Rows(diag, rows, { entries });
  // The per-line loop is a function of its own (see guestBatches).
  const feed = (lines: GuestItem[]): void => {
    for (const g of lines) q.feed(g);
  };
  for await (const lines of readGuestChunks(r.file, r.kind, diag, r.facts, opts.progress, new GuestByteScanner(true), block)) {
    feed(lines);
    yield;
  }
  q.end();
  yield;
}

/** A guest trace ingested on its own, read straight into the trace's columns (`guestRowBlocks`). */
async function readGuestInto(r: GuestRead, asm: TraceAssembler): Promise<void> {
  for await (const _ of guestRowBlocks(r, asm));
}

/**
 * The guest side of a pair as numbers: its rows (`guestRowBlocks`) go to `kept` (guest-items.ts),
 * which keeps the commands the aligner aligns; the positions of each block's commands.
 */
async function* guestKept(r: GuestRead, kept: GuestKeptCommands): AsyncGenerator<number[]> {
  for await (const _ of guestRowBlocks(r, kept, PAIRED_GUEST_BLOCK)) yield kept.take();
}

/**
 * Bytes per block of a guest trace read beside its QEMU log. A guest block's commands wait in the
 * aligner until QEMU's reach them, and 256 KiB of guest trace (~1,200 qi_submit lines) spans ~3 of
 * QEMU's blocks: they outlived scavenges and were copied and promoted. At 32 KiB (~150 commands)
 * they are consumed within one QEMU block (docs/ingest.md, "What the pair costs").
 */
const PAIRED_GUEST_BLOCK = 1 << 15;

/** Feeds a guest reader a block of lines at a time and passes its events on per block. */
async function* guestBatches(chunks: AsyncIterable<GuestItem[]>, q: GuestVtdQueue | GuestSmmuv3Queue): AsyncGenerator<CaptureEvent[]> {
  // The per-line loop is a function of its own: a long loop inside an async generator makes V8
  // compile the whole generator on stack (docs/ingest.md, sixteenth pass).
  const feed = (lines: GuestItem[]): void => {
    for (const g of lines) q.feed(g);
  };
  for await (const lines of chunks) {
    feed(lines);
    yield q.take();
  }
  q.end();
  yield q.take();
}

/** SMMUv3 queue size Linux 6.1 allocated under QEMU 7.2 in the bundled captures. */
const ASSUMED_CMDQ_ENTRIES = 65536;
const SMTS = 1n << 43n; // ECAP.SMTS: scalable mode supported (Linux then uses 256-bit descriptors, spec/vtd.md §1.1)

/**
 * Whether what the first pass has read decides `guestGeometry`, so that no later line can change it
 * (the pass then stops: guestFacts `settled`). Facts come from a console's lines only (an ftrace
 * file has none). VT-d: the first ECAP line is the one used; without a console, the first
 * scalable-mode line decides. SMMUv3: an ftrace file tells nothing (nothing need be read), and a
 * console's last "allocated N entries for cmdq" line is the one used (the whole file is read).
 */
function geometrySettled(kind: GuestKind, arch: Arch): (read: GuestFactsRead) => boolean {
  if (arch === 'vtd') return kind === 'console' ? (f) => f.ecap !== undefined : (f) => f.wideTypes > 0;
  return () => kind !== 'console';
}

/** Queue geometry of a guest-only trace: the console tells it, else the trace and Linux's defaults. */
async function guestGeometry(file: string, kind: GuestKind, arch: Arch, diag: Diagnostics, opts: IngestOptions): Promise<Geometry> {
  const f = await guestFacts(file, kind, diag, geometrySettled(kind, arch));
  if (arch === 'vtd') {
    const entries = LINUX_QI_LENGTH;
    if (f.ecap !== undefined) {
      const wide = (f.ecap & SMTS) !== 0n;
      return {
        entries,
        descBytes: wide ? 32 : 16,
        from: `console: ECAP.SMTS=${wide ? 1 : 0} (ecap ${f.ecap.toString(16)}); Linux QI_LENGTH 256`,
      };
    }
    if (f.wideTypes > 0) return { entries, descBytes: 32, from: 'scalable-mode descriptor types in the trace; Linux QI_LENGTH 256' };
    return { entries, descBytes: 16, from: 'Linux QI_LENGTH 256; no scalable-mode descriptor in the trace, so 128-bit descriptors' };
  }
  if (f.cmdqEntries !== undefined)
    return { entries: f.cmdqEntries, descBytes: 16, from: `console: "allocated ${f.cmdqEntries} entries for cmdq"` };
  if (opts.queueEntries !== undefined) {
    const e = opts.queueEntries;
    if (!Number.isInteger(e) || e < 2 || e > 1 << 19 || (e & (e - 1)) !== 0) {
      throw new InputFault({ field: 'queueEntries', message: `${e} is not a power of two from 2 to 2^19 (CMDQ LOG2SIZE <= 19)` });
    }
    return { entries: e, descBytes: 16, from: 'given (queueEntries)' };
  }
  return {
    entries: ASSUMED_CMDQ_ENTRIES,
    descBytes: 16,
    from: `assumed: no "allocated N entries for cmdq" console line (${ASSUMED_CMDQ_ENTRIES} is what Linux 6.1 allocated under QEMU 7.2)`,
  };
}

const QEMU_DEFAULTS: Readonly<Record<Arch, Geometry>> = {
  vtd: { entries: 256, descBytes: 16, from: 'default: no IQA write or vtd_inv_qi_setup in the log' },
  smmuv3: { entries: 1 << QEMU_CMDQ_MAX_LOG2SIZE, descBytes: 16, from: 'default: no CMDQ_BASE write in the log' },
};

const TS_CLOCK = {
  qemu: 'QEMU host clock, ns since the Unix epoch',
  guest: 'guest trace_clock, ns since boot',
} as const;

async function ingestCapture(qemu: Input | undefined, guest: Input | undefined, arch: Arch, opts: IngestOptions): Promise<IngestSummary> {
  const strict = opts.strict === true;
  const qd = qemu && new Diagnostics(qemu.file, strict);
  const gd = guest && new Diagnostics(guest.file, strict);
  const facts: GuestFacts = {};
  const origin: Origin = qemu && guest ? 'merged' : qemu ? 'qemu' : 'guest';
  const gkind = guest?.format as GuestKind | undefined;
  const geometry = qemu ? QEMU_DEFAULTS[arch] : await guestGeometry(guest!.file, gkind!, arch, gd!, opts);
  const sources: SourceInfo[] = [qemu, guest]
    .filter((i) => i !== undefined)
    .map((i) => ({ file: basename(i.file), format: i.format, side: i.side as 'qemu' | 'guest' }));
  const asm = new TraceAssembler(opts.output, arch, qemu ? 'qemu' : 'guest', geometry, sources, opts.batchRows);
  const aligner = qemu && guest ? new Aligner(arch) : undefined;
  const gread: GuestRead | undefined = guest && { file: guest.file, kind: gkind!, arch, diag: gd!, facts, entries: geometry.entries, opts };
  // A guest trace ingested on its own is read straight into the trace's columns (readGuestInto).
  const guestDirect = guest !== undefined && !qemu && opts.eventObjects !== true;
  // A pair's guest side goes to the aligner as numbers too (guest-items.ts), unless eventObjects.
  const items = aligner !== undefined && opts.eventObjects !== true;
  const g = guest && !guestDirect && !items ? guestEvents(gread!, qemu !== undefined) : undefined;
  // A VT-d log ingested on its own is read straight into the trace's columns (one pass, no event
  // objects: qemu-side.ts readVtdLogInto), a large one in two stages (a worker thread reads, scans
  // and runs the queue; this one writes: readVtdLogPipelined). Another log ingested on its own is
  // read in a worker thread when asked (qemuEventsInWorker). A pair's QEMU side is read here,
  // between the guest side's blocks, into the aligner's items (qemu-items.ts).
  const alone = qemu !== undefined && !guest;
  // An SMMUv3 log ingested on its own is read straight into the columns too (readSmmuv3LogInto),
  // but in the worker thread, when forced, as events (it has no two-stage reader).
  const pipeline = opts.pipeline ?? pipelineAsked();
  const direct = alone && opts.eventObjects !== true && (arch === 'vtd' || pipeline !== 'worker');
  const worker = alone && !direct && pipeline === 'worker';
  const pipelined = direct && arch === 'vtd' && pipeline === 'worker';
  const read = worker ? qemuEventsInWorker : qemuEvents;
  // A pair's QEMU side goes to the aligner already grouped into its items (qemu-items.ts).
  const q = qemu && !direct && !items ? read(qemu.file, arch, qd!, opts.progress) : undefined;
  // Its waits, doorbells and acks stay numbers in `kept` until the aligner's output reaches them;
  // the guest's commands stay numbers in `gkept` until the aligner has paired them.
  const gkept = items ? new GuestKeptCommands(arch) : undefined;
  const kept = gkept ? (arch === 'vtd' ? new QemuVtdItems(gkept) : new QemuSmmuv3Items(gkept)) : undefined;
  const stream = aligner
    ? kept
      ? aligner.mergeItems(qemuItems(qemu!.file, qd!, kept, opts.progress), kept, guestKept(gread!, gkept!), gkept!)
      : aligner.merge(q!, g!)
    : (q ?? g);
  try {
    if (pipelined) await readVtdLogPipelined(qemu.file, asm, qd!, opts.progress, opts.pipelineOptions);
    else if (guestDirect) await readGuestInto(gread!, asm);
    else if (direct) await (arch === 'vtd' ? readVtdLogInto : readSmmuv3LogInto)(qemu.file, asm, qd!, opts.progress);
    else {
      // A number is a position in `kept` (only mergeItems hands those on). The per-event loop is
      // a function of its own, compiled once, not the whole async function on stack.
      const push = (batch: readonly (CaptureEvent | number)[]): void => {
        for (const e of batch) {
          if (typeof e === 'number') kept!.replay(e, asm);
          else asm.push(e);
        }
      };
      for await (const batch of stream!) push(batch);
    }
    const agreement = aligner?.report;
    const queue = asm.queue;
    const notes: Record<string, unknown> = {
      ingest: {
        origin,
        queue_from: queue.from,
        ts_clock: qemu ? TS_CLOCK.qemu : TS_CLOCK.guest,
        ...(guest && !qemu ? { guest_doorbells: 'one per submission (VT-d qi_submit_sync) or batch (SMMUv3 cmdlist), inferred' } : {}),
        ...(qemu && guest ? { cpu: 'guest CPU on merged commands, QEMU thread id on QEMU-only rows' } : {}),
        inferred: asm.counts.inferred,
        ...(facts.kernel ? { guest_kernel: facts.kernel } : {}),
        ...(agreement ? { agreement } : {}),
      },
    };
    const diags = [qd, gd].filter((d) => d !== undefined);
    const counted = sources.map((src, i) => ({
      ...src,
      lines: diags[i]!.lines,
      events: [...diags[i]!.events.values()].reduce((a, b) => a + b, 0),
    }));
    const header = await asm.finish(notes, counted);
    const unknown: Record<string, number> = {};
    for (const d of diags) for (const [k, v] of d.unknown) unknown[k] = (unknown[k] ?? 0) + v;
    const warnings = [...diags.flatMap((d) => d.allMessages()), ...asm.warnings];
    if (agreement && !agreement.agree) warnings.push(`the two sides disagree: ${agreement.first_divergence?.message ?? agreement.rule}`);
    const c = asm.counts;
    return {
      output: opts.output,
      format: [qemu, guest]
        .filter((i) => i !== undefined)
        .map((i) => i.format)
        .join('+'),
      arch,
      inputs: [qemu, guest].filter((i) => i !== undefined).map((i) => i.file),
      rows: c.commands + c.doorbells + c.acks,
      warnings,
      origin,
      sources: [...(qemu ? [sourceSummary(qemu, qd!)] : []), ...(guest ? [sourceSummary(guest, gd!, facts)] : [])],
      queue: { entries: header.queue_entries, desc_bytes: header.desc_bytes, base: header.queue_base ?? null, from: queue.from },
      commands: c.commands,
      doorbells: c.doorbells,
      acks: c.acks,
      by_op: sorted(c.by_op),
      inferred: { ...c.inferred, by_op: sorted(c.inferred.by_op) },
      skipped: { malformed_lines: diags.reduce((n, d) => n + d.malformed, 0), unknown_events: sorted(unknown) },
      ...(agreement ? { agreement } : {}),
    };
  } catch (e) {
    asm.abort();
    throw e;
  }
}

function sourceSummary(i: Input, d: Diagnostics, facts?: GuestFacts): SourceSummary {
  const f: Record<string, string | number> = {};
  if (facts?.kernel) f.kernel = facts.kernel;
  if (facts?.ecap !== undefined) f.ecap = `0x${facts.ecap.toString(16)}`;
  if (facts?.cmdqEntries !== undefined) f.cmdq_entries = facts.cmdqEntries;
  if (facts?.lostEvents !== undefined) f.lost_events = facts.lostEvents;
  return {
    file: i.file,
    format: i.format,
    side: i.side,
    lines: d.lines,
    events: sorted(Object.fromEntries(d.events)),
    unknown_events: sorted(Object.fromEntries(d.unknown)),
    malformed: d.malformed,
    ...(Object.keys(f).length > 0 ? { facts: f } : {}),
  };
}

const sorted = (m: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(m).sort((a, b) => b[1] - a[1] || nameOrder(a[0], b[0])));
