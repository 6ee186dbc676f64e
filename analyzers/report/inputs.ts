// What `invtrace report` reads: a trace (.arrow) to replay; capture files or a JSONL scenario to
// ingest first (into OUT/trace.arrow); or a replay output folder (replay.json and the result
// tables), with its trace named by replay.json or given beside it. A replay writes its result
// tables into OUT/results.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { ingest } from '../../formats/ingest/ingest.js';
import { InputFault } from '../../formats/result.js';
import { DEFAULT_COSTS, loadCosts, type Costs } from '../../replay/cost/params.js';
import type { ReplayOutput } from '../../replay/engine.js';
import { runReplay } from '../../replay/run.js';

export interface ReportInputOptions {
  readonly policies: readonly string[];
  readonly topologyFile?: string;
  readonly costsFile?: string;
  readonly onProgress?: (rows: number) => void;
  /** Called when a stage starts (ingest, replay), for progress lines. */
  readonly onStage?: (stage: string) => void;
}

export interface ReportInput {
  /** The trace replayed (an .arrow file). */
  readonly trace: string;
  /** The folder of result tables. */
  readonly results: string;
  readonly replay: ReplayOutput;
  /** What the user named, for the report's first line. */
  readonly source: string;
  /** A short name for the title: the run of a capture pair, or the file name. */
  readonly name: string;
  /** The cost parameters, for a reader: the defaults or a file. */
  readonly costs: string;
  /** Their values. */
  readonly costValues: Costs;
}

export const RESULT_TABLES = ['host_ops', 'completions', 'violations', 'summary'] as const;

export async function prepareReport(inputs: readonly string[], outDir: string, opts: ReportInputOptions): Promise<ReportInput> {
  if (inputs.length === 0) throw new InputFault({ message: 'report: give a trace, capture files or a replay output folder' });
  const folders: string[] = [];
  const traces: string[] = [];
  const captures: string[] = [];
  for (const p of inputs) {
    let dir: boolean;
    try {
      dir = statSync(p).isDirectory();
    } catch {
      throw new InputFault({ file: p, message: 'no such file or folder' });
    }
    (dir ? folders : p.endsWith('.arrow') ? traces : captures).push(p);
  }
  if (folders.length > 1) throw new InputFault({ file: folders[1]!, message: 'one replay output folder at a time' });
  if (traces.length > 1) throw new InputFault({ file: traces[1]!, message: 'one trace at a time (several capture files of one run are fine)' });
  if (captures.length > 0 && (folders.length > 0 || traces.length > 0)) {
    throw new InputFault({ file: captures[0]!, message: 'give capture files alone (they are ingested), or a trace, or a replay output folder' });
  }
  if (folders.length === 1) return fromFolder(folders[0]!, traces[0]);
  const costs = opts.costsFile ? `\`${opts.costsFile}\`` : 'the spec/costs.md defaults';
  let trace = traces[0];
  if (trace === undefined) {
    trace = join(outDir, 'trace.arrow');
    opts.onStage?.(`ingesting ${captures.join(' + ')}`);
    await ingest(captures, { output: trace });
  }
  const results = join(outDir, 'results');
  opts.onStage?.(`replaying ${traces[0] ?? trace}`);
  const replay = await runReplay(trace, {
    policies: opts.policies,
    outDir: results,
    ...(opts.topologyFile ? { topologyFile: opts.topologyFile } : {}),
    ...(opts.costsFile ? { costsFile: opts.costsFile } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  const costValues = await loadCosts(opts.costsFile);
  return { trace, results, replay, source: traces[0] ?? captures.join(' + '), name: runName(traces.length ? traces : captures), costs, costValues };
}

/** `qemu-vtd-legacy-strict.log.gz` + `guest-vtd-legacy-strict.txt.gz` → `vtd-legacy-strict`; a file's name without its extensions otherwise. */
export function runName(files: readonly string[]): string {
  const names = [...new Set(files.map((f) => basename(f).replace(/(\.(gz|log|txt|jsonl|arrow))+$/, '').replace(/^(qemu|guest|console)-/, '')))];
  return names.join(' + ');
}

/** A replay output folder: its replay.json, its tables, and its trace. */
function fromFolder(folder: string, given: string | undefined): ReportInput {
  const file = join(folder, 'replay.json');
  if (!existsSync(file)) throw new InputFault({ file: folder, message: 'not a replay output folder: no replay.json (write one with invtrace replay TRACE -o DIR)' });
  for (const t of RESULT_TABLES) {
    if (!existsSync(join(folder, `${t}.arrow`))) throw new InputFault({ file: join(folder, `${t}.arrow`), message: 'missing: a replay output folder holds host_ops, completions, violations and summary' });
  }
  let json: ReplayOutput & { costs?: Record<string, number> };
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as typeof json;
  } catch (e) {
    throw new InputFault({ file, message: `not valid JSON (${(e as Error).message})` });
  }
  if (!Array.isArray(json.policies) || typeof json.trace !== 'string') throw new InputFault({ file, field: 'policies', message: 'not a replay.json written by invtrace replay' });
  const named = json.trace;
  const candidates = given !== undefined ? [given] : isAbsolute(named) ? [named] : [resolve(named), resolve(folder, named)];
  const trace = candidates.find((c) => existsSync(c));
  if (trace === undefined) {
    throw new InputFault({ file, field: 'trace', message: `the trace it names (${named}) is not there: give it beside the folder (invtrace report ${folder} TRACE.arrow -o DIR)` });
  }
  const { costs: used, ...replay } = json;
  const defaults = used === undefined || Object.entries(DEFAULT_COSTS).every(([k, v]) => used[k] === v);
  const costValues = { ...DEFAULT_COSTS, ...(used ?? {}) } as Costs;
  return { trace, results: folder, replay, source: given ?? named, name: runName([given ?? named]), costs: defaults ? 'the spec/costs.md defaults' : `the parameters in \`${file}\``, costValues };
}
