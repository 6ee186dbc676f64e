// What every command reads, resolved in one place: an Arrow trace, capture files of one run (a
// QEMU log, a guest trace or console, or both) or a JSONL scenario, ingested on the fly, a replay
// output folder (replay -o DIR), a Parquet result dataset (replay --parquet, ci --out), or a plain
// folder of Arrow tables (sql). Each command says what it accepts; anything else is a one-line
// usage error saying what the command takes (exit 2). Ingesting prints its one-line summary on
// stderr; `--keep-trace FILE` keeps the ingested trace, otherwise it lives in a temporary folder
// that `close()` removes.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathKind, replayFolderTrace, type PathKind } from '../formats/input-kind.js';
import type { IngestSummary } from '../formats/ingest/ingest.js';
import { InputFault } from '../formats/result.js';
import { runName } from '../formats/run-name.js';
import { UsageError } from './run.js';
import { writeErr } from './stdio.js';

/** What a command can take. `replay-folder` alone means the folder's results; `folder-trace` means a replay folder stands for the trace its replay.json names. */
export type Accept = 'trace' | 'captures' | 'replay-folder' | 'folder-trace' | 'dataset' | 'folder';

export interface InputSpec {
  /** The command, for messages. */
  readonly command: string;
  readonly accepts: readonly Accept[];
  /** Several traces and folders at once (sql); otherwise one trace, one run of captures, or one folder (with its trace). */
  readonly several?: boolean;
}

export interface ResolveOptions {
  /** Keep the ingested trace here (--keep-trace). */
  readonly keepTrace?: string;
  /** Where to ingest when --keep-trace is not given (replay -o DIR: DIR/trace.arrow); default a temporary file. */
  readonly ingestTo?: string;
  /** Called before ingesting (progress lines). */
  readonly onStage?: (stage: string) => void;
  /** Print the ingest summary on stderr (default true). */
  readonly summary?: boolean;
  /** Leave captures to the caller (the TUI ingests them in a worker with progress): they come back in `captures`. */
  readonly ingest?: boolean;
}

export interface Ingested {
  readonly trace: string;
  readonly from: readonly string[];
  readonly summary: IngestSummary;
}

export interface Inputs {
  /** Arrow traces ready to open (an ingested one included), in the order given. */
  readonly traces: readonly string[];
  /** Replay output folders. */
  readonly replayDirs: readonly string[];
  /** Parquet result datasets. */
  readonly datasets: readonly string[];
  /** Plain folders (sql: every *.arrow in them). */
  readonly folders: readonly string[];
  /** Captures ingested on the fly (the first run of them). */
  readonly ingested?: Ingested;
  /** Every run of captures ingested (sql takes several). */
  readonly ingestedRuns: readonly Ingested[];
  /** Captures left to the caller (ResolveOptions.ingest false). */
  readonly captures: readonly string[];
  /** A replay folder given alone whose trace is not there: why. */
  readonly noTrace?: string;
  /** The trace is the one a replay folder's replay.json names. */
  readonly traceFromFolder?: boolean;
  /** What the user named, for a first line (`a.log.gz + b.txt.gz`, or the path). */
  readonly source: string;
  /** A short name: the run of a capture pair (`vtd-legacy-strict`) or the file name. */
  readonly name: string;
  /** The one trace of a single-trace command (throws when there is none). */
  oneTrace(): string;
  /** Removes the temporary ingested trace, if any. */
  close(): void;
}

const TAKES: Record<Accept, string> = {
  trace: 'a trace (.arrow)',
  captures: 'capture files of one run or a JSONL scenario',
  'replay-folder': 'a replay output folder (replay -o DIR)',
  'folder-trace': 'a replay output folder (its trace)',
  dataset: 'a Parquet result dataset (replay --parquet, ci --out)',
  folder: 'a folder of Arrow tables',
};

const IS: Record<PathKind, string> = {
  trace: 'an Arrow trace',
  capture: 'a capture or scenario file',
  'replay-folder': 'a replay output folder',
  dataset: 'a Parquet result dataset',
  folder: 'a folder that is not a replay output',
};

/** `info takes a trace (.arrow), capture files of one run or a JSONL scenario, or a replay output folder (its trace)`. */
export function takesText(spec: InputSpec): string {
  const parts = spec.accepts.filter((a) => !(a === 'folder-trace' && spec.accepts.includes('replay-folder'))).map((a) => TAKES[a]);
  const list = parts.length > 1 ? `${parts.slice(0, -1).join(', ')}, or ${parts[parts.length - 1]}` : (parts[0] ?? 'nothing');
  return `${spec.command} takes ${list}${spec.several ? ' (several of them)' : ''}`;
}

const n = (v: number) => v.toLocaleString('en-US');

/** The one-line ingest summary printed on stderr. */
export function ingestLine(s: IngestSummary, trace: string, temporary: boolean): string {
  const counts = s.commands !== undefined ? `, ${n(s.commands)} commands, ${n(s.doorbells ?? 0)} doorbells` : '';
  const warn = s.warnings.length ? `, ${s.warnings.length} warning${s.warnings.length === 1 ? '' : 's'} (invtrace ingest shows them)` : '';
  return `ingested ${s.inputs.join(' + ')} (${s.format}${s.origin ? `, ${s.origin}` : ''}): ${s.arch} trace, ${n(s.rows)} events${counts}${warn}${temporary ? '' : ` -> ${trace}`}`;
}

export async function resolveInputs(spec: InputSpec, paths: readonly string[], opts: ResolveOptions = {}): Promise<Inputs> {
  const fail = (p: string, kind: PathKind): never => {
    throw new UsageError(`${takesText(spec)}; ${p} is ${IS[kind]}`);
  };
  if (paths.length === 0) throw new UsageError(`${takesText(spec)}; none given`);
  const has = (a: Accept) => spec.accepts.includes(a);
  const traces: string[] = [];
  const captures: string[] = [];
  const replayDirs: string[] = [];
  const datasets: string[] = [];
  const folders: string[] = [];
  for (const p of paths) {
    const kind = pathKind(p);
    switch (kind) {
      case 'trace':
        if (!has('trace')) fail(p, kind);
        traces.push(p);
        break;
      case 'capture':
        if (!has('captures')) fail(p, kind);
        captures.push(p);
        break;
      case 'replay-folder':
        if (!has('replay-folder') && !has('folder-trace')) fail(p, kind);
        replayDirs.push(p);
        break;
      case 'dataset':
        if (!has('dataset')) fail(p, kind);
        datasets.push(p);
        break;
      case 'folder':
        if (!has('folder')) {
          throw new UsageError(`${takesText(spec)}; ${p} is a folder without a replay.json (write one with invtrace replay TRACE -o DIR)`);
        }
        folders.push(p);
        break;
    }
  }
  if (!spec.several) {
    if (traces.length > 1) throw new UsageError(`${spec.command}: one trace at a time (got ${traces.join(', ')})`);
    if (replayDirs.length > 1) throw new UsageError(`${spec.command}: one replay output folder at a time (got ${replayDirs.join(', ')})`);
    if (captures.length > 0 && traces.length > 0) {
      throw new UsageError(
        `${spec.command}: give capture files alone (they are ingested into a trace), or a trace; not both (${captures[0]}, ${traces[0]})`,
      );
    }
  }
  let noTrace: string | undefined;
  let traceFromFolder = false;
  // A replay folder alone stands for its trace where the command needs one.
  if (traces.length === 0 && captures.length === 0 && replayDirs.length === 1 && (has('folder-trace') || !spec.several)) {
    const r = replayFolderTrace(replayDirs[0]!);
    if (r.trace !== undefined) {
      traces.push(r.trace);
      traceFromFolder = true;
    } else if (!has('replay-folder')) {
      throw new InputFault({
        file: join(replayDirs[0]!, 'replay.json'),
        field: 'trace',
        message: `${r.why}: give the trace (or its captures) instead of the folder`,
      });
    } else noTrace = r.why;
  }
  // For one trace, every capture is of one run. sql takes several runs: captures group by their run
  // name (qemu-X.log.gz + guest-X.txt.gz: X), so a scenario is a run of its own.
  const runs = new Map<string, string[]>();
  if (spec.several) for (const c of captures) runs.set(runName([c]), [...(runs.get(runName([c])) ?? []), c]);
  else if (captures.length > 0) runs.set(runName(captures), captures);
  const ingestedRuns: Ingested[] = [];
  let temp: string | undefined;
  const cleanup = () => {
    if (temp !== undefined) rmSync(temp, { recursive: true, force: true });
    temp = undefined;
  };
  if (opts.ingest !== false) {
    for (const [name, files] of runs) {
      let out = runs.size === 1 ? (opts.keepTrace ?? opts.ingestTo) : undefined;
      if (out === undefined) {
        temp ??= mkdtempSync(join(tmpdir(), 'invtrace-ingest-'));
        out = join(temp, `${name.replace(/[^A-Za-z0-9._-]+/g, '_') || 'trace'}.arrow`);
      } else mkdirSync(dirname(out), { recursive: true });
      opts.onStage?.(`ingesting ${files.join(' + ')}`);
      let summary: IngestSummary;
      try {
        // Loaded only when captures come (a trace, the usual input, needs none of it).
        const { ingest } = await import('../formats/ingest/ingest.js');
        summary = await ingest(files, { output: out });
      } catch (e) {
        cleanup();
        throw e;
      }
      const temporary = temp !== undefined && out.startsWith(temp);
      if (opts.summary !== false) writeErr(`${ingestLine(summary, out, temporary)}\n`);
      ingestedRuns.push({ trace: out, from: files, summary });
      traces.push(out);
    }
  }
  const ingested = ingestedRuns[0];
  const named = captures.length ? captures : traces.length ? traces : [...replayDirs, ...datasets, ...folders];
  const source = captures.length ? captures.join(' + ') : named.join(', ');
  const result: Inputs = {
    traces,
    captures: opts.ingest === false ? captures : [],
    replayDirs,
    datasets,
    folders,
    ...(ingested ? { ingested } : {}),
    ingestedRuns,
    ...(noTrace ? { noTrace } : {}),
    ...(traceFromFolder ? { traceFromFolder } : {}),
    source,
    name: runName(named),
    oneTrace() {
      const t = traces[0];
      if (t === undefined) throw new UsageError(`${takesText(spec)}; no trace among ${paths.join(', ')}`);
      return t;
    },
    close: cleanup,
  };
  return result;
}

/** Runs `body` with the inputs resolved, then removes what was ingested into a temporary folder. */
export async function withInputs<T>(
  spec: InputSpec,
  paths: readonly string[],
  opts: ResolveOptions,
  body: (i: Inputs) => Promise<T>,
): Promise<T> {
  const inputs = await resolveInputs(spec, paths, opts);
  try {
    return await body(inputs);
  } finally {
    inputs.close();
  }
}

/** What each command accepts (one table, so the help texts and the checks agree). */
export const INPUTS = {
  info: { command: 'info', accepts: ['trace', 'captures', 'folder-trace'] },
  export: { command: 'export', accepts: ['trace', 'captures', 'folder-trace'] },
  replay: { command: 'replay', accepts: ['trace', 'captures', 'folder-trace'] },
  compare: { command: 'compare', accepts: ['trace', 'captures', 'replay-folder'] },
  timeline: { command: 'timeline', accepts: ['trace', 'captures', 'replay-folder'] },
  report: { command: 'report', accepts: ['trace', 'captures', 'replay-folder'] },
  tui: { command: 'tui', accepts: ['trace', 'captures', 'replay-folder'] },
  sql: { command: 'sql', accepts: ['trace', 'captures', 'replay-folder', 'dataset', 'folder'], several: true },
} as const satisfies Record<string, InputSpec>;

/** One trace or replay folder as the report and timeline builders take it. */
export function sourceOf(i: Inputs): {
  trace?: string;
  replayDir?: string;
  noTrace?: string;
  traceFromFolder?: boolean;
  source: string;
  name: string;
} {
  return {
    ...(i.traces[0] !== undefined ? { trace: i.traces[0] } : {}),
    ...(i.replayDirs[0] !== undefined ? { replayDir: i.replayDirs[0] } : {}),
    ...(i.noTrace !== undefined ? { noTrace: i.noTrace } : {}),
    ...(i.traceFromFolder ? { traceFromFolder: true } : {}),
    source: i.source,
    name: i.name,
  };
}

/**
 * For a command whose argument is not an input of this module (gen's workload name, ingest's
 * captures): a one-line usage error when `arg` is a path of another kind than `allowed`.
 */
export function refuseInput(command: string, takes: string, arg: string, allowed: readonly PathKind[] = []): void {
  if (!existsSync(arg)) return;
  const kind = pathKind(arg);
  if (!allowed.includes(kind)) throw new UsageError(`${command} takes ${takes}; ${arg} is ${IS[kind]}`);
}
