// What a path given to a command is, told from its contents rather than its name: an Arrow trace
// (ARROW1 magic), a replay output folder (replay.json beside the result tables), a Parquet result
// dataset (`table=NAME/...` folders, written by `replay --parquet` and `ci --out`), or anything
// else, which the ingest readers sniff as a capture or JSONL scenario. Also the trace a replay
// folder's replay.json names. cli/inputs.ts decides what each command accepts; CI suites use
// the same rules.

import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { InputFault } from './result.js';

export type PathKind = 'trace' | 'capture' | 'replay-folder' | 'dataset' | 'folder';

/** The result tables of a replay (replay/tables.ts), in the order a replay writes them. */
export const RESULT_TABLES = ['host_ops', 'completions', 'violations', 'summary'] as const;

/** True when the file starts with the Arrow IPC file magic. */
export function isArrowFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const magic = Buffer.alloc(6);
    return readSync(fd, magic, 0, 6, 0) === 6 && magic.toString('latin1') === 'ARROW1';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * True when the folder is a shared-host replay folder (`replay T1 T2 … --shared-host -o DIR`:
 * shared-host.json beside one replay folder per VM, DIR/vm-K). A folder with a replay.json of its
 * own is a replay folder, as pathKind says.
 */
export function isSharedHostFolder(dir: string): boolean {
  return existsSync(join(dir, 'shared-host.json')) && !existsSync(join(dir, 'replay.json'));
}

/** True when the folder holds a hive-partitioned result dataset (`table=NAME` sub-folders). */
export function isDataset(dir: string): boolean {
  try {
    return readdirSync(dir).some((n) => n.startsWith('table=') && statSync(join(dir, n)).isDirectory());
  } catch {
    return false;
  }
}

/** What `path` is; a missing path is an InputFault naming it. */
export function pathKind(path: string): PathKind {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new InputFault({ file: path, message: 'no such file or folder' });
  }
  if (st.isDirectory()) {
    if (existsSync(join(path, 'replay.json'))) return 'replay-folder';
    return isDataset(path) ? 'dataset' : 'folder';
  }
  return isArrowFile(path) ? 'trace' : 'capture';
}

/** The trace a replay folder's replay.json names, when it is there (as written, from the working folder, or beside the folder). */
export function replayFolderTrace(folder: string): { trace?: string; named?: string; why?: string } {
  const file = join(folder, 'replay.json');
  let json: { trace?: unknown };
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as { trace?: unknown };
  } catch (e) {
    throw new InputFault({ file, message: `not valid JSON (${(e as Error).message})` });
  }
  if (typeof json.trace !== 'string') return { why: 'replay.json names no trace' };
  const named = json.trace;
  const candidates = isAbsolute(named) ? [named] : [resolve(named), resolve(folder, named), resolve(folder, '..', named)];
  const trace = candidates.find((c) => existsSync(c) && statSync(c).isFile());
  return trace !== undefined ? { trace, named } : { named, why: `the trace it names (${named}) is not there` };
}
