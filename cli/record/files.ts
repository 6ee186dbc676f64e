// Where a recording's raw files live. With --keep-log they sit next to the output trace (RUN.arrow:
// RUN.trace-events, RUN.qemu.log, RUN.console.txt) and stay; otherwise in a private temporary
// folder that is removed once the trace is written. QEMU writes the log and an added console
// under temporary names that are renamed into place when it exits, so nothing reads a half file.

import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { tempPathFor } from '../../formats/atomic.js';
import { consolePlan, type QemuCommand } from './qemu-cmdline.js';

/** A file QEMU writes at `qemu` and that is found at `final` after the run. */
export interface Written {
  readonly qemu: string;
  readonly final: string;
}

export interface RecordFiles {
  readonly output: string;
  /** The folder of the raw files, and whether it is a temporary one removed after success. */
  readonly dir: string;
  readonly temp: boolean;
  readonly events: string;
  readonly log: Written;
  /** The guest console, when --console asked for it; `add`: record adds `-serial file:`. */
  readonly console?: Written & { readonly add: boolean };
}

export interface FileOptions {
  readonly output: string;
  readonly keepLog?: boolean;
  readonly console?: string | true;
}

/** The temporary folder of this process (known before it exists, so --dry-run can print it). */
export const tempDirOf = (pid = process.pid) => join(tmpdir(), `invtrace-record-${pid}`);

export function planFiles(cmd: QemuCommand, opts: FileOptions): RecordFiles {
  const output = resolve(opts.output);
  const temp = !opts.keepLog;
  const dir = temp ? tempDirOf() : dirname(output);
  const stem = basename(output).replace(/\.arrow$/, '');
  const name = (suffix: string, tempName: string) => (temp ? join(dir, tempName) : join(dir, `${stem}.${suffix}`));
  // In the private folder nobody else looks, so QEMU writes the final names directly.
  const written = (final: string): Written => ({ qemu: temp && dirname(final) === dir ? final : tempPathFor(final), final });
  const log = written(name('qemu.log', 'qemu.log'));
  let console: RecordFiles['console'];
  if (opts.console !== undefined) {
    const requested = opts.console === true ? true : resolve(opts.console);
    const c = consolePlan(cmd.serial, requested, name('console.txt', 'console.txt'), (a, b) => resolve(a) === resolve(b));
    console = c.add ? { ...written(c.path), add: true } : { qemu: c.path, final: c.path, add: false };
  }
  return { output, dir, temp, events: name('trace-events', 'trace-events'), log, ...(console ? { console } : {}) };
}

/** Creates the temporary folder (a stale one of an earlier process with our pid is replaced). */
export function prepareDir(f: RecordFiles): void {
  if (!f.temp) return;
  rmSync(f.dir, { recursive: true, force: true });
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
}

/** After QEMU exits: publishes what it wrote under temporary names. */
export function publish(f: RecordFiles): void {
  for (const w of [f.log, ...(f.console ? [f.console] : [])]) {
    if (w.qemu !== w.final && existsSync(w.qemu)) renameSync(w.qemu, w.final);
  }
}

export const nonEmpty = (path: string) => existsSync(path) && statSync(path).size > 0;

/** Removes the temporary folder (kept files live elsewhere). */
export function cleanUp(f: RecordFiles): void {
  if (f.temp) rmSync(f.dir, { recursive: true, force: true });
}
