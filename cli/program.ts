// Declares the commands (no implementation is imported here; only the invoked one when the
// arguments name one); their options come from the option table (options.ts). Each action loads
// its module on demand.

import { Command } from 'commander';
import { addOptions } from './options.js';
import { action, EXIT_BAD_INPUT } from './run.js';
import { writeErr, writeOut } from './stdio.js';
import { declareGen } from './commands/gen.js';
import { startEarly } from '../analyzers/sql-engine/index.js';
import type { SqlCliOptions } from './commands/sql.js';
import type { ReplayCliOptions } from './commands/replay.js';

/**
 * The action of `replay` and `compare`: bare hardware's thread starts first, so its start-up
 * overlaps loading the command and the engine.
 */
const replayAction = (command: 'replayCommand' | 'compareCommand') =>
  action(async (inputs: string[], opts: ReplayCliOptions) => {
    const early = (await import('./commands/replay-early.js')).bareEarly(inputs, opts);
    return (await import('./commands/replay.js'))[command](inputs, opts, early);
  });

const INPUT_HELP =
  'a trace (.arrow), capture files of one run or a JSONL scenario (ingested on the fly), or a replay output folder (its trace)';

/**
 * The command line. Given the command the arguments name first (`argv[2]`), only that command is
 * declared: commander dispatches to it, and its options, help and errors are its own, so the
 * others' declarations (every option of every command) would be work for nothing; given `-V` or
 * `--version` first, none (commander prints the version as it reads the option). Anything else
 * (`--help`, `-V`, `help`, a misspelt command, no command) gets them all: the program's help
 * lists them and an unknown command's error suggests the closest.
 */
export function buildProgram(invoked?: string): Command {
  const program = new Command('invtrace')
    .description('Record, replay and analyze guest IOMMU invalidation traffic (Arm SMMUv3 CMDQ, Intel VT-d QI).')
    .version(process.env.npm_package_version ?? versionFallback(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    // Version, help and usage errors through write(2) where stdout or stderr is a file or a pipe
    // (cli/stdio.ts); commander still asks node's streams for a terminal's width and colours.
    .configureOutput({ writeOut, writeErr })
    .exitOverride((err) => {
      // Usage errors exit 2 (bad input); help and version exit 0.
      process.exit(err.exitCode === 0 ? 0 : EXIT_BAD_INPUT);
    });
  const declare =
    invoked === '-V' || invoked === '--version'
      ? [] // answered as the option is read, before any command is looked at
      : invoked !== undefined && Object.hasOwn(DECLARE, invoked)
        ? [DECLARE[invoked]!]
        : Object.values(DECLARE);
  for (const d of declare) d(program);
  return program;
}

/** Each command's declaration, in the order --help lists them. */
const DECLARE: Readonly<Record<string, (program: Command) => void>> = {
  decode: (program) => {
    addOptions(program.command('decode'), 'decode')
      .description('decode one command from its raw words (SMMUv3: 2 words; VT-d: 2 or 4)')
      .argument('[words...]', '64-bit words, hex (0x...) or decimal, in queue order (DW0 DW1 / qw0 qw1 ...)')
      .action(action(async (words: string[], opts) => (await import('./commands/decode.js')).decodeCommand(words, opts)));
  },
  ingest: (program) => {
    addOptions(program.command('ingest'), 'ingest')
      .description('read captures (format and architecture detected) into a canonical trace')
      .argument('<files...>', 'capture files (gzip is read transparently)')
      .action(action(async (files: string[], opts) => (await import('./commands/ingest.js')).ingestCommand(files, opts)));
  },
  info: (program) => {
    addOptions(program.command('info'), 'info')
      .description('what a trace holds: counts per op, doorbells, wraps, queue geometry, span')
      .argument('<inputs...>', INPUT_HELP)
      .action(action(async (inputs: string[], opts) => (await import('./commands/info.js')).infoCommand(inputs, opts)));
  },
  export: (program) => {
    addOptions(program.command('export'), 'export')
      .description('write a trace in another format (JSONL scenario, Parquet, CSV)')
      .argument('<inputs...>', INPUT_HELP)
      .action(action(async (inputs: string[], opts) => (await import('./commands/export.js')).exportCommand(inputs, opts)));
  },
  record: (program) => {
    addOptions(program.command('record'), 'record')
      .description('run QEMU with the trace events of its vIOMMU (intel-iommu, SMMUv3), then ingest the log into a trace')
      .usage('[options] -- QEMU_COMMAND...   |   --guest-cmdline vtd|smmuv3 [--kernel-version X.Y]')
      .argument('[qemu...]', 'the QEMU command line, after "--"')
      .action(action(async (qemu: string[], opts) => (await import('./commands/record.js')).recordCommand(qemu, opts)));
  },
  sql: (program) => {
    addOptions(program.command('sql'), 'sql')
      .description(
        'SQL over traces and replay results (DuckDB): one-shot with -e/-f, a REPL without; `invtrace views` lists the analyzer views',
      )
      .argument(
        '<inputs...>',
        'traces (.arrow), captures of one run or a JSONL scenario (ingested on the fly), replay output folders and folders (every *.arrow in them; result tables load under their file names), Parquet result datasets (replay --parquet, ci --out)',
      )
      .action(
        action(async (inputs: string[], opts: SqlCliOptions) => {
          // duckdb-wasm starts first: its start-up overlaps loading the command and reading the inputs.
          const early = startEarly(opts.engine);
          return (await import('./commands/sql.js')).sqlCommand(inputs, opts, early);
        }),
      );
  },
  views: (program) => {
    addOptions(program.command('views'), 'views')
      .description('the analyzer views of `invtrace sql` with their comments (one view or module with its columns)')
      .argument('[name]', 'a view or module')
      .action(action(async (name: string | undefined, opts) => (await import('./commands/views.js')).viewsCommand(name, opts)));
  },
  gen: (program) => {
    declareGen(program.command('gen'));
  },
  replay: (program) => {
    addOptions(program.command('replay'), 'replay')
      .description('replay a trace under mediation policies; write host_ops, completions, violations, summary tables')
      .argument('<inputs...>', INPUT_HELP)
      .action(replayAction('replayCommand'));
  },
  compare: (program) => {
    addOptions(program.command('compare'), 'compare')
      .description('replay a trace under mediation policies and print them side by side: correctness and cost')
      .argument('<inputs...>', INPUT_HELP)
      .action(replayAction('compareCommand'));
  },
  timeline: (program) => {
    addOptions(program.command('timeline'), 'timeline')
      .description(
        "a Perfetto / Trace Event Format timeline of a replay (ui.perfetto.dev, chrome://tracing): guest doorbells and completion points, each policy's work on the modelled clock, flows, violations",
      )
      .argument(
        '<inputs...>',
        'a trace (.arrow), captures or a JSONL scenario (replayed first), or a replay output folder (replay -o DIR) [and its trace]',
      )
      .action(action(async (inputs: string[], opts) => (await import('./commands/timeline.js')).timelineCommand(inputs, opts)));
  },
  demo: (program) => {
    addOptions(program.command('demo'), 'demo')
      .description('the main job on bundled samples: ingest a real capture, replay every policy, print the comparison and findings')
      .action(action(async (opts) => (await import('./commands/demo.js')).demoCommand(opts)));
  },
  tui: (program) => {
    addOptions(program.command('tui'), 'tui')
      .description('full-screen inspector: commands, fields, the queue at each doorbell, policy results, SQL (? lists the keys)')
      .argument('[inputs...]', 'a trace (.arrow), capture files (ingested on the fly), or a replay output folder (replay -o DIR)')
      .action(action(async (inputs: string[], opts) => (await import('./commands/tui.js')).tuiCommand(inputs, opts)));
  },
  report: (program) => {
    addOptions(program.command('report'), 'report')
      .description(
        'a readable report of a replay: Markdown and self-contained HTML with the comparison, findings, violations in context, latency and SVG charts',
      )
      .argument(
        '<inputs...>',
        'a trace (.arrow), capture files or a JSONL scenario (ingested on the fly), or a replay output folder (replay -o DIR) [and its trace]',
      )
      .action(action(async (inputs: string[], opts) => (await import('./commands/report.js')).reportCommand(inputs, opts)));
  },
  ci: (program) => {
    addOptions(program.command('ci'), 'ci')
      .description('replay a suite of traces (docs/ci.md), compare with the baseline; exit 1 on a regression or a new violation')
      .usage('[options] SUITE   |   merge SHARD_OUTPUT... [--baseline FILE] [--junit FILE] [--json]')
      .argument('<suite>', 'suite file (JSON): traces, captures, scenarios or generator specs; policies; thresholds; or "merge"')
      .argument('[shards...]', 'with "merge": the --out folders of every shard')
      .action(action(async (suite: string, shards: string[], opts) => (await import('./commands/ci.js')).ciCommand(suite, shards, opts)));
  },
};

function versionFallback(): string {
  return '0.1.0';
}
