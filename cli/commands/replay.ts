// `invtrace replay INPUT... [--policy P,...|all] -o DIR [--parquet]` and `invtrace compare INPUT...
// [--policy ...] [--json|--csv|--markdown]`: replay under each policy; write the result tables (with
// timeline.json, and the Parquet dataset with --parquet), or print the side-by-side comparison.
// INPUT is a trace, captures or a scenario (ingested on the fly), or a replay folder (replay: its
// trace again; compare: its stored comparison). Exit 1 with --fail-on-violation when any policy is
// incorrect.

import { join } from 'node:path';
import { isSharedHostFolder, RESULT_TABLES } from '../../formats/input-kind.js';
import type { ReplayOutput } from '../../replay/replayer.js';
import { readReplayJson, runReplay } from '../../replay/run.js';
import { INPUTS, withInputs } from '../inputs.js';
import { splitPolicyList } from '../option-values.js';
import { pickReporter, reporters } from '../reporters/index.js';
import { EXIT_CHECK_FAILED, out, UsageError } from '../run.js';
import { progress } from '../render/progress.js';
import type { BareLaunch } from '../../replay/bare-launch.js';
import { bareFor, type EarlyBare } from './replay-early.js';

export interface ReplayCliOptions {
  readonly policy: string;
  readonly topology?: string;
  readonly costs?: string;
  readonly output?: string;
  readonly failOnViolation?: boolean;
  readonly json?: boolean;
  readonly csv?: boolean;
  readonly markdown?: boolean;
  readonly keepTrace?: string;
  readonly parquet?: boolean;
  readonly jobs?: number;
  /** Several VMs on one host (cli/commands/shared-host.ts). */
  readonly sharedHost?: boolean;
  readonly interleave?: string;
  readonly hostQueue?: number;
  readonly renumberPsids?: boolean;
}

/** The --shared-host options make no sense without it. */
function sharedHostOnly(opts: ReplayCliOptions): void {
  const given = (
    [
      ['--interleave', opts.interleave],
      ['--host-queue', opts.hostQueue],
      ['--renumber-psids', opts.renumberPsids],
    ] as const
  ).find(([, v]) => v !== undefined);
  if (given !== undefined) throw new UsageError(`${given[0]} goes with --shared-host (several VMs on one host)`);
}

type InputsCommand = (inputs: string[], opts: ReplayCliOptions, early?: EarlyBare) => Promise<number>;

/** `run`, then bare hardware's early thread ended whatever happened (a replay that took it has ended it already). */
const endingEarly =
  (run: (inputs: string[], opts: ReplayCliOptions, early: EarlyBare | undefined) => Promise<number>): InputsCommand =>
  async (inputs, opts, early) => {
    try {
      return await run(inputs, opts, early);
    } finally {
      early?.launch.stop();
    }
  };

export const replayCommand = endingEarly(replayInputs);

async function replayInputs(inputs: string[], opts: ReplayCliOptions, early: EarlyBare | undefined): Promise<number> {
  if (opts.sharedHost) return (await import('./shared-host.js')).sharedHostReplay(inputs, opts);
  sharedHostOnly(opts);
  const output = opts.output!;
  // Captures are ingested into the output folder, so its replay.json names a trace that stays.
  return withInputs(INPUTS.replay, inputs, { ingestTo: opts.keepTrace ?? join(output, 'trace.arrow') }, async (i) => {
    const trace = i.oneTrace();
    const p = progress(`replaying ${i.source}`);
    let r: ReplayOutput;
    try {
      r = await runReplay(trace, { ...runOptions(opts, bareFor(early, trace)), outDir: output, onProgress: p.update });
    } finally {
      p.done();
    }
    out(reporters.table(r));
    const wrote = [...RESULT_TABLES.map((t) => join(output, `${t}.arrow`)), join(output, 'replay.json')];
    if (i.ingested && !opts.keepTrace) wrote.push(i.ingested.trace);
    out(`\nwrote ${wrote.join(', ')}`);
    const { writeTimelineFile } = await import('../../analyzers/timeline/write.js');
    const tl = await writeTimelineFile(trace, output, join(output, 'timeline.json'), { capBytes: timelineCap() });
    out(
      tl.written
        ? `wrote ${tl.path} (${mib(tl.bytes)}, ${tl.events.toLocaleString('en-US')} events; open it in ui.perfetto.dev)`
        : `no timeline.json: ${tl.reason}`,
    );
    if (opts.parquet) {
      const { writeDataset } = await import('../../analyzers/dataset/write.js');
      const d = await writeDataset(output, [{ name: i.name, dir: output }]);
      out(`wrote the Parquet dataset ${d.dir} (${d.files} files, ${d.rows.toLocaleString('en-US')} rows; invtrace sql ${output})`);
    }
    return opts.failOnViolation && r.policies.some((x) => !x.correct) ? EXIT_CHECK_FAILED : 0;
  });
}

const mib = (b: number) => `${(b / (1 << 20)).toFixed(1)} MiB`;

/** The size above which `replay -o` leaves timeline.json out: $INVTRACE_TIMELINE_CAP_MB, default 256 MiB. */
function timelineCap(): number {
  const v = Number(process.env.INVTRACE_TIMELINE_CAP_MB ?? '256');
  return (Number.isFinite(v) && v >= 0 ? v : 256) * (1 << 20);
}

function runOptions(opts: ReplayCliOptions, bareLaunch?: BareLaunch) {
  return {
    ...(bareLaunch !== undefined ? { bareLaunch } : {}),
    policies: splitPolicyList(opts.policy),
    ...(opts.topology ? { topologyFile: opts.topology } : {}),
    ...(opts.costs ? { costsFile: opts.costs } : {}),
    ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
  };
}

export const compareCommand = endingEarly(compareInputs);

async function compareInputs(inputs: string[], opts: ReplayCliOptions, early: EarlyBare | undefined): Promise<number> {
  if (opts.sharedHost) return (await import('./shared-host.js')).sharedHostCompare(inputs, opts);
  sharedHostOnly(opts);
  // A shared-host replay folder (replay … --shared-host -o DIR): its stored comparison.
  if (inputs.length === 1 && isSharedHostFolder(inputs[0]!)) {
    return (await import('./shared-host.js')).storedSharedHost(inputs[0]!, opts);
  }
  const structured = opts.json || opts.csv || opts.markdown;
  return withInputs(INPUTS.compare, inputs, { ...(opts.keepTrace ? { keepTrace: opts.keepTrace } : {}) }, async (i) => {
    let r: ReplayOutput;
    const folder = i.replayDirs[0];
    if (folder !== undefined) {
      // A replay output folder: its stored comparison, replayed already.
      r = readReplayJson(folder).output;
    } else {
      const p = progress(structured ? undefined : `replaying ${i.source}`);
      try {
        const trace = i.oneTrace();
        r = await runReplay(trace, { ...runOptions(opts, bareFor(early, trace)), onProgress: p.update });
      } finally {
        p.done();
      }
      if (i.ingested && !opts.keepTrace) r = { ...r, trace: i.source };
    }
    out(pickReporter(opts)(r));
    return opts.failOnViolation && r.policies.some((x) => !x.correct) ? EXIT_CHECK_FAILED : 0;
  });
}
