// The library entry point (`import { ... } from 'invtrace'`): what the CLI does, as functions.
// Ingest captures into a trace, read a trace and its summary, replay it under mediation policies
// (writing the result tables, or only comparing), open a SQL session over traces and results, and
// write a replay's Perfetto timeline or Parquet dataset. Policies are written against
// 'invtrace/policy' (lib/policy.ts); docs/library.md shows both.

import { traceInfo, type TraceInfo } from '../formats/trace/info.js';
import { openTrace } from '../formats/trace/io.js';
import type { ReplayOutput } from '../replay/replayer.js';
import { runReplay, type RunOptions } from '../replay/run.js';

export { ingest, type IngestOptions, type IngestSummary, type SourceSummary } from '../formats/ingest/ingest.js';
export { openTrace, readTrace, type OpenTrace } from '../formats/trace/io.js';
export type { TraceHeader, Topology } from '../formats/trace/header.js';
export type { TraceInfo } from '../formats/trace/info.js';
export type { ReplayOutput, PolicySummary } from '../replay/replayer.js';
export type { RunOptions as ReplayOptions } from '../replay/run.js';
export { ALL_POLICIES, resolvePolicies } from '../replay/policies/index.js';
export { openSession, type Session, type SessionOptions } from '../analyzers/session.js';
export { writeTimelineFile, type TimelineFileResult } from '../analyzers/timeline/write.js';
export { writeDataset, type DatasetSource } from '../analyzers/dataset/write.js';
export { readDataset } from '../analyzers/dataset/read.js';
export { InputFault, type InputError } from '../formats/result.js';

/** Replays the trace at `path` under `opts.policies` (specs, `all`, or module paths); with `outDir`, writes the result tables and replay.json there. */
export function replay(path: string, opts: RunOptions): Promise<ReplayOutput> {
  return runReplay(path, opts);
}

/** The side-by-side comparison of `compare`: a replay that writes nothing. */
export function compare(path: string, opts: Omit<RunOptions, 'outDir'>): Promise<ReplayOutput> {
  return runReplay(path, opts);
}

/** What `invtrace info` prints: counts per op and role, doorbells, wraps, geometry, span. */
export async function info(path: string): Promise<TraceInfo> {
  return traceInfo(await openTrace(path));
}
