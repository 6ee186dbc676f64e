// The option table is the one declaration of the command line's options: program.ts declares
// exactly its rows, --help prints them, choices are the sources' own lists, every flag is one row,
// and the README's option table and command synopses agree with it (each check shown to fire on a
// near-identical wrong case). Scripts see the same validation as before: the messages below are
// commander's wording around the table's parsers and choices, and the exit code is 2 (usage).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE_CHOICES, ENGINES } from '../analyzers/sql-engine/engine.js';
import { ARCHES } from '../formats/codec/table.js';
import { POLICIES } from '../replay/policies/index.js';
import { OPTIONS as GEN_OPTIONS } from '../samples/gen/options.js';
import { cli, ROOT } from '../test/helpers.js';
import { INGEST_FORMATS } from './ingest-formats.js';
import { optionsDrift, optionsMarkdown, synopsisStrays, withOptionsTable } from './options-doc.js';
import { COMMANDS, commandOptions, duplicateFlags, flagsWithArg, OPTIONS, resolveOption, type CliOption } from './options.js';
import { buildProgram } from './program.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const row = (flags: string): CliOption => OPTIONS.find((o) => o.flags === flags)!;

describe('the option table drives commander', () => {
  const program = buildProgram();
  it("the program has exactly the table's commands", () => {
    expect(program.commands.map((c) => c.name()).sort()).toEqual([...COMMANDS].sort());
  });
  it.each(COMMANDS)("%s declares the table's options, in table order, as the table gives them", (name) => {
    const cmd = program.commands.find((c) => c.name() === name)!;
    const table = commandOptions(name);
    // gen: the table's rows, then the generator's knobs (samples/gen/options.ts), one each.
    const knobs = name === 'gen' ? GEN_OPTIONS.map((o) => o.flag) : [];
    expect(cmd.options.map((o) => o.flags)).toEqual([...table.map(flagsWithArg), ...knobs]);
    table.forEach((t, i) => {
      const o = cmd.options[i]!;
      expect(o.description).toBe(t.description);
      expect(o.mandatory).toBe(t.required);
      expect(o.defaultValue).toBe(t.default);
      expect(o.argChoices).toEqual(t.choices);
    });
  });
  it('program.ts declares no option itself', () => {
    const src = readFileSync(join(ROOT, 'cli/program.ts'), 'utf8');
    expect(src).not.toMatch(/\.option\(|\.requiredOption\(|new Option\(/);
  });
  it('every flag is one row, and a second row for a flag is caught', () => {
    expect(duplicateFlags()).toEqual([]);
    // The old shape: compare and timeline each declaring --policy.
    expect(duplicateFlags([...OPTIONS, { flags: '--policy', arg: '<list>', description: 'x', commands: { timeline: {} } }])).toEqual([
      '--policy',
    ]);
  });
  it("choices are their sources' lists, not copies", () => {
    expect(resolveOption(row('--engine'), 'sql')!.choices).toBe(ENGINE_CHOICES);
    expect(resolveOption(row('--engine'), 'report')!.choices).toBe(ENGINES);
    expect(resolveOption(row('--format'), 'ingest')!.choices).toBe(INGEST_FORMATS);
    expect(resolveOption(row('--arch'), 'decode')!.choices).toBe(ARCHES);
  });
  it('--policy lists the policy registry (docs only: the replay checks the names)', async () => {
    expect(await row('--policy').listed!.load()).toEqual([...Object.keys(POLICIES), 'all', 'designs']);
    expect(resolveOption(row('--policy'), 'replay')!.choices).toBeUndefined();
  });
});

// main.ts passes argv[2]: a command named there is declared alone (the others' options are work
// for nothing); anything else gets every command, for the program's help and an unknown command's
// suggestion.
describe('only the invoked command is declared', () => {
  const whole = buildProgram();
  it.each(COMMANDS)('%s alone: the same options, arguments and help as in the whole program', (name) => {
    const alone = buildProgram(name);
    expect(alone.commands.map((c) => c.name())).toEqual([name]);
    const cmd = alone.commands[0]!;
    const same = whole.commands.find((c) => c.name() === name)!;
    expect(cmd.options.map((o) => o.flags)).toEqual(same.options.map((o) => o.flags));
    expect(cmd.helpInformation()).toBe(same.helpInformation());
  });
  it('anything else declares them all (an inherited property of the table is not a command)', () => {
    for (const a of [undefined, '--help', '-h', 'help', 'ingset', 'toString', '__proto__'])
      expect(buildProgram(a).commands.map((c) => c.name())).toEqual(whole.commands.map((c) => c.name()));
    expect(whole.commands).toHaveLength(COMMANDS.length);
  });
  it('-V and --version first: no command (the version is printed as the option is read)', () => {
    expect(buildProgram('-V').commands).toEqual([]);
    expect(buildProgram('--version').commands).toEqual([]);
    for (const args of [['-V'], ['--version'], ['--version', 'ingest'], ['-V', '--nope']]) {
      const r = cli(...args);
      expect([r.code, r.stdout, r.stderr]).toEqual([0, `${buildProgram().version()}\n`, '']);
    }
  });
});

describe('--help and validation come from the table', () => {
  it('compare --help prints every row compare takes', () => {
    const help = cli('compare', '--help').stdout.replace(/\s+/g, ' ');
    for (const o of commandOptions('compare')) expect(help).toContain(`${flagsWithArg(o)} ${o.description}`);
    expect(help).toContain('(default: "all")');
  });
  it.each([
    // the table's --jobs parser (option-values.ts threadCount)
    [
      ['compare', 'x.arrow', '--jobs', '0'],
      "error: option '--jobs <n>' argument '0' is invalid. expected a whole number of threads, 1 or more",
    ],
    // replay's -o is required and spelled <dir>; report's --engine has no `auto`
    [['replay', 'x.arrow'], "error: required option '-o, --output <dir>' not specified"],
    [
      ['report', 'x.arrow', '-o', 'r', '--engine', 'auto'],
      "error: option '--engine <engine>' argument 'auto' is invalid. Allowed choices are wasm, native.",
    ],
    // ci's --jobs has no parser: ci checks the text itself
    [['ci', 'suite.json', '--jobs', '0'], 'invtrace: --jobs: expected a whole number >= 1, got 0'],
  ])('%j: exit 2, %s', (args, message) => {
    const r = cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(message);
  });
});

describe('the README agrees with the table (regenerate: npm run docs:options)', () => {
  it("its option table is the table's", async () => {
    expect(optionsDrift(README, await optionsMarkdown())).toBeUndefined();
  });
  it('a README one default off, or a table with one more row, is caught', async () => {
    const md = await optionsMarkdown();
    const fresh = withOptionsTable(README, md); // the README as regenerated: no drift
    expect(optionsDrift(fresh, md)).toBeUndefined();
    const off = fresh.replace('| report | `all,designs` |', '| report | `all` |');
    expect(off).not.toBe(fresh);
    expect(optionsDrift(off, md)).toMatch(/^line \d+ of the option table: README has ".*\| report \| `all` \|/);
    expect(optionsDrift(fresh, `${md}\n| \`--shared-host\` | compare |  |  | x |`)).toMatch(/README has "\(nothing\)"/);
    expect(optionsDrift(fresh.replace('<!-- invtrace options: end -->', ''), md)).toMatch(/no <!-- invtrace options: begin -->/);
  });
  it("the command table's synopses name only options their command takes", () => {
    expect(synopsisStrays(README)).toEqual([]);
    // near-identical: a misspelt flag, and a flag of another command (sql's --engine on replay)
    expect(synopsisStrays(README.replace('[--topology F] [--costs F] [--no-replay]', '[--topolgy F] [--costs F] [--no-replay]'))).toEqual([
      'invtrace tui --topolgy',
    ]);
    expect(synopsisStrays(README.replace('-o DIR [--parquet]', '-o DIR [--parquet] [--engine E]'))).toEqual(['invtrace replay --engine']);
  });
});
