// `invtrace compare T1 T2 … --shared-host` and `invtrace replay T1 T2 … --shared-host -o DIR`:
// each input is one VM (a trace, a JSONL scenario or a capture file, ingested on the fly), replayed
// together on one host (replay/shared-host/). compare prints the comparison (text or --json);
// replay writes DIR/shared-host.json and each VM's result tables in DIR/vm-K/. Exit 1 with
// --fail-on-violation when any VM is incorrect under any policy.

import { join } from 'node:path';
import { InputFault } from '../../formats/result.js';
import { parseInterleave, INTERLEAVES, type Interleave } from '../../replay/shared-host/interleave.js';
import { sharedHostText, type SharedHostOutput } from '../../replay/shared-host/output.js';
import { runSharedHost } from '../../replay/shared-host/run.js';
import { withInputs, type InputSpec } from '../inputs.js';
import { progress } from '../render/progress.js';
import { EXIT_CHECK_FAILED, out, UsageError } from '../run.js';
import { splitPolicyList } from '../option-values.js';

export interface SharedHostCliOptions {
  readonly policy: string;
  /** One topology file, or one per trace separated by commas (empty: the trace's own). */
  readonly topology?: string;
  readonly costs?: string;
  readonly interleave?: string;
  /** Slots of each physical queue (option-values.ts hostQueueSlots). */
  readonly hostQueue?: number;
  readonly renumberPsids?: boolean;
  readonly failOnViolation?: boolean;
  readonly json?: boolean;
  readonly csv?: boolean;
  readonly markdown?: boolean;
  readonly output?: string;
}

const ONE_VM: InputSpec = { command: 'shared host', accepts: ['trace', 'captures'] };

/** Resolves every input (one VM each), keeping the ingested ones until `body` is done. */
async function withVms<T>(
  paths: readonly string[],
  ingestTo: ((k: number) => string) | undefined,
  body: (traces: string[]) => Promise<T>,
  k = 0,
  acc: string[] = [],
): Promise<T> {
  if (k === paths.length) return body(acc);
  return withInputs(ONE_VM, [paths[k]!], { summary: false, ...(ingestTo ? { ingestTo: ingestTo(k) } : {}) }, (i) =>
    withVms(paths, ingestTo, body, k + 1, [...acc, i.oneTrace()]),
  );
}

function interleaveOf(s: string | undefined): Interleave | undefined {
  if (s === undefined) return undefined;
  const m = parseInterleave(s);
  if (m === undefined) throw new UsageError(`--interleave: expected ${INTERLEAVES.join(' or ')}, got "${s}"`);
  return m;
}

function topologies(list: string | undefined, n: number): (string | undefined)[] | undefined {
  if (list === undefined) return undefined;
  const parts = list.split(',').map((s) => (s.trim() === '' ? undefined : s.trim()));
  if (parts.length !== n)
    throw new UsageError(
      `--topology with --shared-host: one file per trace, separated by commas (leave one empty for the trace's own): got ${parts.length} for ${n} traces`,
    );
  return parts;
}

async function run(inputs: string[], opts: SharedHostCliOptions, outDir?: string): Promise<SharedHostOutput> {
  if (inputs.length < 1) throw new UsageError('--shared-host: give one trace per VM');
  const interleave = interleaveOf(opts.interleave);
  return withVms(inputs, outDir === undefined ? undefined : (k) => join(outDir, `vm-${k}`, 'trace.arrow'), async (traces) => {
    const p = progress(opts.json ? undefined : `replaying ${traces.length} VMs on one host`);
    try {
      const topologyFiles = topologies(opts.topology, traces.length);
      return await runSharedHost(traces, {
        policies: splitPolicyList(opts.policy),
        names: inputs,
        ...(topologyFiles ? { topologyFiles } : {}),
        ...(opts.costs ? { costsFile: opts.costs } : {}),
        ...(interleave ? { interleave } : {}),
        ...(opts.hostQueue !== undefined ? { queueEntries: opts.hostQueue } : {}),
        ...(opts.renumberPsids ? { renumberPsids: true } : {}),
        ...(outDir !== undefined ? { outDir } : {}),
      });
    } finally {
      p.done();
    }
  });
}

const failed = (r: SharedHostOutput) => r.host.policies.some((p) => !p.correct);

export async function sharedHostCompare(inputs: string[], opts: SharedHostCliOptions): Promise<number> {
  if (opts.csv || opts.markdown)
    throw new UsageError(
      `--${opts.csv ? 'csv' : 'markdown'} does not go with --shared-host: it prints text or --json (report DIR draws the tables)`,
    );
  const r = await run(inputs, opts);
  const { costs: _costs, ...printed } = r;
  out(opts.json ? JSON.stringify(printed, null, 2) : sharedHostText(r));
  return opts.failOnViolation && failed(r) ? EXIT_CHECK_FAILED : 0;
}

/** `compare DIR` of a shared-host folder: the comparison it stored. */
export async function storedSharedHost(dir: string, opts: SharedHostCliOptions): Promise<number> {
  const { readSharedHost } = await import('../../analyzers/report/shared-host.js');
  const r = readSharedHost(dir);
  const { costs: _costs, ...printed } = r;
  out(opts.json ? JSON.stringify(printed, null, 2) : sharedHostText(r));
  return opts.failOnViolation && failed(r) ? EXIT_CHECK_FAILED : 0;
}

export async function sharedHostReplay(inputs: string[], opts: SharedHostCliOptions): Promise<number> {
  const dir = opts.output;
  if (dir === undefined) throw new InputFault({ message: 'replay --shared-host: give -o DIR' });
  const r = await run(inputs, opts, dir);
  out(sharedHostText(r));
  out(`\nwrote ${join(dir, 'shared-host.json')} and each VM's result tables in ${r.traces.map((t) => join(dir, `vm-${t.vm}`)).join(', ')}`);
  return opts.failOnViolation && failed(r) ? EXIT_CHECK_FAILED : 0;
}
