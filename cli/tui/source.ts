// What `invtrace tui` was given, resolved by cli/inputs.ts: a trace file, capture files to ingest
// first (the TUI ingests them in a worker, with progress), a replay output folder (`replay -o DIR`,
// whose replay.json names its trace; a shared-host folder opens its first VM's), or a trace and a folder.

import { join } from 'node:path';
import { isSharedHostFolder } from '../../formats/input-kind.js';
import { InputFault } from '../../formats/result.js';
import { INPUTS, resolveInputs } from '../inputs.js';

export interface TuiInput {
  /** An Arrow trace to open. */
  readonly trace?: string;
  /** Captures to ingest into a trace first. */
  readonly captures?: readonly string[];
  /** A replay output folder. */
  readonly replayDir?: string;
  /** Why there is no trace (a replay folder whose trace is not there). */
  readonly noTrace?: string;
}

/**
 * A shared-host replay folder (replay T1 T2 … --shared-host -o DIR) opens as its first VM's
 * replay folder (DIR/vm-0, an ordinary one); `DIR/vm-K` opens VM K.
 */
export function sharedHostVm(path: string): string {
  return isSharedHostFolder(path) ? join(path, 'vm-0') : path;
}

export async function resolveTuiInput(paths: readonly string[]): Promise<TuiInput> {
  if (paths.length === 0) throw new InputFault({ message: 'give a trace, capture files or a replay output folder' });
  const i = await resolveInputs(INPUTS.tui, paths.map(sharedHostVm), { ingest: false });
  const replayDir = i.replayDirs[0];
  const dir = replayDir !== undefined ? { replayDir } : {};
  if (i.captures.length > 0) return { captures: i.captures, ...dir };
  const trace = i.traces[0];
  if (trace !== undefined) return { trace, ...dir };
  return { replayDir: replayDir!, noTrace: i.noTrace ?? 'no trace' };
}
