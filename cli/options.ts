// The command line's options, one row each (in the manner of npm-check-updates' cli-options): the
// flags and argument, what the option means, its default, the values it takes, and which commands
// take it, with what differs for each of them. program.ts declares every command's options from
// this table (addOptions), so `--help` prints these rows; options-doc.ts renders the README's
// option table from it, and options.test.ts fails when the README and the table disagree.
//
// Values come from their sources of truth, referenced here, never listed again: architectures from
// the codec tables (ARCHES), capture formats from ingest-formats.ts, SQL engines from
// analyzers/sql-engine/engine.ts, policies from the policy registry (loaded only for the docs:
// --help stays cheap, see the start-up test in commands/sql.test.ts). The generator's knobs of
// `gen` are rows of samples/gen/options.ts (declareGen adds them after these).
//
// Adding an option (e.g. `compare --shared-host`):
//  1. Add a row to OPTIONS: `flags` ('-x, --long', or '--no-long' for a negation), `arg` ('<v>'
//     for a value, '[v]' when the value is optional, none for a switch), `description`, and if any
//     `default` (as typed), `choices` (a source-of-truth list: commander rejects anything else),
//     `parse` (a commander parser from option-values.ts), `listed` (docs-only values the command
//     checks itself). `commands` names every command that takes it: `{ compare: {} }`, with what
//     differs for that command (description, arg, default, choices, required, parse). A command
//     shows its options in table order, so place the row near its kin.
//  2. Add the field to that command's options interface (ReplayCliOptions in commands/replay.ts;
//     commander camel-cases it: --shared-host → sharedHost) and use it there.
//  3. `npm run docs:options` rewrites the README's option table; `npx vitest run cli/options`
//     checks it, and that program.ts declares exactly the table's options.

import { type Command, Option } from 'commander';
import { ENGINE_CHOICES, ENGINES } from '../analyzers/sql-engine/engine.js';
import { ARCHES, type Arch } from '../formats/codec/table.js';
import { INGEST_FORMATS } from './ingest-formats.js';
import { hostQueueSlots, threadCount } from './option-values.js';
import { INTERLEAVES } from '../replay/shared-host/interleave.js';

/** The commands, in the order of the README's command table. */
// One row per line, as the table reads (a row is one record of the spec or of the CLI):
// prettier-ignore
export const COMMANDS = [
  'decode', 'ingest', 'info', 'export', 'record', 'gen', 'sql', 'views', 'compare', 'replay', 'timeline', 'demo', 'report', 'ci', 'tui',
] as const;
export type CommandName = (typeof COMMANDS)[number];

/** A commander parser: turns the text into the value; throws InvalidArgumentError (exit 2). */
export type ParseArg = (text: string) => unknown;

/** What differs for one command that takes an option (everything else is the row's). */
export interface OptionUse {
  readonly description?: string;
  readonly arg?: string;
  readonly default?: string;
  readonly choices?: readonly string[];
  /** The command fails (exit 2) without it. */
  readonly required?: boolean;
  /** `null`: the command reads the text itself (no parser). */
  readonly parse?: ParseArg | null;
}

export interface CliOption {
  /** '-o, --output', '--policy' or '--no-views' (commander: a negation defaults to true). */
  readonly flags: string;
  /** '<v>' (a value), '[v]' (an optional value), or none (a switch). */
  readonly arg?: string;
  readonly description: string;
  readonly default?: string;
  /** Values commander accepts (and lists in --help); anything else is a usage error. */
  readonly choices?: readonly string[];
  readonly parse?: ParseArg;
  /** Values the command checks itself, listed in the docs only (loading them may be costly). */
  readonly listed?: { readonly from: string; readonly load: () => Promise<readonly string[]> };
  readonly commands: Readonly<Partial<Record<CommandName, OptionUse>>>;
}

/** An option as one command takes it. */
export interface ResolvedOption {
  readonly flags: string;
  readonly arg?: string;
  readonly description: string;
  readonly default?: string;
  readonly choices?: readonly string[];
  readonly required: boolean;
  readonly parse?: ParseArg;
  readonly listed?: CliOption['listed'];
}

const KEEP_TRACE = 'keep the trace ingested from captures or a scenario in FILE (.arrow)';
/** `record --guest-cmdline`: the order its usage line and error message give (vtd|smmuv3). */
const GUEST_ARCHES: readonly Arch[] = ['vtd', 'smmuv3'];

// One row per line, as the table reads (a row is one record of the spec or of the CLI):
// prettier-ignore
export const OPTIONS: readonly CliOption[] = [
  {
    flags: '-o, --output', arg: '<file>', description: 'output trace (.arrow)',
    commands: {
      ingest: { required: true },
      export: { required: true, description: 'output file; the format follows its extension (.jsonl, .parquet, .csv)' },
      record: {},
      gen: {},
      sql: { description: 'write the last statement\'s result to .parquet or .csv instead of printing it' },
      replay: { required: true, arg: '<dir>', description: 'output folder for the result tables and timeline.json' },
      timeline: { required: true, description: 'output file (.json)' },
      report: { required: true, arg: '<dir>', description: 'output folder: report.md, report.html, charts/*.svg, results/' },
    },
  },
  {
    flags: '--arch', arg: '<arch>', description: 'architecture', choices: ARCHES,
    commands: { decode: { required: true }, ingest: { description: 'force the architecture' } },
  },
  {
    flags: '--format', arg: '<format>', description: 'force the input format', choices: INGEST_FORMATS,
    commands: { ingest: {} },
  },
  {
    flags: '-e, --execute', arg: '<sql>', description: 'statements to run (the table of every trace is "trace", with a file column)',
    commands: { sql: {} },
  },
  { flags: '-f, --file', arg: '<file>', description: 'a file of statements to run (before -e)', commands: { sql: {} } },
  {
    flags: '--policy', arg: '<list>', default: 'all',
    description: 'NAME[:key=value,...] comma-separated, "all", or "designs" (qemu-accel, kernel-ring, shadow, pv-map, migrate and their baselines)',
    listed: {
      from: 'replay/policies/index.ts',
      load: async () => [...Object.keys((await import('../replay/policies/index.js')).POLICIES), 'all', 'designs'],
    },
    commands: {
      compare: {},
      replay: {},
      timeline: { description: 'policies when it replays: NAME[:key=value,...] comma-separated, or "all"' },
      tui: { description: 'policies of the background replay: NAME[:key=value,...] comma-separated, or "all"' },
      report: {
        default: 'all,designs',
        description: 'NAME[:key=value,...] comma-separated, "all" or "designs" (the default runs both: the report then compares the designs too)',
      },
    },
  },
  {
    flags: '--topology', arg: '<file>', description: 'topology JSON (default: the trace header\'s, else inferred from the trace)',
    commands: {
      compare: { description: 'topology JSON (default: the trace header\'s, else inferred from the trace); with --shared-host one per trace, comma-separated (empty: the trace\'s own)' },
      replay: { description: 'topology JSON (default: the trace header\'s, else inferred from the trace); with --shared-host one per trace, comma-separated (empty: the trace\'s own)' },
      report: {},
      timeline: { description: 'topology JSON when it replays' },
      tui: { description: 'topology JSON for the background replay' },
    },
  },
  {
    flags: '--costs', arg: '<file>', description: 'cost-model parameters JSON overriding spec/costs.md defaults',
    commands: {
      compare: {}, replay: {}, report: {},
      timeline: { description: 'cost-model parameters JSON when it replays' },
      tui: { description: 'cost-model parameters JSON for the background replay' },
    },
  },
  { flags: '--fail-on-violation', description: 'exit 1 when any policy is incorrect', commands: { compare: {}, replay: {} } },
  {
    flags: '--jobs', arg: '<n>', parse: threadCount,
    description: 'worker threads for the policies (1: serial, same output); default one per core for traces of 4 MB or more',
    commands: { compare: {}, replay: {}, ci: { description: 'replay n traces at once, each in a worker thread', parse: null } },
  },
  {
    flags: '--keep-trace', arg: '<file>', description: KEEP_TRACE,
    commands: {
      info: {}, export: {}, sql: {}, compare: {}, replay: {}, timeline: {}, tui: {},
      report: { description: 'write the trace ingested from captures or a scenario to FILE instead of OUT/trace.arrow' },
    },
  },
  {
    flags: '--shared-host',
    description: 'the inputs are VMs on one host (one trace each): replay them together on the physical IOMMUs their topologies name; each VM alone versus shared, host totals (docs/hosts.md)',
    commands: { compare: {}, replay: { description: 'the inputs are VMs on one host (one trace each): replay them together; write DIR/shared-host.json and each VM\'s tables in DIR/vm-K (docs/hosts.md)' } },
  },
  {
    flags: '--interleave', arg: '<mode>', choices: INTERLEAVES,
    description: 'with --shared-host: the VMs\' doorbells by timestamp or one VM after the other; default time when every trace has timestamps, else round-robin',
    commands: { compare: {}, replay: {} },
  },
  {
    flags: '--host-queue', arg: '<n>', parse: hostQueueSlots,
    description: 'with --shared-host: slots of each physical command queue, a power of two (default 256: VT-d QI_LENGTH; SMMUv3 an assumption)',
    commands: { compare: {}, replay: {} },
  },
  {
    flags: '--renumber-psids',
    description: 'with --shared-host: give every VM\'s devices free physical SIDs instead of those its topology names (two VMs\' traces from one generator or one machine)',
    commands: { compare: {}, replay: {} },
  },
  {
    flags: '--parquet',
    description: 'also write the result tables as a hive-partitioned Parquet dataset (DIR/table=NAME/trace=.../policy=.../part-0.parquet)',
    commands: { replay: {} },
  },
  {
    flags: '--json', description: 'print JSON',
    commands: {
      decode: {}, ingest: { description: 'print the ingest summary as JSON' }, info: {}, record: {},
      gen: { description: 'print JSON (the --list tables, or the summary)' },
      sql: { description: 'print results as JSON' }, views: {}, compare: {}, ci: {},
    },
  },
  { flags: '--csv', description: 'print CSV', commands: { sql: { description: 'print results as CSV' }, compare: {} } },
  {
    flags: '--markdown', description: 'print a Markdown table',
    commands: {
      gen: { description: 'with --list: Markdown tables (the README section)' },
      sql: { description: 'print results as a Markdown table' },
      compare: {},
    },
  },
  { flags: '--max-rows', arg: '<n>', description: 'rows printed per result in table format', commands: { sql: {} } },
  { flags: '--no-views', description: 'do not load the analyzer views', commands: { sql: {} } },
  {
    flags: '--engine', arg: '<engine>', choices: ENGINE_CHOICES,
    description: 'DuckDB build: wasm (default), native (optional dependency @duckdb/node-api; large traces), or auto (native for inputs of 64 MiB or more when installed)',
    commands: { sql: {}, report: { choices: ENGINES, description: 'DuckDB build for the views: wasm (default) or native' } },
  },
  { flags: '--desc-bytes', arg: '<n>', description: 'VT-d queue slot width: 16 (legacy) or 32 (scalable mode)', commands: { decode: {} } },
  {
    flags: '--list', description: 'print the whole command table of --arch (opcodes, fields, bit ranges)',
    commands: { decode: {}, gen: { description: 'print the workloads and options with their defaults' } },
  },
  {
    flags: '--strict', description: 'stop at the first malformed line (exit 2) instead of warning and counting',
    commands: { ingest: {}, record: { description: 'stop at the first malformed capture line (exit 2)' } },
  },
  { flags: '--dry-run', description: 'print the command and the events file, run nothing', commands: { record: {} } },
  {
    flags: '--keep-log', description: 'keep the events file and QEMU log (and console) next to the output, not in a temp dir',
    commands: { record: {} },
  },
  {
    flags: '--console', arg: '[file]',
    description: 'also ingest the guest trace dumped to the serial console: adds -serial file:FILE or reuses the command\'s own',
    commands: { record: {} },
  },
  {
    flags: '--guest-cmdline', arg: '<arch>', choices: GUEST_ARCHES,
    description: 'print the guest kernel command-line additions and the dump script', commands: { record: {} },
  },
  {
    flags: '--kernel-version', arg: '<X.Y>',
    description: 'guest kernel version, for --guest-cmdline smmuv3 (6.12 added an argument the kprobe reads)', commands: { record: {} },
  },
  {
    flags: '--kprobe-cmds', arg: '<n>', description: 'SMMUv3 commands per batch the guest kprobe records (1-16, default 4)',
    commands: { record: {} },
  },
  { flags: '--keep', arg: '<dir>', description: 'keep the ingested traces in this folder', commands: { demo: {} } },
  { flags: '--no-replay', description: 'do not replay in the background (the policies view stays empty)', commands: { tui: {} } },
  { flags: '--keys', description: 'print the key table as Markdown and exit', commands: { tui: {} } },
  {
    flags: '--baseline', arg: '<file>', description: 'baseline file (default: the suite\'s "baseline", else baseline.json beside the suite)',
    commands: { ci: {} },
  },
  { flags: '--update-baseline', description: 'rewrite the baseline from this run (atomically) and exit 0', commands: { ci: {} } },
  {
    flags: '--junit', arg: '<file>', description: 'write JUnit XML: one testsuite per trace, one testcase per policy',
    commands: { ci: {} },
  },
  {
    flags: '--shard', arg: '<i/n>', description: 'run the i-th of n deterministic shares of the suite\'s trace × policy results',
    commands: { ci: {} },
  },
  {
    flags: '--out', arg: '<dir>',
    description: 'keep the runs (ci-shard.json, for ci merge) and the result tables as a Parquet dataset (table=NAME/trace=.../policy=...)',
    commands: { ci: {} },
  },
];

/** The row as `command` takes it, or undefined when it does not. */
export function resolveOption(o: CliOption, command: CommandName): ResolvedOption | undefined {
  const use = o.commands[command];
  if (use === undefined) return undefined;
  const arg = use.arg ?? o.arg;
  const dflt = use.default ?? o.default;
  const choices = use.choices ?? o.choices;
  const parse = use.parse === null ? undefined : (use.parse ?? o.parse);
  return {
    flags: o.flags,
    ...(arg !== undefined ? { arg } : {}),
    description: use.description ?? o.description,
    ...(dflt !== undefined ? { default: dflt } : {}),
    ...(choices !== undefined ? { choices } : {}),
    required: use.required ?? false,
    ...(parse !== undefined ? { parse } : {}),
    ...(o.listed !== undefined ? { listed: o.listed } : {}),
  };
}

/** The options of one command, in table order. */
export function commandOptions(command: CommandName): ResolvedOption[] {
  return OPTIONS.flatMap((o) => resolveOption(o, command) ?? []);
}

/** `-o, --output <dir>`: the flags and argument as commander and --help spell them. */
export function flagsWithArg(o: { readonly flags: string; readonly arg?: string }): string {
  return o.arg === undefined ? o.flags : `${o.flags} ${o.arg}`;
}

/** The commander option of a resolved row. */
export function commanderOption(o: ResolvedOption): Option {
  const opt = new Option(flagsWithArg(o), o.description);
  if (o.default !== undefined) opt.default(o.default);
  if (o.choices !== undefined) opt.choices(o.choices);
  if (o.parse !== undefined) opt.argParser(o.parse);
  if (o.required) opt.makeOptionMandatory();
  return opt;
}

/** Declares the table's options of `command` on `cmd` (the commander command of that name). */
export function addOptions(cmd: Command, command: CommandName): Command {
  for (const o of commandOptions(command)) cmd.addOption(commanderOption(o));
  return cmd;
}

/** Flags that more than one row declares (each option is one row: this stays empty). */
export function duplicateFlags(rows: readonly CliOption[] = OPTIONS): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const r of rows)
    for (const f of r.flags.split(/,\s*/)) {
      if (seen.has(f)) twice.push(f);
      seen.add(f);
    }
  return twice;
}
