// `invtrace gen WORKLOAD -o OUT.arrow [options]` and `invtrace gen --list`: synthetic traces from
// the Linux driver models of samples/gen. Its own options (-o, --list, --json, --markdown) are rows
// of the CLI option table (cli/options.ts); the generator's knobs come from samples/gen/options.ts
// (one row each). This module only declares them and loads the generator when the command runs.

import type { Command } from 'commander';
import { InputFault } from '../../formats/result.js';
import { OPTIONS, type OptionKey } from '../../samples/gen/options.js';
import { addOptions } from '../options.js';
import { action, out, UsageError } from '../run.js';
import { writeErr } from '../stdio.js';

export interface GenCliOptions extends Partial<Record<OptionKey, string>> {
  readonly output?: string;
  readonly list?: boolean;
  readonly json?: boolean;
  readonly markdown?: boolean;
}

/** Declares `gen` on a command made by `program.command('gen')` (it inherits exit handling). */
export function declareGen(cmd: Command): Command {
  cmd
    .description('synthetic traces modelled on the Linux SMMUv3 / VT-d drivers (gen --list: workloads and options)')
    .argument('[workload]', 'a workload or capture profile (gen --list)');
  addOptions(cmd, 'gen');
  for (const o of OPTIONS) cmd.option(o.flag, `${o.arch ? `[${o.arch}] ` : ''}${o.description}`);
  return cmd.action(action(genCommand));
}

const n = (v: number) => v.toLocaleString('en-US');

export async function genCommand(workload: string | undefined, opts: GenCliOptions): Promise<number> {
  if (opts.list) {
    const docs = await import('../../samples/gen/docs.js');
    const { toJson } = await import('../render/json.js');
    out(opts.json ? toJson(docs.listJson()) : opts.markdown ? docs.listMarkdown() : docs.listText());
    return 0;
  }
  if (workload === undefined) throw new UsageError('gen: a workload is needed (gen --list shows them)');
  if (opts.output === undefined) throw new UsageError('gen: -o OUT.arrow is needed');
  (await import('../inputs.js')).refuseInput('gen', 'a workload name (gen --list shows them)', workload);
  const user: Partial<Record<OptionKey, string>> = {};
  for (const o of OPTIONS) if (opts[o.key] !== undefined) user[o.key] = opts[o.key];
  const { plan, generate } = await import('../../samples/gen/generate.js');
  const p = plan(workload, user);
  if (!p.ok) throw new InputFault(p.error);
  const s = await generate(p.value, opts.output);
  if (opts.json) {
    const { toJson } = await import('../render/json.js');
    out(toJson(s));
  } else {
    out(
      `${s.output}: ${s.workload} (${s.arch}, ${s.mode}, seed ${s.seed}): ${n(s.commands)} commands, ${n(s.doorbells)} doorbells, ` +
        `${n(s.wraps)} ring wraps, ${n(s.requests)} requests over ${s.model_seconds.toFixed(3)} s of guest time`,
    );
  }
  for (const i of s.injections_unfired) {
    writeErr(`invtrace: gen: the run ended before --inject ${i.kind}@${i.at} could fire\n`);
  }
  return 0;
}
