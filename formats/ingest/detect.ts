// Format detection: reads the start of a capture (streaming, gzip or not) and names its format,
// architecture and side:
//   jsonl      a scenario (its header says the arch)
//   qemu-log   QEMU `log` trace backend; vtd_* events: VT-d, smmuv3_*/smmu_* events: SMMUv3
//   ftrace     guest /sys/kernel/tracing/trace text; qi_submit: VT-d, smmu:cmdlist kprobe: SMMUv3
//   console    guest serial console with the trace dumped between @@@@ markers; the kernel log
//              (DMAR / arm-smmu-v3 lines) or the trace inside names the arch

import type { Arch } from '../codec/table.js';
import { BEGIN_MARKER } from '../capture/guest-trace.js';
import { parseFtraceLine } from '../capture/ftrace.js';
import { parseQemuLogLine } from '../capture/qemu-log.js';
import { readLines } from '../lines.js';

export type Side = 'scenario' | 'qemu' | 'guest';

export interface Sniffed {
  readonly format: string;
  readonly arch?: Arch;
}

/** The side of the run a format records. */
export const SIDE_OF: Readonly<Record<string, Side>> = { jsonl: 'scenario', 'qemu-log': 'qemu', ftrace: 'guest', console: 'guest' };

/** Lines read at most before giving up on the architecture (the format is decided much earlier). */
const MAX_LINES = 50_000;

/** The first `n` non-empty lines of a file. */
export async function headLines(path: string, n = 200): Promise<string[]> {
  const out: string[] = [];
  for await (const l of readLines(path)) {
    if (l.text.trim() === '') continue;
    out.push(l.text);
    if (out.length >= n) break;
  }
  return out;
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

export async function sniff(path: string): Promise<Sniffed | undefined> {
  const json = sniffJsonl(await headLines(path));
  if (json) return json;
  let format: string | undefined;
  let n = 0;
  let qemuLines = 0;
  let ftraceLines = 0;
  let kernelLines = 0;
  for await (const l of readLines(path)) {
    const t = l.text;
    if (t.trim() === '') continue;
    if (++n > MAX_LINES) break;
    if (format === undefined) {
      // A capture is mostly lines of its format (a text that quotes a few is not one).
      if (t.startsWith(BEGIN_MARKER) || (KERNEL_LOG.test(t) && ++kernelLines * 2 >= n)) format = 'console';
      else if ((n === 1 && t.startsWith('# tracer:')) || (parseFtraceLine(t) !== undefined && ++ftraceLines * 2 >= n)) format = 'ftrace';
      else {
        const q = parseQemuLogLine(t);
        if (q !== undefined) qemuLines++;
        const arch = q && qemuArch(q.event);
        if (arch && qemuLines * 2 >= n) return { format: 'qemu-log', arch };
      }
      if (format === undefined && n > 200) return undefined;
    }
    if (format === 'ftrace' || format === 'console') {
      const arch = guestArch(t);
      if (arch) return { format, arch };
    }
  }
  return format ? { format } : undefined;
}
