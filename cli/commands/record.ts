// `invtrace record [options] -- QEMU_COMMAND...`: runs QEMU with the trace events of its vIOMMU
// turned on, then ingests the log (and the guest's console dump, with --console) into a trace and
// prints its summary. `--guest-cmdline vtd|smmuv3` prints the guest side instead.

import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../formats/atomic.js';
import { BEGIN_MARKER } from '../../formats/capture/guest-trace.js';
import type { Arch } from '../../formats/codec/table.js';
import { ingest, type IngestSummary } from '../../formats/ingest/ingest.js';
import { InputFault } from '../../formats/result.js';
import { openTrace } from '../../formats/trace/io.js';
import { traceInfo, type TraceInfo } from '../../formats/trace/info.js';
import { eventsFileText } from '../record/events.js';
import { cleanUp, nonEmpty, planFiles, prepareDir, publish, type RecordFiles } from '../record/files.js';
import { guestSide } from '../record/guest.js';
import { inspectQemu, recordingArgv, type QemuCommand } from '../record/qemu-cmdline.js';
import { shellCommand } from '../record/shell.js';
import { runForeground } from '../record/spawn.js';
import { toJson } from '../render/json.js';
import { out, UsageError } from '../run.js';
import { infoText } from './info.js';
import { summaryText } from './ingest.js';
import { writeErr } from '../stdio.js';

export interface RecordCliOptions {
  readonly output?: string;
  readonly dryRun?: boolean;
  readonly keepLog?: boolean;
  readonly console?: string | true;
  readonly guestCmdline?: Arch;
  readonly kernelVersion?: string;
  readonly kprobeCmds?: string;
  readonly strict?: boolean;
  readonly json?: boolean;
}

export async function recordCommand(qemu: string[], opts: RecordCliOptions): Promise<number> {
  if (opts.guestCmdline !== undefined) return guestCommand(opts.guestCmdline, qemu, opts);
  if (opts.output === undefined) throw new UsageError('record: -o, --output <file> is required (the trace to write)');
  const cmd = inspectQemu(qemu);
  const files = planFiles(cmd, {
    output: opts.output,
    ...(opts.keepLog ? { keepLog: true } : {}),
    ...(opts.console !== undefined ? { console: opts.console } : {}),
  });
  const argv = recordingArgv(cmd, {
    events: files.events,
    log: files.log.qemu,
    ...(files.console?.add ? { serial: files.console.qemu } : {}),
  });
  if (opts.dryRun) {
    out(opts.json ? toJson(dryRunJson(cmd, files, argv)) : dryRunText(cmd, files, argv));
    return 0;
  }

  prepareDir(files);
  writeFileAtomic(files.events, eventsFileText(cmd.arch));
  const status = await runForeground(argv);
  publish(files);
  if (!nonEmpty(files.log.final)) {
    // Nothing to keep but our events file, unless the guest console caught something.
    const keep = !files.temp || (files.console !== undefined && nonEmpty(files.console.final));
    if (!keep) cleanUp(files);
    const kept = keep ? keptNote(files) : '';
    if (status !== 0) {
      writeErr(`invtrace: record: QEMU exited with status ${status} before writing a trace line${kept}\n`);
      return status;
    }
    throw new InputFault({ file: files.log.final, message: `QEMU wrote no trace lines: did the guest enable its IOMMU?${kept}` });
  }
  const inputs = [files.log.final];
  if (files.console) {
    if (hasGuestTrace(files.console.final)) inputs.push(files.console.final);
    else
      writeErr(
        `invtrace: record: ${files.console.final} holds no "${BEGIN_MARKER}" dump; ` +
          'ingesting the QEMU side only (record --guest-cmdline shows how to dump the guest trace)\n',
      );
  }
  let summary: IngestSummary;
  let info: TraceInfo;
  try {
    summary = await ingest(inputs, { output: files.output, arch: cmd.arch, ...(opts.strict ? { strict: true } : {}) });
    info = await traceInfo(await openTrace(files.output));
  } catch (e) {
    // Keep what the run produced: a long guest run is worth more than one reader's bug.
    if (e instanceof InputFault) throw new InputFault({ ...e.detail, message: `${e.detail.message}${keptNote(files)}` });
    throw e;
  }
  if (files.temp) cleanUp(files);
  if (opts.json) {
    out(toJson({ qemu_status: status, command: argv, inputs, kept: kept(files), ingest: summary, info }));
  } else {
    const k = kept(files);
    const raw = files.temp
      ? `raw files: removed (--keep-log keeps them next to the output)${k.length ? `; console: ${k.join(', ')}` : ''}`
      : `raw files: ${k.join(', ')}`;
    out([summaryText(summary), infoText(info), raw].join('\n'));
  }
  if (status !== 0) writeErr(`invtrace: record: QEMU exited with status ${status}\n`);
  return status;
}

/** The raw files left after a successful run: all with --keep-log, else a console outside the temp dir. */
function kept(f: RecordFiles): string[] {
  const all = [f.events, f.log.final, ...(f.console ? [f.console.final] : [])];
  return f.temp ? all.filter((p) => dirname(p) !== f.dir) : all;
}

const keptNote = (f: RecordFiles) => ` (raw files kept in ${f.dir})`;

function hasGuestTrace(path: string): boolean {
  return nonEmpty(path) && readFileSync(path).includes(BEGIN_MARKER);
}

function dryRunJson(cmd: QemuCommand, f: RecordFiles, argv: readonly string[]) {
  return {
    arch: cmd.arch,
    viommu: cmd.viommu,
    command: argv,
    events_file: f.events,
    events: eventsFileText(cmd.arch),
    log: f.log.final,
    qemu_log: f.log.qemu,
    console: f.console?.final ?? null,
    output: f.output,
    temp_dir: f.temp ? f.dir : null,
  };
}

function dryRunText(cmd: QemuCommand, f: RecordFiles, argv: readonly string[]): string {
  const where = f.temp ? `in ${f.dir}, removed once the trace is written (--keep-log keeps them)` : 'kept';
  const consoleLine =
    f.console === undefined
      ? []
      : [`# guest console: ${f.console.final} (${f.console.add ? '-serial file: added' : "the command's own -serial file:"})`];
  return [
    shellCommand(argv),
    '',
    `# ${cmd.arch} vIOMMU: ${cmd.viommu}`,
    `# events file ${f.events}:`,
    eventsFileText(cmd.arch).trimEnd(),
    `# QEMU log: ${f.log.qemu}${f.log.qemu !== f.log.final ? `, renamed to ${f.log.final} when QEMU exits` : ''}`,
    ...consoleLine,
    `# raw files: ${where}`,
    `# then: invtrace ingest ${shellCommand([f.log.final, ...(f.console ? [f.console.final] : [])])} ` +
      `--arch ${cmd.arch} -o ${shellCommand([f.output])}`,
  ].join('\n');
}

function guestCommand(arch: Arch, qemu: string[], opts: RecordCliOptions): number {
  if (qemu.length > 0) throw new UsageError('record: --guest-cmdline prints the guest side and runs nothing; drop the QEMU command');
  const kprobeCmds = opts.kprobeCmds === undefined ? undefined : Number(opts.kprobeCmds);
  const g = guestSide(arch, {
    ...(opts.kernelVersion !== undefined ? { kernelVersion: opts.kernelVersion } : {}),
    ...(kprobeCmds !== undefined ? { kprobeCmds } : {}),
  });
  if (opts.json) {
    out(toJson(g));
    return 0;
  }
  // The line alone on stdout, so that $(invtrace record --guest-cmdline ...) is the line.
  out(g.cmdline);
  writeErr(
    [
      `# Add the line above to the guest kernel command line (QEMU -append), then run in the guest, as root,`,
      `# once the workload is done (it dumps the trace to the console between the markers):`,
      ...g.dump_script
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`),
      ...g.notes.map((n) => `# ${n}`),
      '# Then record with --console so the dump is ingested with the QEMU log.',
      '',
    ].join('\n'),
  );
  return 0;
}
