// Lines of QEMU's `log` trace backend (`-trace events=FILE -D FILE`), spec/vtd.md §6.5 and
// spec/smmuv3.md §6.4. Three prefixes exist across QEMU versions, all accepted:
//
//   16052@1795239932.296064:vtd_inv_qi_head read head 100       tid@sec.usec: (-msg timestamp=on, ≤ 10.0)
//   2025-07-21T18:43:28.089797Z smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC     ISO-8601 UTC (≥ 10.1)
//   vtd_inv_qi_fetch                                               none (no timestamps)
//
// plus the optional `[workload] prog: (tid:threadname): ` context some newer builds print first.
// Only the prefix and the event name are read here; qemu-vtd.ts and qemu-smmuv3.ts parse the
// arguments of each event.

import { readLines, type Line } from '../lines.js';

export interface QemuLogLine {
  /** Trace event name, e.g. `vtd_inv_desc`, `smmuv3_cmdq_consume`. */
  readonly event: string;
  /** The formatted arguments after the name (trailing blanks removed; '' when none). */
  readonly args: string;
  /** Host thread id (tid@ prefix, or the context prefix), when printed. */
  readonly tid?: number;
  /** Host time in ns since the Unix epoch, when printed. */
  readonly ts_ns?: bigint;
}

// Event names are lower-case identifiers with at least one underscore (group_event).
const NAME = '([a-z0-9]+_[a-z0-9_]*)';
const TID_PREFIX = new RegExp(`^(\\d+)@(\\d+)\\.(\\d+):${NAME}(?:\\s(.*))?$`);
const ISO_PREFIX = new RegExp(`^(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d)(?:\\.(\\d{1,9}))?Z\\s+${NAME}(?:\\s(.*))?$`);
const BARE = new RegExp(`^${NAME}(?:\\s(.*))?$`);
const CONTEXT = /^\[[^\]]*\]\s+\S+:\s+\((\d+):[^)]*\):\s+/;

const frac = (digits: string | undefined): bigint => (digits ? BigInt(digits.padEnd(9, '0').slice(0, 9)) : 0n);
const argsOf = (s: string | undefined): string => (s === undefined ? '' : s.trimEnd());

/** Parses one log line; undefined when it is not a trace line (empty, or some other output). */
export function parseQemuLogLine(text: string): QemuLogLine | undefined {
  let s = text;
  let tid: number | undefined;
  const ctx = CONTEXT.exec(s);
  if (ctx !== null) {
    tid = Number(ctx[1]);
    s = s.slice(ctx[0].length);
  }
  const c0 = s.charCodeAt(0);
  if (c0 >= 48 && c0 <= 57) {
    let m = TID_PREFIX.exec(s);
    if (m !== null) {
      const ts = BigInt(m[2]!) * 1_000_000_000n + frac(m[3]!.padStart(6, '0'));
      return { event: m[4]!, args: argsOf(m[5]), tid: Number(m[1]), ts_ns: ts };
    }
    m = ISO_PREFIX.exec(s);
    if (m !== null) {
      const ms = Date.parse(`${m[1]}Z`);
      if (Number.isNaN(ms)) return undefined;
      const ts = BigInt(ms) * 1_000_000n + frac(m[2]);
      return { event: m[3]!, args: argsOf(m[4]), ...(tid !== undefined ? { tid } : {}), ts_ns: ts };
    }
    return undefined;
  }
  const m = BARE.exec(s);
  if (m === null) return undefined;
  return { event: m[1]!, args: argsOf(m[2]), ...(tid !== undefined ? { tid } : {}) };
}

export interface ReadQemuLogOptions {
  /** Called for each non-empty line that is not a trace line (the line is skipped). */
  readonly onMalformed?: (line: Line) => void;
}

/** Every trace line of a QEMU log (gzip read transparently), with its 1-based line number. */
export async function* readQemuLog(path: string, opts: ReadQemuLogOptions = {}): AsyncGenerator<QemuLogLine & { readonly no: number }> {
  for await (const line of readLines(path)) {
    const p = parseQemuLogLine(line.text);
    if (p !== undefined) {
      yield { ...p, no: line.no };
      continue;
    }
    if (line.text.trim() !== '') opts.onMalformed?.(line);
  }
}
