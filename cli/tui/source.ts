// What `invtrace tui` was given: a trace file, capture files to ingest first, a replay output
// folder (`replay -o DIR`, whose replay.json names its trace), or a trace and a folder.

import { open, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { InputFault } from '../../formats/result.js';

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

async function isArrow(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const magic = Buffer.alloc(6);
    await fh.read(magic, 0, 6, 0);
    return magic.toString('latin1') === 'ARROW1';
  } finally {
    await fh.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

export async function resolveTuiInput(paths: readonly string[]): Promise<TuiInput> {
  if (paths.length === 0) throw new InputFault({ message: 'give a trace, capture files or a replay output folder' });
  let trace: string | undefined;
  let replayDir: string | undefined;
  const captures: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new InputFault({ file: p, message: 'no such file or folder' });
    }
    if (st.isDirectory()) {
      if (replayDir !== undefined) throw new InputFault({ file: p, message: `one replay folder at a time (already ${replayDir})` });
      if (!(await exists(join(p, 'replay.json')))) throw new InputFault({ file: p, message: 'not a replay output folder (no replay.json; make one with invtrace replay TRACE -o DIR)' });
      replayDir = p;
    } else if (await isArrow(p)) {
      if (trace !== undefined) throw new InputFault({ file: p, message: `one trace at a time (already ${trace})` });
      trace = p;
    } else captures.push(p);
  }
  if (trace !== undefined && captures.length > 0) throw new InputFault({ file: captures[0]!, message: `a trace (${trace}) and captures together: give one or the other` });
  if (captures.length > 0) return { captures, ...(replayDir ? { replayDir } : {}) };
  if (trace !== undefined) return { trace, ...(replayDir ? { replayDir } : {}) };
  // A replay folder alone: its trace, when replay.json names one that is there (as written, or beside the folder).
  const json = JSON.parse(await readFile(join(replayDir!, 'replay.json'), 'utf8')) as { trace?: unknown };
  const named = typeof json.trace === 'string' ? json.trace : undefined;
  if (named === undefined) return { replayDir: replayDir!, noTrace: 'replay.json names no trace' };
  for (const candidate of isAbsolute(named) ? [named] : [named, join(replayDir!, named), join(replayDir!, '..', named)]) {
    if (await exists(candidate)) return { trace: candidate, replayDir: replayDir! };
  }
  return { replayDir: replayDir!, noTrace: `replay.json names ${named}, which is not there` };
}
