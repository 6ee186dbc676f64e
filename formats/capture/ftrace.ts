// Parsers for guest ftrace text (/sys/kernel/tracing/trace): the standard line prefix, the VT-d
// `intel_iommu:qi_submit` tracepoint and the arm64 `smmu:cmdlist` kprobe on
// arm_smmu_cmdq_issue_cmdlist (spec/vtd.md §7, spec/smmuv3.md §7, captures/README.md).

import { parseU64 } from '../bits.js';

/** `<task>-<pid> [<cpu>] <flags> <secs>: <event>: <text>`; the TGID column and flags are optional. */
const FTRACE_LINE = /^\s*(.*?)-(\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[(\d+)\]\s+(?:(\S{4,6})\s+)?(\d+)\.(\d+):\s+([\w:.]+):\s?(.*)$/;

export interface FtraceLine {
  readonly task: string;
  readonly pid: number;
  readonly cpu: number;
  readonly flags: string;
  /** Timestamp in ns (the trace clock's seconds.micro- or nanoseconds). */
  readonly ts_ns: bigint;
  readonly event: string;
  readonly text: string;
}

export function parseFtraceLine(line: string): FtraceLine | undefined {
  const m = FTRACE_LINE.exec(line);
  if (m === null) return undefined;
  const frac = m[6]!;
  const ns = BigInt(m[5]!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
  return { task: m[1]!, pid: Number(m[2]), cpu: Number(m[3]), flags: m[4] ?? '', ts_ns: ns, event: m[7]!, text: m[8]! };
}

/** Linux's qi_submit type names by qw0[3:0] (spec/vtd.md §2.1, §7). */
export const QI_TYPE_NAMES: Readonly<Record<string, number>> = {
  cc_inv: 0x1,
  iotlb_inv: 0x2,
  dev_tlb_inv: 0x3,
  iec_inv: 0x4,
  inv_wait: 0x5,
  p_iotlb_inv: 0x6,
  pc_inv: 0x7,
  p_dev_tlb_inv: 0x8,
  page_grp_resp: 0x9,
};

export interface QiSubmit {
  /** The type name printed by the tracepoint (or a hex number for unnamed types). */
  readonly type: string;
  readonly iommu: string;
  readonly words: readonly [bigint, bigint, bigint, bigint];
}

/**
 * A qword as parseU64 reads it; `0x` and up to 13 hex digits (what the tracepoint prints for most
 * words) are read here into one exact number, the rest by parseU64.
 */
function qword(t: string): bigint | undefined {
  const n = t.length;
  if (n < 3 || n > 15 || t.charCodeAt(0) !== 48 || (t.charCodeAt(1) | 32) !== 120) return parseU64(t);
  let v = 0;
  for (let i = 2; i < n; i++) {
    const c = t.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : (c | 32) >= 97 && (c | 32) <= 102 ? (c | 32) - 87 : -1;
    if (d < 0) return undefined; // not hex: parseU64 refuses it too (no blanks inside a \S+ match)
    v = v * 16 + d;
  }
  return BigInt(v);
}

/** `iotlb_inv dmar0: 0x600f2 0xffff8000 0x0 0x0` */
export function parseQiSubmit(text: string): QiSubmit | string {
  const m = /^(\S+)\s+(\S+?):\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$/.exec(text);
  if (m === null) return 'expected "<type> <iommu>: qw0 qw1 qw2 qw3"';
  const w0 = qword(m[3]!);
  const w1 = qword(m[4]!);
  const w2 = qword(m[5]!);
  const w3 = qword(m[6]!);
  if (w0 === undefined || w1 === undefined || w2 === undefined || w3 === undefined) return 'a qword is not a 64-bit hex value';
  const w = [w0, w1, w2, w3];
  const named = QI_TYPE_NAMES[m[1]!];
  const printed = named ?? (parseU64(m[1]!) !== undefined ? Number(parseU64(m[1]!)) : undefined);
  if (printed === undefined) return `unknown descriptor type name ${m[1]}`;
  if (Number(w[0]! & 0xfn) !== printed) return `type name ${m[1]} does not match qw0[3:0] = ${Number(w[0]! & 0xfn)}`;
  return { type: m[1]!, iommu: m[2]!, words: [w[0]!, w[1]!, w[2]!, w[3]!] };
}

export interface CmdList {
  /** Commands the driver passed (only the first `n` recorded pairs are real). */
  readonly n: number;
  /** The driver appends a CMD_SYNC that is not in the array. */
  readonly sync: boolean;
  /** The real commands, as many as the kprobe recorded (min(n, recorded)). */
  readonly cmds: readonly (readonly [bigint, bigint])[];
  /** Commands beyond what the kprobe recorded (n > recorded pairs). */
  readonly missing: number;
  /** Word pairs the kprobe records per event (`cK_0`/`cK_1` for K below this), real or not. */
  readonly recorded: number;
}

const FIELD = /^(\w+)=(\S*)$/;

/**
 * `(arm_smmu_cmdq_issue_cmdlist+0x0/0x72c) n=1 sync=1 c0_0=0x4 c0_1=0x1f c1_0=...`. The kprobe
 * prints every field it records on every event (captures README: `n`, `sync`, then the pairs
 * `cK_0 cK_1` for K = 0..KP_CMDS-1), so a field without a value, a word without its pair or a gap
 * in K is a line cut short or garbled, never commands of zeros.
 */
export function parseCmdList(text: string): CmdList | string {
  const body = text.replace(/^\([^)]*\)\s*/, '');
  const kv = new Map<string, string>();
  for (const tok of body.split(/\s+/)) {
    if (tok === '') continue;
    const m = FIELD.exec(tok);
    if (m === null) return `garbled field "${tok}"`;
    if (m[2] === '') return `field ${m[1]} has no value: the line is cut short`;
    kv.set(m[1]!, m[2]!);
  }
  const n = Number(kv.get('n'));
  const sync = kv.get('sync');
  if (!Number.isInteger(n) || n < 0) return 'missing or bad n=';
  if (sync !== '0' && sync !== '1') return 'missing or bad sync=';
  let recorded = 0;
  while (kv.has(`c${recorded}_0`) || kv.has(`c${recorded}_1`)) {
    if (!kv.has(`c${recorded}_0`) || !kv.has(`c${recorded}_1`))
      return `c${recorded}_${kv.has(`c${recorded}_0`) ? 1 : 0} is missing: the line is cut short`;
    recorded++;
  }
  for (const k of kv.keys()) {
    const m = /^c(\d+)_[01]$/.exec(k);
    if (m !== null && Number(m[1]) >= recorded) return `c${recorded}_0/c${recorded}_1 are missing before ${k}`;
  }
  const cmds: [bigint, bigint][] = [];
  for (let k = 0; k < Math.min(n, recorded); k++) {
    const w0 = parseU64(kv.get(`c${k}_0`)!);
    const w1 = parseU64(kv.get(`c${k}_1`)!);
    if (w0 === undefined || w1 === undefined) return `c${k}: not a 64-bit hex value`;
    cmds.push([w0, w1]);
  }
  return { n, sync: sync === '1', cmds, missing: n - cmds.length, recorded };
}
