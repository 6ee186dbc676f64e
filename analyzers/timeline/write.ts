// Writes a replay's timeline (events.ts) as a Trace Event Format JSON file, atomically and
// streamed: the trace and the result tables of a replay folder (or tables already in memory) in,
// `{"traceEvents": [...], "displayTimeUnit": "ns", "otherData": {...}}` out. With a size cap the
// file is abandoned (nothing left behind) as soon as it would pass the cap, and the result says so.

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC, type Table } from 'apache-arrow';
import { AtomicFile } from '../../formats/atomic.js';
import { InputFault } from '../../formats/result.js';
import { openTrace } from '../../formats/trace/io.js';
import type { OpKind } from '../../replay/tables.js';
import { timelineEvents, type CompletionRow, type TimelineInput, type TraceEvent, type ViolationRow } from './events.js';
import { readGuest } from './guest.js';
import type { HostOpRow } from './layout.js';

/** The four result tables, as files of a replay folder or in memory. */
export interface ResultTables {
  readonly host_ops: Table;
  readonly completions: Table;
  readonly violations: Table;
  readonly summary: Table;
}

export function readResultTables(dir: string): ResultTables {
  const read = (name: string): Table => {
    const file = join(dir, `${name}.arrow`);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      throw new InputFault({ file, message: 'missing: a replay output folder holds host_ops, completions, violations and summary' });
    }
    try {
      return tableFromIPC(bytes);
    } catch (e) {
      throw new InputFault({ file, message: `not a readable Arrow file: ${(e as Error).message}` });
    }
  };
  return { host_ops: read('host_ops'), completions: read('completions'), violations: read('violations'), summary: read('summary') };
}

/** Column `name` of a result table as an array. */
function values<T>(t: Table, name: string): T[] {
  const c = t.getChild(name);
  if (c === null)
    throw new InputFault({ field: name, message: `missing column of the ${t.schema.metadata.get('invtrace.table') ?? 'result'} table` });
  return Array.from({ length: t.numRows }, (_, i) => c.get(i) as T);
}

/** The timeline input from a trace file and the result tables. */
export async function timelineInput(traceFile: string, t: ResultTables): Promise<TimelineInput> {
  const guest = await readGuest(await openTrace(traceFile));
  const sp = values<string>(t.summary, 'policy');
  const sc = values<number>(t.summary, 'correct');
  const sv = values<number>(t.summary, 'violations');
  const policies = sp.map((policy, i) => ({ policy, correct: Number(sc[i]) === 1, violations: Number(sv[i]) }));

  const hostOps = new Map<string, HostOpRow[]>();
  const h = t.host_ops;
  const [hp, hk] = [values<string>(h, 'policy'), values<OpKind>(h, 'kind')];
  const [hs, hi, hc, he, hb, hcost] = ['seq', 'iommu', 'count', 'entries', 'bytes', 'cost_us'].map((n) => values<number | bigint>(h, n));
  for (let r = 0; r < h.numRows; r++) {
    const row: HostOpRow = {
      seq: Number(hs![r]),
      kind: hk[r]!,
      iommu: Number(hi![r]),
      count: Number(hc![r]),
      entries: Number(he![r]),
      bytes: Number(hb![r]),
      costNs: Math.round(Number(hcost![r]) * 1000),
    };
    const list = hostOps.get(hp[r]!);
    if (list) list.push(row);
    else hostOps.set(hp[r]!, [row]);
  }

  const c = t.completions;
  const [cp, cs, cd, cc, cl] = [
    values<string>(c, 'policy'),
    values<number>(c, 'seq'),
    values<number>(c, 'doorbell_seq'),
    values<number>(c, 'completed'),
    values<number | null>(c, 'latency_us'),
  ];
  const completions: CompletionRow[] = cp.map((policy, i) => ({
    policy,
    seq: cs[i]!,
    doorbell_seq: cd[i]!,
    completed: Number(cc[i]) === 1,
    latency_us: cl[i] ?? null,
  }));

  const v = t.violations;
  const [vp, vs, vk, vsc, ve] = [
    values<string>(v, 'policy'),
    values<number>(v, 'seq'),
    values<string>(v, 'kind'),
    values<string>(v, 'scope'),
    values<string>(v, 'explanation'),
  ];
  const violations: ViolationRow[] = vp.map((policy, i) => ({ policy, seq: vs[i]!, kind: vk[i]!, scope: vsc[i]!, explanation: ve[i]! }));

  return { guest, policies, hostOps, completions, violations };
}

export interface TimelineFileResult {
  readonly path: string;
  readonly written: boolean;
  readonly bytes: number;
  readonly events: number;
  /** Events per track (`process / thread`), metadata left out. */
  readonly tracks: Readonly<Record<string, number>>;
  /** Why it was not written. */
  readonly reason?: string;
}

export interface TimelineWriteOptions {
  /** Give up (write nothing) past this many bytes. */
  readonly capBytes?: number;
}

const mib = (bytes: number, digits: number) => (bytes / (1 << 20)).toFixed(digits);

/** Why a timeline past the size cap was not written: `why`, and how to change or pass the cap. */
const overCap = (why: string) => `${why} (INVTRACE_TIMELINE_CAP_MB; invtrace timeline writes it whatever its size)`;

/** Writes the timeline of `input` to `out`. */
export function writeTimeline(input: TimelineInput, out: string, opts: TimelineWriteOptions = {}): TimelineFileResult {
  const file = new AtomicFile(out);
  const enc = new TextEncoder();
  const names = new Map<string, string>();
  const tracks: Record<string, number> = {};
  let events = 0;
  let chunk = '';
  let bytes = 0;
  const flush = () => {
    const b = enc.encode(chunk);
    bytes += b.byteLength;
    file.write(b);
    chunk = '';
  };
  const cap = opts.capBytes ?? Infinity;
  const giveUp = (why: string): TimelineFileResult => {
    file.abort();
    return { path: out, written: false, bytes, events, tracks, reason: overCap(why) };
  };
  try {
    chunk = '{"traceEvents":[\n';
    for (const e of timelineEvents(input)) {
      chunk += `${events === 0 ? '' : ',\n'}${JSON.stringify(e)}`;
      events++;
      count(e, names, tracks);
      if (chunk.length > 1 << 20) {
        flush();
        if (bytes > cap) return giveUp(`it would pass the size cap of ${mib(cap, 0)} MiB`);
      }
    }
    const other = {
      trace: input.guest.file,
      arch: input.guest.arch,
      clock: 'modelled µs per policy (docs/timeline.md)',
      policies: input.policies.map((p) => p.policy).join(', '),
    };
    chunk += `\n],"displayTimeUnit":"ns","otherData":${JSON.stringify(other)}}\n`;
    flush();
    if (bytes > cap) return giveUp(`it is ${mib(bytes, 1)} MiB, past the size cap of ${mib(cap, 0)} MiB`);
    file.commit();
  } catch (e) {
    file.abort();
    throw e;
  }
  return { path: out, written: true, bytes, events, tracks };
}

function count(e: TraceEvent, names: Map<string, string>, tracks: Record<string, number>): void {
  if (e.ph === 'M') {
    if (e.name === 'process_name') names.set(`${e.pid}`, String(e.args?.name));
    if (e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, String(e.args?.name));
    return;
  }
  const key = `${names.get(`${e.pid}`) ?? e.pid} / ${names.get(`${e.pid}:${e.tid}`) ?? e.tid}`;
  tracks[key] = (tracks[key] ?? 0) + 1;
}

/**
 * About how many bytes of JSON a replay folder's timeline takes: each host_ops and completions row
 * becomes one or two events of ~130 bytes, about 5.6 times its Arrow size (vtd-legacy-strict under
 * every policy: 28 + 3.6 MiB of tables, 158 MiB of timeline). Used to skip a timeline far past
 * the cap before reading the tables into memory.
 */
export function estimateTimelineBytes(resultsDir: string): number {
  const size = (t: string) => {
    try {
      return statSync(join(resultsDir, `${t}.arrow`)).size;
    } catch {
      return 0;
    }
  };
  return Math.round(5.6 * (size('host_ops') + size('completions')));
}

/** The timeline of a trace and its replay folder, written to `out`. */
export async function writeTimelineFile(
  traceFile: string,
  resultsDir: string,
  out: string,
  opts: TimelineWriteOptions = {},
): Promise<TimelineFileResult> {
  const cap = opts.capBytes ?? Infinity;
  const guess = estimateTimelineBytes(resultsDir);
  if (guess > 2 * cap) {
    return {
      path: out,
      written: false,
      bytes: 0,
      events: 0,
      tracks: {},
      reason: overCap(`it would take about ${mib(guess, 0)} MiB, past the size cap of ${mib(cap, 0)} MiB`),
    };
  }
  return writeTimeline(await timelineInput(traceFile, readResultTables(resultsDir)), out, opts);
}
