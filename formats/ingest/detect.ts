// Format detection: reads the start of a capture once (a plain file by `fs.read` into reused
// buffers, gzip streaming) and names its format, architecture and side:
//   jsonl      a scenario (its header says the arch)
//   qemu-log   QEMU `log` trace backend; vtd_* events: VT-d, smmuv3_*/smmu_* events: SMMUv3
//   ftrace     guest /sys/kernel/tracing/trace text; qi_submit: VT-d, smmu:cmdlist kprobe: SMMUv3
//   console    guest serial console with the trace dumped between @@@@ markers; the kernel log
//              (DMAR / arm-smmu-v3 lines) or the trace inside names the arch

import type { Arch } from '../codec/table.js';
import { BEGIN_MARKER } from '../capture/guest-trace.js';
import { parseFtraceLine } from '../capture/ftrace.js';
import { parseQemuLogLine } from '../capture/qemu-log.js';
import { readLineChunks } from '../lines.js';

export type Side = 'scenario' | 'qemu' | 'guest';

export interface Sniffed {
  readonly format: string;
  readonly arch?: Arch;
}

/** The side of the run a format records. */
export const SIDE_OF: Readonly<Record<string, Side>> = { jsonl: 'scenario', 'qemu-log': 'qemu', ftrace: 'guest', console: 'guest' };

/** Lines read at most before giving up on the architecture (the format is decided much earlier). */
const MAX_LINES = 50_000;
/** Lines a JSONL header is looked for in. */
const HEAD_LINES = 200;
/** Bytes per block read while sniffing (a plain file: two reused buffers of it, lines.ts). */
const SNIFF_BLOCK = 1 << 18;

/**
 * The non-empty lines of a file as text, read once: a plain file through `fs.read` into reused
 * buffers (no stream to set up and iterate for what is mostly one block), gzip through the stream.
 */
async function* nonEmptyLines(path: string): AsyncGenerator<string> {
  for await (const c of readLineChunks(path, { reuse: true, block: SNIFF_BLOCK })) {
    for (let k = 0; k < c.count; k++) {
      const t = c.buf.toString('utf8', c.start[k], c.end[k]);
      if (t.trim() !== '') yield t;
    }
  }
}

function sniffJsonl(lines: readonly string[]): Sniffed | undefined {
  const body = lines.filter((l) => !l.trim().startsWith('#'));
  if (!body[0]?.trim().startsWith('{')) return undefined;
  // A JSONL header: one line, or a few until the object closes.
  for (let n = 1; n <= Math.min(body.length, 64); n++) {
    try {
      const h = JSON.parse(body.slice(0, n).join('\n')) as { invtrace?: unknown; arch?: unknown };
      if (h.invtrace === undefined) break;
      return { format: 'jsonl', ...(h.arch === 'smmuv3' || h.arch === 'vtd' ? { arch: h.arch } : {}) };
    } catch {
      /* keep reading the header */
    }
  }
  return undefined;
}

const KERNEL_LOG = /^\[\s*\d+\.\d+\]/;

function qemuArch(event: string): Arch | undefined {
  if (event.startsWith('vtd_')) return 'vtd';
  if (event.startsWith('smmuv3_') || event.startsWith('smmu_')) return 'smmuv3';
  return undefined;
}

function guestArch(text: string): Arch | undefined {
  const f = parseFtraceLine(text);
  if (f !== undefined) return f.event === 'qi_submit' ? 'vtd' : f.event === 'cmdlist' ? 'smmuv3' : undefined;
  if (/\bDMAR(-IR)?:/.test(text)) return 'vtd';
  if (/\barm-smmu-v3\b/.test(text)) return 'smmuv3';
  return undefined;
}

/**
 * The format of a file from its first lines: a JSONL header among the first `HEAD_LINES` non-empty
 * lines, else the kind of line the capture is mostly made of (`FormatGuess`), read on from the
 * start. One pass: the head is kept and guessed from before the rest is read.
 */
export async function sniff(path: string): Promise<Sniffed | undefined> {
  const lines = nonEmptyLines(path);
  try {
    const head: string[] = [];
    while (head.length < HEAD_LINES) {
      const r = await lines.next();
      if (r.done === true) break;
      head.push(r.value);
    }
    const json = sniffJsonl(head);
    if (json) return json;
    const guess = new FormatGuess();
    for (const t of head) {
      const v = guess.line(t);
      if (v !== MORE) return v;
    }
    for await (const t of lines) {
      const v = guess.line(t);
      if (v !== MORE) return v;
    }
    return guess.end();
  } finally {
    await lines.return(undefined);
  }
}

/** `FormatGuess.line`: no verdict yet, read on. */
const MORE = Symbol('more');

/** The format and architecture of a capture, guessed a non-empty line at a time. */
class FormatGuess {
  private n = 0;
  private format: string | undefined;
  private qemuLines = 0;
  private ftraceLines = 0;
  private kernelLines = 0;

  /** The verdict this line gives (a format, or undefined: none), or MORE. */
  line(t: string): Sniffed | undefined | typeof MORE {
    if (++this.n > MAX_LINES) return this.end();
    const n = this.n;
    if (this.format === undefined) {
      // A capture is mostly lines of its format (a text that quotes a few is not one).
      if (t.startsWith(BEGIN_MARKER) || (KERNEL_LOG.test(t) && ++this.kernelLines * 2 >= n)) this.format = 'console';
      else if ((n === 1 && t.startsWith('# tracer:')) || (parseFtraceLine(t) !== undefined && ++this.ftraceLines * 2 >= n))
        this.format = 'ftrace';
      else {
        const q = parseQemuLogLine(t);
        if (q !== undefined) this.qemuLines++;
        const arch = q && qemuArch(q.event);
        if (arch && this.qemuLines * 2 >= n) return { format: 'qemu-log', arch };
      }
      if (this.format === undefined && n > HEAD_LINES) return undefined;
    }
    if (this.format === 'ftrace' || this.format === 'console') {
      const arch = guestArch(t);
      if (arch) return { format: this.format, arch };
    }
    return MORE;
  }

  /** The verdict at the end of the lines read. */
  end(): Sniffed | undefined {
    return this.format ? { format: this.format } : undefined;
  }
}
