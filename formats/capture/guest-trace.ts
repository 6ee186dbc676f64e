// The guest side of a capture as ftrace lines: either the ftrace text itself (a copy of
// /sys/kernel/tracing/trace) or a serial-console file that holds it between the
// `@@@@ BEGIN GUEST TRACE` and `@@@@ END GUEST TRACE` markers (samples/captures/capture.sh). The
// console around the markers is kernel log and init output: it is not trace data, but it tells
// the queue geometry the trace itself lacks, which is collected as facts:
//
//   DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap 480080f00f4e
//   arm-smmu-v3 9050000.smmuv3: allocated 65536 entries for cmdq
//   Linux version 6.1.0-56-amd64 (...)

import { InputFault } from '../result.js';
import { readLineChunks, type LineChunk } from '../lines.js';
import { Diagnostics } from './events.js';
import { parseFtraceLine, QI_TYPE_NAMES, type FtraceLine } from './ftrace.js';
import { GuestByteScanner, type ScannedFtrace } from './guest-bytes.js';

export type GuestKind = 'ftrace' | 'console';

/** Reading progress of one file: bytes (decompressed) and lines so far. */
export type Progress = (file: string, bytes: number, lines: number) => void;

/** What the console (or the ftrace header) says beside the trace. */
export interface GuestFacts {
  kernel?: string;
  /** VT-d extended capability register of the first DMAR unit (ECAP.SMTS = bit 43). */
  ecap?: bigint;
  /** Entries Linux allocated for the SMMUv3 command queue. */
  cmdqEntries?: number;
  /** `# entries-in-buffer/entries-written: A/B`: B − A events were lost. */
  lostEvents?: number;
}

export const BEGIN_MARKER = '@@@@ BEGIN GUEST TRACE';
export const END_MARKER = '@@@@ END GUEST TRACE';

export interface GuestLine {
  readonly ftrace: FtraceLine;
  readonly no: number;
}

/** An event line: parsed as text (GuestLine) or, on the fast path, from its bytes (ScannedFtrace). */
export type GuestItem = GuestLine | ScannedFtrace;

const BEGIN_BYTES = Buffer.from(BEGIN_MARKER, 'latin1');
const END_BYTES = Buffer.from(END_MARKER, 'latin1');
/** Does line `buf[s, e)` start with `m`? */
const startsWith = (buf: Buffer, s: number, e: number, m: Buffer) =>
  e - s >= m.length && buf.compare(m, 0, m.length, s, s + m.length) === 0;

const ECAP = /DMAR: dmar\d+: reg_base_addr \S+ ver \S+ cap [0-9a-f]+ ecap ([0-9a-f]+)/;
const CMDQ = /arm-smmu-v3 \S+: allocated (\d+) entries for cmdq/;
const VERSION = /Linux version (\S+)/;
const KERNEL_LOG = /^\[\s*\d+\.\d+\]/;
/** A character that String.prototype.trim would keep (regular expression \s = trim's white space). */
const NOT_BLANK = /\S/;
const ENTRIES = /^#\s*entries-in-buffer\/entries-written:\s*(\d+)\/(\d+)/;

function noteFact(text: string, facts: GuestFacts): void {
  let m = ECAP.exec(text);
  if (m !== null) {
    facts.ecap ??= BigInt(`0x${m[1]}`);
    return;
  }
  m = CMDQ.exec(text);
  if (m !== null) {
    facts.cmdqEntries = Number(m[1]);
    return;
  }
  m = VERSION.exec(text);
  if (m !== null) facts.kernel ??= m[1];
}

/**
 * The ftrace lines of a guest capture, in file order, a block at a time; facts are filled in as
 * they are read (the console's kernel log comes before the trace dump). At the end, the event lines
 * are counted against the header's `entries-in-buffer` (what the kernel dumped): a line lost or
 * duplicated on the way is a warning naming the header line. With a `scanner`, event lines of the
 * canonical form are read from the bytes (guest-bytes.ts) and the others as text, in file order.
 * Nothing is kept of a block once the next is asked for (the scanner interns its strings, the text
 * path copies), so a plain file is read into reused buffers (read ahead); `block` sets the
 * block size (lines.ts ReadLineOptions). The caller must not keep a block's items either: the
 * scanner fills the same records again for the next block.
 */
export async function* readGuestChunks(
  path: string,
  kind: GuestKind,
  diag: Diagnostics,
  facts: GuestFacts,
  progress?: Progress,
  scanner?: GuestByteScanner,
  block?: number,
  factsOnly = false,
): AsyncGenerator<GuestItem[]> {
  const r = new GuestBlocks(path, kind, diag, facts, scanner, factsOnly);
  for await (const c of readLineChunks(path, { reuse: true, ...(block !== undefined ? { block } : {}) })) {
    const out = r.block(c);
    progress?.(path, c.bytes, c.firstNo + c.count - 1);
    yield out;
  }
  r.end();
}

/**
 * The lines of a guest capture, a block at a time (readGuestChunks): which are events, read from
 * their bytes or as text, and what the console and the trace header say around them. The loop over
 * a block's lines is this class's method, not the body of the async generator above: a loop that
 * runs a few hundred times a block made V8 compile the whole generator on stack replacement
 * (TurboFan, 11-19 ms a pair; docs/ingest.md "Sixteenth pass").
 */
class GuestBlocks {
  private inside: boolean;
  private sawBegin = false;
  private sawEnd = false;
  private traceLines = 0;
  /** Event lines (parsed or not) and the header's count of them. */
  private eventLines = 0;
  private header: { inBuffer: number; line: number } | undefined;

  constructor(
    private readonly path: string,
    private readonly kind: GuestKind,
    private readonly diag: Diagnostics,
    private readonly facts: GuestFacts,
    private readonly scanner: GuestByteScanner | undefined,
    /**
     * Only the facts, the scalable-mode lines and the console's errors are wanted, and no line is
     * fatal (guestFacts without --strict): once the trace has a line that is not blank, an event
     * line that cannot hold a scalable-mode type name (`wideCandidates`) is skipped unread. What it
     * would tell goes to counts and warnings nobody reads; it cannot be wide, and the errors of
     * `end` ask only whether the trace holds any line.
     */
    private readonly factsOnly = false,
  ) {
    this.inside = kind === 'ftrace';
  }

  /** Where the block's scalable-mode type names may start (factsOnly), in order, then the block's end. */
  private candidates: number[] = [];

  /** The event lines of a block, in order. */
  block(c: LineChunk): GuestItem[] {
    const out: GuestItem[] = [];
    const scanner = this.scanner;
    scanner?.newBlock();
    const { buf, start, end } = c;
    const fast = scanner?.usable(buf, end, c.count) === true ? scanner : undefined;
    const diag = this.diag;
    const isConsole = this.kind === 'console';
    const factsOnly = this.factsOnly;
    const cand = factsOnly
      ? wideCandidates(buf, c.count > 0 ? start[0]! : 0, c.count > 0 ? end[c.count - 1]! : 0, this.candidates)
      : undefined;
    let j = 0;
    for (let k = 0; k < c.count; k++) {
      const no = c.firstNo + k;
      const s = start[k]!;
      const e = end[k]!;
      diag.lines = no;
      if (isConsole) {
        if (startsWith(buf, s, e, BEGIN_BYTES)) {
          this.inside = true;
          this.sawBegin = true;
          continue;
        }
        if (startsWith(buf, s, e, END_BYTES)) {
          this.inside = false;
          this.sawEnd = true;
          continue;
        }
      }
      if (cand !== undefined && this.inside && this.traceLines > 0 && buf[s] !== 35) {
        while (cand[j]! < s) j++;
        if (cand[j]! >= e) continue; // no scalable-mode type name in the line
      }
      // A comment line (`#` first) is never an event; the rest may be read from the bytes.
      if (this.inside && fast !== undefined && buf[s] !== 35) {
        const f = fast.scan(buf, s, e, no);
        if (f !== undefined) {
          this.traceLines++;
          this.eventLines++;
          out.push(f);
          continue;
        }
      }
      this.text(buf.toString('utf8', s, e), no, out);
    }
    return out;
  }

  /** A line read as text: an event line parsed by ftrace.ts, a comment, a fact, or a malformed line. */
  private text(text: string, no: number, out: GuestItem[]): void {
    const diag = this.diag;
    if (this.kind === 'console') {
      if (!this.inside) {
        noteFact(text, this.facts);
        return;
      }
    }
    if (!NOT_BLANK.test(text)) return; // (text.trim() === '', without a trimmed copy of every line)
    this.traceLines++;
    if (text.startsWith('#')) {
      const m = ENTRIES.exec(text);
      if (m !== null) {
        this.header ??= { inBuffer: Number(m[1]), line: no };
        if (Number(m[2]) > Number(m[1])) {
          this.facts.lostEvents = Number(m[2]) - Number(m[1]);
          diag.warn(
            `the guest's trace buffer lost ${this.facts.lostEvents} events (entries-in-buffer ${m[1]} < entries-written ${m[2]})`,
            no,
          );
        }
      }
      if (/^#+ CPU \d+ buffer started/.test(text))
        diag.warn(`${text.replace(/#/g, '').trim()}: events of that CPU before this point were lost`, no);
      return;
    }
    const f = parseFtraceLine(text);
    if (f !== undefined) {
      this.eventLines++;
      out.push({ ftrace: f, no });
      return;
    }
    // Kernel messages can reach the serial console in the middle of the dump.
    if (this.kind === 'console' && KERNEL_LOG.test(text)) return;
    this.eventLines++;
    diag.bad(no, 'not an ftrace line');
  }

  /** After the last block: the checks of the whole capture. */
  end(): void {
    const { path, kind, diag, header, eventLines } = this;
    if (kind === 'console' && !this.sawBegin)
      throw new InputFault({ file: path, message: `no "${BEGIN_MARKER}" line: the console holds no guest trace` });
    if (kind === 'console' && this.traceLines === 0)
      throw new InputFault({ file: path, message: 'nothing between the trace markers: the console holds no guest trace' });
    if (kind === 'console' && !this.sawEnd) diag.warn(`no "${END_MARKER}" line: the trace dump may be cut short`);
    // ftrace prints each event in the buffer on one line: a different count means lines were lost,
    // cut off or duplicated after the kernel wrote them (a dump cut short, an edited copy).
    if (header !== undefined && eventLines !== header.inBuffer) {
      const d = eventLines - header.inBuffer;
      diag.warn(
        `the trace holds ${eventLines} event lines but its header says entries-in-buffer ${header.inBuffer}: ${Math.abs(d)} line${Math.abs(d) === 1 ? '' : 's'} ${d < 0 ? 'missing' : 'too many (duplicated?)'}`,
        header.line,
      );
    }
  }
}

/**
 * What a line whose text starts with a scalable-mode qi_submit type name (spec/vtd.md §2.1:
 * `p_iotlb_inv `, `pc_inv `, `p_dev_tlb_inv `) holds: `p_` or `pc_inv ` (ASCII: the same bytes in
 * UTF-8). Two searches a block, not three; a line that holds `p_` elsewhere is only read.
 */
const WIDE_NAMES = ['p_', 'pc_inv '].map((n) => Buffer.from(n, 'latin1'));

/**
 * Where a scalable-mode type name may start in `buf[from, to)` (WIDE_NAMES), in order, ending with
 * `to`, into `out`: a few byte searches a block instead of a look at every line.
 */
function wideCandidates(buf: Buffer, from: number, to: number, out: number[]): number[] {
  out.length = 0;
  for (const name of WIDE_NAMES) {
    for (let i = buf.indexOf(name, from); i >= 0 && i < to; i = buf.indexOf(name, i + 1)) out.push(i);
  }
  if (out.length > 1) out.sort((a, b) => a - b);
  out.push(to);
  return out;
}

/** The ftrace lines of a guest capture, one at a time (readGuestChunks). */
export async function* readGuestTrace(path: string, kind: GuestKind, diag: Diagnostics, facts: GuestFacts): AsyncGenerator<GuestLine> {
  for await (const lines of readGuestChunks(path, kind, diag, facts)) for (const g of lines) if (g.ftrace !== undefined) yield g;
}

/** qi_submit type names of scalable mode (256-bit descriptors, spec/vtd.md §2.1). */
const WIDE_TYPE = /^(p_iotlb_inv|pc_inv|p_dev_tlb_inv) /;
/** The same by type code (qw0[3:0], which a scanned line's name agrees with). */
const WIDE_CODE = Uint8Array.from({ length: 16 }, (_, c) =>
  ['p_iotlb_inv', 'pc_inv', 'p_dev_tlb_inv'].some((n) => QI_TYPE_NAMES[n] === c) ? 1 : 0,
);

/** What the first pass over a guest-only trace found: the facts, and the count of scalable-mode lines. */
export type GuestFactsRead = GuestFacts & { wideTypes: number };

/**
 * Reads only the facts (a first pass for a guest-only trace, whose header must come first), and
 * counts the qi_submit lines of a scalable-mode type. The lines are read from their bytes where
 * they can be (a numeric GuestByteScanner: no BigInt, no string per line), the rest as text: the
 * same lines, facts, counts and errors as reading them all as text.
 *
 * `settled`: the caller needs no more once it holds for what is read so far (asked before the
 * first block and after each). Without --strict the pass stops there: it reports nothing, and the
 * second pass reads every line again, with the same errors. Under --strict it reads on, since it
 * throws the file's first bad line before the second pass starts.
 */
export async function guestFacts(
  path: string,
  kind: GuestKind,
  diag: Diagnostics,
  settled?: (read: GuestFactsRead) => boolean,
): Promise<GuestFactsRead> {
  const facts: GuestFacts = {};
  let wideTypes = 0;
  const stop = diag.strict ? undefined : settled;
  if (stop?.({ ...facts, wideTypes }) === true) return { ...facts, wideTypes };
  // The second pass reports the problems: this one keeps them to itself.
  const quiet = new Diagnostics(diag.file, diag.strict);
  const chunks = readGuestChunks(path, kind, quiet, facts, undefined, new GuestByteScanner(true), undefined, !diag.strict);
  for await (const lines of chunks) {
    wideTypes += wideIn(lines);
    if (stop?.({ ...facts, wideTypes }) === true) break;
  }
  return { ...facts, wideTypes };
}

/** The event lines of a block that submit a scalable-mode descriptor type. */
function wideIn(lines: readonly GuestItem[]): number {
  let n = 0;
  for (const g of lines) {
    if (g.ftrace === undefined) n += g.words === 4 ? WIDE_CODE[g.halves[0]! & 15]! : 0;
    else if (g.ftrace.event === 'qi_submit' && WIDE_TYPE.test(g.ftrace.text)) n++;
  }
  return n;
}
