// What `invtrace report` reports on, once cli/inputs.ts has resolved the command line (captures
// and scenarios are ingested there, into OUT/trace.arrow): a trace to replay, whose result tables
// go into OUT/results, or a replay output folder (replay.json and the result tables) with its
// trace.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RESULT_TABLES } from '../../formats/input-kind.js';
import { InputFault } from '../../formats/result.js';
import { DEFAULT_COSTS, loadCosts, type Costs } from '../../replay/cost/params.js';
import type { ReplayOutput } from '../../replay/replayer.js';
import { readReplayJson, runReplay } from '../../replay/run.js';
import { runName } from '../../formats/run-name.js';

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

/** The input as cli/inputs.ts resolved it: a trace to replay, or a replay output folder (and its trace). */
export interface ReportSource {
  /** The Arrow trace (ingested already when captures were given). */
  readonly trace?: string;
  /** A replay output folder to report on instead of replaying. */
  readonly replayDir?: string;
  /** A replay folder whose trace is not there: why. */
  readonly noTrace?: string;
  /** The trace is the one the folder's replay.json names (not given beside it). */
  readonly traceFromFolder?: boolean;
  /** What the user named, for the report's first line. */
  readonly source: string;
  /** A short name for the title. */
  readonly name: string;
}

export async function prepareReport(src: ReportSource, outDir: string, opts: ReportInputOptions): Promise<ReportInput> {
  if (src.replayDir !== undefined) return fromFolder(src.replayDir, src);
  const trace = src.trace;
  if (trace === undefined) throw new InputFault({ message: 'report: give a trace, capture files or a replay output folder' });
  const costs = opts.costsFile ? `\`${opts.costsFile}\`` : 'the spec/costs.md defaults';
  const results = join(outDir, 'results');
  opts.onStage?.(`replaying ${src.source}`);
  const replay = await runReplay(trace, {
    policies: opts.policies,
    outDir: results,
    ...(opts.topologyFile ? { topologyFile: opts.topologyFile } : {}),
    ...(opts.costsFile ? { costsFile: opts.costsFile } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  const costValues = await loadCosts(opts.costsFile);
  return { trace, results, replay, source: src.source, name: src.name, costs, costValues };
}

/** A replay output folder: its replay.json, its tables, and its trace. */
function fromFolder(folder: string, src: ReportSource): ReportInput {
  const file = join(folder, 'replay.json');
  for (const t of RESULT_TABLES) {
    if (!existsSync(join(folder, `${t}.arrow`)))
      throw new InputFault({
        file: join(folder, `${t}.arrow`),
        message: 'missing: a replay output folder holds host_ops, completions, violations and summary',
      });
  }
  const { output: replay, costs: used } = readReplayJson(folder);
  const trace = src.trace;
  if (trace === undefined) {
    throw new InputFault({
      file,
      field: 'trace',
      message: `${src.noTrace ?? 'no trace'}: give it beside the folder (invtrace report ${folder} TRACE.arrow -o DIR)`,
    });
  }
  const defaults = used === undefined || Object.entries(DEFAULT_COSTS).every(([k, v]) => used[k] === undefined || used[k] === v);
  const given = src.traceFromFolder ? replay.trace : src.source;
  const costValues = { ...DEFAULT_COSTS, ...(used ?? {}) } as Costs;
  return {
    trace,
    results: folder,
    replay,
    source: given,
    name: runName([given]),
    costs: defaults ? 'the spec/costs.md defaults' : `the parameters in \`${file}\``,
    costValues,
  };
}
