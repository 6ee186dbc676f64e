// The README's option table, rendered from the option table (options.ts), and the checks that keep
// the README true to it: the table between its markers is what optionsMarkdown() renders, and the
// command synopses of the README's command table name only options their command takes.
// `npm run docs:options` (node dist/cli/options-doc.js --write) rewrites the README's table;
// without --write it prints the table.

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OPTIONS as GEN_OPTIONS } from '../samples/gen/options.js';
import { COMMANDS, commandOptions, flagsWithArg, OPTIONS, resolveOption, type CommandName, type ResolvedOption } from './options.js';
import { writeOut } from './stdio.js';

export const BEGIN = '<!-- invtrace options: begin -->';
export const END = '<!-- invtrace options: end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|');
const code = (s: string) => `\`${cell(s)}\``;

/** What a README row shows of an option as one command takes it (commands sharing it share the row). */
function rowKey(o: ResolvedOption): string {
  return JSON.stringify([flagsWithArg(o), o.description, o.default, o.choices, o.required]);
}

/**
 * The option table as Markdown: a row per option and meaning, with the commands that take it so,
 * its default (or "required"), the values it takes (from their sources) and what it does.
 */
export async function optionsMarkdown(): Promise<string> {
  const lines = ['| option | commands | default | values | meaning |', '| --- | --- | --- | --- | --- |'];
  for (const row of OPTIONS) {
    const groups = new Map<string, { o: ResolvedOption; commands: CommandName[] }>();
    for (const c of COMMANDS) {
      const o = resolveOption(row, c);
      if (o === undefined) continue;
      const k = rowKey(o);
      const g = groups.get(k);
      if (g) g.commands.push(c);
      else groups.set(k, { o, commands: [c] });
    }
    const listed = row.listed ? await row.listed.load() : undefined;
    for (const { o, commands } of groups.values()) {
      const values = o.choices ?? listed;
      lines.push(
        `| ${code(flagsWithArg(o))} | ${commands.join(', ')} | ${o.required ? 'required' : o.default !== undefined ? code(o.default) : ''} | ` +
          `${values ? values.map(code).join(', ') : ''} | ${cell(o.description)} |`,
      );
    }
  }
  return lines.join('\n');
}

/** Where the README's option table lies: after the begin marker's line, up to the end marker's. */
function sectionBounds(readme: string): { from: number; to: number } | undefined {
  const b = readme.indexOf(`${BEGIN}\n`);
  const e = readme.indexOf(END, b);
  return b < 0 || e < 0 ? undefined : { from: b + BEGIN.length + 1, to: e };
}

/** The README's option table (between the markers), or undefined without them. */
export function readmeOptionsSection(readme: string): string | undefined {
  const at = sectionBounds(readme);
  return at === undefined ? undefined : readme.slice(at.from, at.to).replace(/\n$/, '');
}

/** Why the README's option table is not `expected` (the first differing line), or undefined. */
export function optionsDrift(readme: string, expected: string): string | undefined {
  const have = readmeOptionsSection(readme);
  if (have === undefined) return `the README has no ${BEGIN} ... ${END} section`;
  if (have === expected) return undefined;
  const h = have.split('\n');
  const x = expected.split('\n');
  for (let i = 0; i < Math.max(h.length, x.length); i++) {
    if (h[i] !== x[i])
      return `line ${i + 1} of the option table: README has ${JSON.stringify(h[i] ?? '(nothing)')}, the table gives ${JSON.stringify(x[i] ?? '(nothing)')}`;
  }
  return undefined;
}

/**
 * Options the README's command table names for a command that does not take them, as
 * `command --flag`: each row starting `` `invtrace CMD `` is checked against CMD's options (and,
 * for gen, the generator's knobs).
 */
export function synopsisStrays(readme: string): string[] {
  const strays: string[] = [];
  for (const m of readme.matchAll(/^\| `invtrace ([a-z]+) ([^`]*)`/gm)) {
    const command = m[1] as CommandName;
    if (!(COMMANDS as readonly string[]).includes(command)) {
      strays.push(`invtrace ${command}: not a command`);
      continue;
    }
    const known = new Set(commandOptions(command).flatMap((o) => o.flags.split(/,\s*/)));
    if (command === 'gen') for (const o of GEN_OPTIONS) known.add(o.flag.split(' ')[0]!);
    for (const f of m[2]!.matchAll(/(?<![\w-])(--?[a-z][a-z-]*)/g)) if (!known.has(f[1]!)) strays.push(`invtrace ${command} ${f[1]}`);
  }
  return strays;
}

/** `readme` with its option table replaced by `table`. */
export function withOptionsTable(readme: string, table: string): string {
  const at = sectionBounds(readme);
  if (at === undefined) throw new Error(`README.md has no ${BEGIN} ... ${END} section`);
  return `${readme.slice(0, at.from)}${table}\n${readme.slice(at.to)}`;
}

async function main(argv: readonly string[]): Promise<void> {
  const table = await optionsMarkdown();
  if (!argv.includes('--write')) {
    writeOut(`${table}\n`);
    return;
  }
  const file = join(resolve(import.meta.dirname, '../..'), 'README.md');
  const next = withOptionsTable(readFileSync(file, 'utf8'), table);
  writeFileSync(`${file}.tmp`, next);
  renameSync(`${file}.tmp`, file);
  writeOut(`${file}: option table written (${table.split('\n').length - 2} rows)\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main(process.argv.slice(2));
