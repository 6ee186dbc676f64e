// Declares every command and option (cheap: no implementation is imported here). Each action
// loads its module on demand.

import { Command, InvalidArgumentError, Option } from 'commander';
import { INGEST_FORMATS } from './ingest-formats.js';
import { action, EXIT_BAD_INPUT } from './run.js';
import { declareGen } from './commands/gen.js';

const INPUT_HELP = 'a trace (.arrow), capture files of one run or a JSONL scenario (ingested on the fly), or a replay output folder (its trace)';

const ARCH = new Option('--arch <arch>', 'architecture').choices(['smmuv3', 'vtd']);

export function buildProgram(): Command {
  const program = new Command('invtrace')
    .description('Record, replay and analyze guest IOMMU invalidation traffic (Arm SMMUv3 CMDQ, Intel VT-d QI).')
    .version(process.env.npm_package_version ?? versionFallback(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride((err) => {
      // Usage errors exit 2 (bad input); help and version exit 0.
      process.exit(err.exitCode === 0 ? 0 : EXIT_BAD_INPUT);
    });

  program
    .command('decode')
    .description('decode one command from its raw words (SMMUv3: 2 words; VT-d: 2 or 4)')
    .argument('[words...]', '64-bit words, hex (0x...) or decimal, in queue order (DW0 DW1 / qw0 qw1 ...)')
    .addOption(ARCH.makeOptionMandatory())
    .option('--json', 'print JSON')
    .option('--desc-bytes <n>', 'VT-d queue slot width: 16 (legacy) or 32 (scalable mode)')
    .option('--list', 'print the whole command table of --arch (opcodes, fields, bit ranges)')
    .action(action(async (words: string[], opts) => (await import('./commands/decode.js')).decodeCommand(words, opts)));

  program
    .command('ingest')
    .description('read captures (format and architecture detected) into a canonical trace')
    .argument('<files...>', 'capture files (gzip is read transparently)')
    .requiredOption('-o, --output <file>', 'output trace (.arrow)')
    .addOption(new Option('--format <format>', 'force the input format').choices([...INGEST_FORMATS]))
    .addOption(new Option('--arch <arch>', 'force the architecture').choices(['smmuv3', 'vtd']))
    .option('--strict', 'stop at the first malformed line (exit 2) instead of warning and counting')
    .option('--json', 'print the ingest summary as JSON')
    .action(action(async (files: string[], opts) => (await import('./commands/ingest.js')).ingestCommand(files, opts)));

  program
    .command('info')
    .description('what a trace holds: counts per op, doorbells, wraps, queue geometry, span')
    .argument('<inputs...>', INPUT_HELP)
    .option('--json', 'print JSON')
    .option('--keep-trace <file>', 'keep the trace ingested from captures or a scenario in FILE (.arrow)')
    .action(action(async (inputs: string[], opts) => (await import('./commands/info.js')).infoCommand(inputs, opts)));

  program
    .command('export')
    .description('write a trace in another format (JSONL scenario, Parquet, CSV)')
    .argument('<inputs...>', INPUT_HELP)
    .requiredOption('-o, --output <file>', 'output file; the format follows its extension (.jsonl, .parquet, .csv)')
    .option('--keep-trace <file>', 'keep the trace ingested from captures or a scenario in FILE (.arrow)')
    .action(action(async (inputs: string[], opts) => (await import('./commands/export.js')).exportCommand(inputs, opts)));

  program
    .command('record')
    .description('run QEMU with the trace events of its vIOMMU (intel-iommu, SMMUv3), then ingest the log into a trace')
    .usage('[options] -- QEMU_COMMAND...   |   --guest-cmdline vtd|smmuv3 [--kernel-version X.Y]')
    .argument('[qemu...]', 'the QEMU command line, after "--"')
    .option('-o, --output <file>', 'output trace (.arrow)')
    .option('--dry-run', 'print the command and the events file, run nothing')
    .option('--keep-log', 'keep the events file and QEMU log (and console) next to the output, not in a temp dir')
    .option('--console [file]', 'also ingest the guest trace dumped to the serial console: adds -serial file:FILE or reuses the command\'s own')
    .option('--strict', 'stop at the first malformed capture line (exit 2)')
    .option('--json', 'print JSON')
    .addOption(new Option('--guest-cmdline <arch>', 'print the guest kernel command-line additions and the dump script').choices(['vtd', 'smmuv3']))
    .option('--kernel-version <X.Y>', 'guest kernel version, for --guest-cmdline smmuv3 (6.12 added an argument the kprobe reads)')
    .option('--kprobe-cmds <n>', 'SMMUv3 commands per batch the guest kprobe records (1-16, default 4)')
    .action(action(async (qemu: string[], opts) => (await import('./commands/record.js')).recordCommand(qemu, opts)));

  program
    .command('sql')
    .description('SQL over traces and replay results (DuckDB): one-shot with -e/-f, a REPL without; `invtrace views` lists the analyzer views')
    .argument('<inputs...>', 'traces (.arrow), captures of one run or a JSONL scenario (ingested on the fly), replay output folders and folders (every *.arrow in them; result tables load under their file names), Parquet result datasets (replay --parquet, ci --out)')
    .option('--keep-trace <file>', 'keep the trace ingested from captures or a scenario in FILE (.arrow)')
    .option('-e, --execute <sql>', 'statements to run (the table of every trace is "trace", with a file column)')
    .option('-f, --file <file>', 'a file of statements to run (before -e)')
    .option('--json', 'print results as JSON')
    .option('--csv', 'print results as CSV')
    .option('--markdown', 'print results as a Markdown table')
    .option('-o, --output <file>', 'write the last statement\'s result to .parquet or .csv instead of printing it')
    .option('--max-rows <n>', 'rows printed per result in table format')
    .option('--no-views', 'do not load the analyzer views')
    .addOption(new Option('--engine <engine>', 'DuckDB build: wasm (default), native (optional dependency @duckdb/node-api; large traces), or auto (native for inputs of 64 MiB or more when installed)').choices(['wasm', 'native', 'auto']))
    .action(action(async (inputs: string[], opts) => (await import('./commands/sql.js')).sqlCommand(inputs, opts)));

  program
    .command('views')
    .description('the analyzer views of `invtrace sql` with their comments (one view or module with its columns)')
    .argument('[name]', 'a view or module')
    .option('--json', 'print JSON')
    .action(action(async (name: string | undefined, opts) => (await import('./commands/views.js')).viewsCommand(name, opts)));

  declareGen(program.command('gen'));

  const replayOptions = (c: Command) =>
    c
      .argument('<inputs...>', INPUT_HELP)
      .option('--policy <list>', 'NAME[:key=value,...] comma-separated, "all", or "designs" (qemu-accel, kernel-ring, shadow, pv-map, migrate and their baselines)', 'all')
      .option('--topology <file>', 'topology JSON (default: the trace header\'s, else inferred from the trace)')
      .option('--costs <file>', 'cost-model parameters JSON overriding spec/costs.md defaults')
      .option('--fail-on-violation', 'exit 1 when any policy is incorrect')
      .option('--jobs <n>', 'worker threads for the policies (1: serial, same output); default one per core for traces of 4 MB or more', (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of threads, 1 or more');
        return n;
      })
      .option('--keep-trace <file>', 'keep the trace ingested from captures or a scenario in FILE (.arrow)')
      .option('--shared-host', 'the inputs are VMs on one host: replay them together on the physical IOMMUs their topologies name (docs/hosts.md)')
      .option('--interleave <mode>', 'with --shared-host: the VMs\' doorbells by timestamp (time) or in turn (round-robin); default time when every trace has timestamps')
      .option('--host-queue <n>', 'with --shared-host: slots of each physical queue (default 256; a power of two)')
      .option('--renumber-psids', 'with --shared-host: give every VM\'s devices free physical SIDs instead of the ones its topology names');

  replayOptions(program.command('replay'))
    .description('replay a trace under mediation policies; write host_ops, completions, violations, summary tables')
    .requiredOption('-o, --output <dir>', 'output folder for the result tables and timeline.json')
    .option('--parquet', 'also write the result tables as a hive-partitioned Parquet dataset (DIR/table=NAME/trace=.../policy=.../part-0.parquet)')
    .action(action(async (inputs: string[], opts) => (await import('./commands/replay.js')).replayCommand(inputs, opts)));

  replayOptions(program.command('compare'))
    .description('replay a trace under mediation policies and print them side by side: correctness and cost')
    .option('--json', 'print JSON')
    .option('--csv', 'print CSV')
    .option('--markdown', 'print a Markdown table')
    .action(action(async (inputs: string[], opts) => (await import('./commands/replay.js')).compareCommand(inputs, opts)));

  program
    .command('timeline')
    .description('a Perfetto / Trace Event Format timeline of a replay (ui.perfetto.dev, chrome://tracing): guest doorbells and completion points, each policy\'s work on the modelled clock, flows, violations')
    .argument('<inputs...>', 'a trace (.arrow), captures or a JSONL scenario (replayed first), or a replay output folder (replay -o DIR) [and its trace]')
    .requiredOption('-o, --output <file>', 'output file (.json)')
    .option('--policy <list>', 'policies when it replays: NAME[:key=value,...] comma-separated, or "all"', 'all')
    .option('--topology <file>', 'topology JSON when it replays')
    .option('--costs <file>', 'cost-model parameters JSON when it replays')
    .option('--keep-trace <file>', 'keep the trace ingested from captures or a scenario in FILE (.arrow)')
    .action(action(async (inputs: string[], opts) => (await import('./commands/timeline.js')).timelineCommand(inputs, opts)));

  program
    .command('demo')
    .description('the main job on bundled samples: ingest a real capture, replay every policy, print the comparison and findings')
    .option('--keep <dir>', 'keep the ingested traces in this folder')
    .action(action(async (opts) => (await import('./commands/demo.js')).demoCommand(opts)));

  program
    .command('tui')
    .description('full-screen inspector: commands, fields, the queue at each doorbell, policy results, SQL (? lists the keys)')
    .argument('[inputs...]', 'a trace (.arrow), capture files (ingested on the fly), or a replay output folder (replay -o DIR)')
    .option('--policy <list>', 'policies of the background replay: NAME[:key=value,...] comma-separated, or "all"', 'all')
    .option('--topology <file>', 'topology JSON for the background replay')
    .option('--costs <file>', 'cost-model parameters JSON for the background replay')
    .option('--no-replay', 'do not replay in the background (the policies view stays empty)')
    .option('--keys', 'print the key table as Markdown and exit')
    .option('--keep-trace <file>', 'keep the trace ingested from captures or a scenario in FILE (.arrow)')
    .action(action(async (inputs: string[], opts) => (await import('./commands/tui.js')).tuiCommand(inputs, opts)));

  program
    .command('report')
    .description('a readable report of a replay: Markdown and self-contained HTML with the comparison, findings, violations in context, latency and SVG charts')
    .argument('<inputs...>', 'a trace (.arrow), capture files or a JSONL scenario (ingested on the fly), or a replay output folder (replay -o DIR) [and its trace]')
    .requiredOption('-o, --output <dir>', 'output folder: report.md, report.html, charts/*.svg, results/')
    .option('--policy <list>', 'NAME[:key=value,...] comma-separated, "all" or "designs" (the default runs both: the report then compares the designs too)', 'all,designs')
    .option('--topology <file>', 'topology JSON (default: the trace header\'s, else inferred from the trace)')
    .option('--costs <file>', 'cost-model parameters JSON overriding spec/costs.md defaults')
    .addOption(new Option('--engine <engine>', 'DuckDB build for the views: wasm (default) or native').choices(['wasm', 'native']))
    .option('--keep-trace <file>', 'write the trace ingested from captures or a scenario to FILE instead of OUT/trace.arrow')
    .action(action(async (inputs: string[], opts) => (await import('./commands/report.js')).reportCommand(inputs, opts)));

  program
    .command('ci')
    .description('replay a suite of traces (docs/ci.md), compare with the baseline; exit 1 on a regression or a new violation')
    .usage('[options] SUITE   |   merge SHARD_OUTPUT... [--baseline FILE] [--junit FILE] [--json]')
    .argument('<suite>', 'suite file (JSON): traces, captures, scenarios or generator specs; policies; thresholds; or "merge"')
    .argument('[shards...]', 'with "merge": the --out folders of every shard')
    .option('--baseline <file>', 'baseline file (default: the suite\'s "baseline", else baseline.json beside the suite)')
    .option('--update-baseline', 'rewrite the baseline from this run (atomically) and exit 0')
    .option('--junit <file>', 'write JUnit XML: one testsuite per trace, one testcase per policy')
    .option('--json', 'print JSON')
    .option('--shard <i/n>', 'run the i-th of n deterministic shares of the suite\'s trace × policy results')
    .option('--out <dir>', 'keep the runs (ci-shard.json, for ci merge) and the result tables as a Parquet dataset (table=NAME/trace=.../policy=...)')
    .option('--jobs <n>', 'replay n traces at once, each in a worker thread')
    .action(action(async (suite: string, shards: string[], opts) => (await import('./commands/ci.js')).ciCommand(suite, shards, opts)));

  return program;
}

function versionFallback(): string {
  return '0.1.0';
}
