// `invtrace tui TRACE|CAPTURE...|DIR`: the full-screen trace and policy inspector (cli/tui/). Ink and
// React load here, when the command runs, never at CLI start (cli/tui/startup.test.ts checks).
// `--keys` prints the key table as Markdown (the README's TUI section).

import { EXIT_BAD_INPUT, out, UsageError } from '../run.js';
import { isTerminal, writeErr } from '../stdio.js';

export interface TuiCliOptions {
  readonly policy: string;
  readonly topology?: string;
  readonly costs?: string;
  /** commander's --no-replay */
  readonly replay?: boolean;
  readonly keys?: boolean;
}

export async function tuiCommand(inputs: string[], opts: TuiCliOptions): Promise<number> {
  if (opts.keys) {
    out((await import('../tui/keys.js')).keysMarkdown());
    return 0;
  }
  if (inputs.length === 0) throw new UsageError('tui: give a trace, capture files or a replay output folder');
  const input = await (await import('../tui/source.js')).resolveTuiInput(inputs); // bad input: exit 2, screen untouched
  if (!process.stdin.isTTY || !isTerminal(1)) {
    writeErr('invtrace: tui needs a terminal (stdin and stdout must be a TTY); use info, compare or sql in scripts\n');
    return EXIT_BAD_INPUT;
  }
  // Ink draws nothing but the last frame when it thinks it runs in CI; a terminal is not CI.
  for (const k of ['CI', 'CONTINUOUS_INTEGRATION']) if (k in process.env) process.env[k] = 'false';
  // React's production build: its development build keeps debug records of every render (the
  // heap grows by hundreds of MiB over a few thousand keys; bench/tui.bench.ts) and is slower.
  process.env.NODE_ENV ??= 'production';
  const { runTui } = await import('../tui/main.js');
  const { splitPolicyList } = await import('../option-values.js');
  const code = await runTui(input, {
    policies: splitPolicyList(opts.policy),
    replay: opts.replay !== false,
    ...(opts.topology ? { topologyFile: opts.topology } : {}),
    ...(opts.costs ? { costsFile: opts.costs } : {}),
  });
  // Worker threads (DuckDB, a replay) end as the App unmounts; do not wait on a slow one.
  setTimeout(() => process.exit(process.exitCode ?? code), 1500).unref();
  return code;
}
