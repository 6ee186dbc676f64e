// The analyzer library: Perfetto-style SQL modules in analyzers/sql/*.sql (STYLE.md §3). A module
// is one concept: `CREATE OR REPLACE VIEW|MACRO|TABLE` statements only, public names prefixed with
// the module name (the file name), internal names starting with `_`, a comment above every object
// and every view column. Its header comment says what it reads (`-- Requires: trace`); a module
// whose tables are absent (a folder without replay results) is skipped, so adding a .sql file is
// all a new analysis takes.
//
// A TABLE (internal names only, `CREATE OR REPLACE TABLE _name AS SELECT ...`) is an intermediate
// result several views read, like a Perfetto table: installing the module creates it as a view
// (nothing is computed, the views over it bind), and a session computes it once, the first time a
// statement reads it (`materializeSql`), so the views after that read its rows instead of
// computing them again. Its answers are the same either way.
//
// This file parses and checks modules without DuckDB (`invtrace views` and `sql --help` list them
// at once); `installModules` runs them on an engine and turns their comments into COMMENT ON.

import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { packageRoot } from '../formats/paths.js';
import { ident, literal, type SqlEngine } from './sql-engine/engine.js';

export interface SqlColumn {
  readonly name: string;
  readonly doc: string;
}

export interface SqlObject {
  /** A table is an intermediate result computed once per session (see the header). */
  readonly kind: 'view' | 'macro' | 'table';
  readonly name: string;
  readonly doc: string;
  /** View columns as declared in its column list, with their comments. */
  readonly columns: readonly SqlColumn[];
  /** The statement as written (comments included). */
  readonly sql: string;
  /** Line of the statement's first code line. */
  readonly line: number;
}

export interface SqlModule {
  readonly name: string;
  readonly file: string;
  /** The header comment, without the Requires line. */
  readonly doc: string;
  /** Tables (trace, traces, devices, host_ops, ...) or other modules this one reads. */
  readonly requires: readonly string[];
  readonly objects: readonly SqlObject[];
  /** Statements that are not CREATE OR REPLACE VIEW|MACRO (the lint reports them). */
  readonly stray: readonly { readonly line: number; readonly sql: string }[];
}

/** The bundled modules' folder. */
export const modulesDir = (): string => join(packageRoot(), 'analyzers', 'sql');

interface Stmt {
  readonly sql: string;
  /** Comment lines directly above the statement (no blank line between). */
  readonly doc: string;
  readonly line: number;
}

/**
 * Splits SQL text into statements at `;` outside quotes and comments. Each statement keeps the
 * comment block written right above it.
 */
export function splitStatements(text: string): Stmt[] {
  const out: Stmt[] = [];
  let i = 0;
  let line = 1;
  let start = 0;
  let pending: string[] = []; // comment lines since the last blank line, before any code
  let code = false as boolean; // code seen in the current statement (set in markCode(): `as` keeps TS from narrowing it)
  let firstCode = 1;
  let doc = '';
  const flush = (end: number) => {
    const sql = text.slice(start, end).trim();
    if (code) out.push({ sql, doc, line: firstCode });
    code = false;
    pending = [];
    doc = '';
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '-' && text[i + 1] === '-') {
      const eol = text.indexOf('\n', i);
      const end = eol === -1 ? text.length : eol;
      // Only whole-line comments document what follows (not one trailing a statement's `;`).
      const ownLine = text.slice(text.lastIndexOf('\n', i - 1) + 1, i).trim() === '';
      if (!code && ownLine) pending.push(text.slice(i + 2, end).replace(/^ /, ''));
      i = end;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      line += text.slice(i, stop).split('\n').length - 1;
      i = stop;
      continue;
    }
    if (c === '\n') {
      // A blank line before any code separates a comment block from the statement below it.
      if (!code && text.slice(text.lastIndexOf('\n', i - 1) + 1, i).trim() === '') pending = [];
      line++;
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < text.length && !(text[j] === c && text[j + 1] !== c)) j += text[j] === c ? 2 : 1;
      line += text.slice(i, j + 1).split('\n').length - 1;
      if (!code) markCode();
      i = j + 1;
      continue;
    }
    if (c === ';') {
      flush(i + 1);
      start = i + 1;
      i++;
      continue;
    }
    if (!code && !/\s/.test(c)) markCode();
    i++;
  }
  flush(text.length);
  return out;

  function markCode() {
    code = true;
    firstCode = line;
    doc = pending.join('\n').trim();
  }
}

const CREATE = /^CREATE\s+OR\s+REPLACE\s+(VIEW|MACRO|TABLE)\s+([A-Za-z_][A-Za-z0-9_]*)\s*(\()?/i;

/** Column names and comments of a view's column list: `name(\n -- doc\n col,\n ...) AS`. */
function viewColumns(sql: string, open: number): SqlColumn[] {
  const cols: SqlColumn[] = [];
  let doc: string[] = [];
  let depth = 0;
  for (const raw of sql.slice(open).split('\n')) {
    const l = raw.trim();
    if (l.startsWith('--')) {
      doc.push(l.slice(2).trim());
      continue;
    }
    for (const m of l.matchAll(/([A-Za-z_][A-Za-z0-9_]*)|(\()|(\))/g)) {
      if (m[2]) depth++;
      else if (m[3]) {
        depth--;
        if (depth === 0) return cols;
      } else if (depth === 1) {
        cols.push({ name: m[1]!, doc: doc.join(' ').trim() });
        doc = [];
      }
    }
  }
  return cols;
}

export function parseModule(file: string, text = readFileSync(file, 'utf8')): SqlModule {
  const name = basename(file, '.sql');
  // The module header: the first comment block, up to the first blank line.
  const head: string[] = [];
  for (const l of text.split('\n')) {
    if (!l.trim().startsWith('--')) break;
    head.push(l.trim().slice(2).trim());
  }
  const req = head.find((l) => /^Requires:/i.test(l));
  const requires = req
    ? req
        .replace(/^Requires:/i, '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
  const objects: SqlObject[] = [];
  const stray: { line: number; sql: string }[] = [];
  for (const s of splitStatements(text)) {
    const code = s.sql.replace(/^(\s*--[^\n]*\n)+/, '').trim();
    const m = CREATE.exec(code);
    if (!m) {
      stray.push({ line: s.line, sql: code });
      continue;
    }
    const kind = m[1]!.toLowerCase() as SqlObject['kind'];
    const columns = kind === 'view' && m[3] ? viewColumns(code, m.index + m[0].length - 1) : [];
    // A statement's own doc is the block above it, unless that block is the module header.
    const doc = objects.length === 0 && stray.length === 0 && s.doc === head.join('\n').trim() ? '' : s.doc;
    objects.push({ kind, name: m[2]!, doc, columns, sql: code, line: s.line });
  }
  return {
    name,
    file,
    doc: head
      .filter((l) => l !== req)
      .join(' ')
      .trim(),
    requires,
    objects,
    stray,
  };
}

/** Every bundled module, in file-name order. */
export function loadModules(dir = modulesDir()): SqlModule[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => parseModule(join(dir, f)));
}

/** What a module breaks of STYLE.md §3, one message each ("file:line: ..."). */
export function lintModule(m: SqlModule): string[] {
  const out: string[] = [];
  const at = (line: number) => `${basename(m.file)}:${line}`;
  if (m.doc === '') out.push(`${at(1)}: the module has no header comment`);
  if (m.requires.length === 0) out.push(`${at(1)}: the header has no "-- Requires: TABLE, ..." line`);
  for (const s of m.stray)
    out.push(`${at(s.line)}: only CREATE OR REPLACE VIEW|MACRO|TABLE statements belong in a module: ${s.sql.split('\n')[0]}`);
  for (const o of m.objects) {
    const internal = o.name.startsWith('_');
    if (o.kind === 'table' && !internal)
      out.push(`${at(o.line)}: table ${o.name} is public (a module's tables are internal: name it _${o.name})`);
    if (o.kind === 'table' && tableQuery(o) === undefined)
      out.push(`${at(o.line)}: table ${o.name} is not CREATE OR REPLACE TABLE name AS SELECT|WITH ...`);
    if (!internal && !o.name.startsWith(`${m.name}_`))
      out.push(`${at(o.line)}: public ${o.kind} ${o.name} does not start with "${m.name}_" (internal names start with "_")`);
    if (o.doc === '') out.push(`${at(o.line)}: ${o.kind} ${o.name} has no comment above it`);
    if (o.kind === 'view' && !internal) {
      if (o.columns.length === 0) out.push(`${at(o.line)}: public view ${o.name} lists no columns (write name(-- doc\\n col, ...) AS)`);
      for (const c of o.columns) if (c.doc === '') out.push(`${at(o.line)}: column ${o.name}.${c.name} has no comment above it`);
    }
  }
  return out;
}

/** A table's query: what follows `CREATE OR REPLACE TABLE name AS` (undefined if it is not a SELECT or WITH). */
function tableQuery(o: SqlObject): string | undefined {
  const m = /^CREATE\s+OR\s+REPLACE\s+TABLE\s+[A-Za-z_][A-Za-z0-9_]*\s+AS\s+((?:SELECT|WITH)\b[\s\S]*?);?\s*$/i.exec(o.sql);
  return m?.[1];
}

/** Where a session keeps a table's rows once computed (a name no file's relation or module object takes). */
const rowsTable = (o: SqlObject): string => `_${o.name}_rows`;

/** What COMMENT ON calls an object: VIEW (a table is a view until computed), MACRO, or MACRO TABLE for a table macro. */
function commentTarget(o: SqlObject): string {
  if (o.kind === 'view' || o.kind === 'table') return 'VIEW';
  return /\)\s*AS\s+TABLE\b/i.test(o.sql) ? 'MACRO TABLE' : 'MACRO';
}

export interface InstallReport {
  readonly installed: readonly string[];
  readonly skipped: readonly { readonly module: string; readonly missing: readonly string[] }[];
}

/**
 * Which modules a session over `tables` (the relations it loaded) can provide, in dependency order
 * (a module after the modules it requires), and which it cannot, naming what they lack.
 */
export function planModules(
  tables: ReadonlySet<string>,
  modules: readonly SqlModule[] = loadModules(),
): { available: SqlModule[]; skipped: InstallReport['skipped'] } {
  const have = new Set(tables);
  const available: SqlModule[] = [];
  const skipped: { module: string; missing: string[] }[] = [];
  const byName = new Map(modules.map((m) => [m.name, m]));
  const done = new Set<string>();
  const visit = (m: SqlModule, path: readonly string[]): void => {
    if (done.has(m.name)) return;
    if (path.includes(m.name)) throw new Error(`SQL modules require each other in a loop: ${[...path, m.name].join(' -> ')}`);
    for (const r of m.requires) {
      const dep = byName.get(r);
      if (dep) visit(dep, [...path, m.name]);
    }
    done.add(m.name);
    const missing = m.requires.filter((r) => !have.has(r));
    if (missing.length > 0) {
      skipped.push({ module: m.name, missing });
      return;
    }
    have.add(m.name);
    available.push(m);
  };
  for (const m of modules) visit(m, []);
  return { available, skipped };
}

/** An object's COMMENT ONs. */
const comments = (o: SqlObject): string[] => [
  ...(o.doc ? [`COMMENT ON ${commentTarget(o)} ${ident(o.name)} IS ${literal(o.doc.replace(/\s*\n\s*/g, ' '))}`] : []),
  ...o.columns.map((c) => `COMMENT ON COLUMN ${ident(o.name)}.${ident(c.name)} IS ${literal(c.doc)}`),
];

/** A module's statements with their COMMENT ONs, as one script; a table is created as a view of its query. */
function moduleScript(m: SqlModule): string[] {
  return m.objects.map(
    (o) =>
      [
        o.kind === 'table' ? `CREATE OR REPLACE VIEW ${ident(o.name)} AS ${tableQuery(o)!}` : o.sql.replace(/;\s*$/, ''),
        ...comments(o),
      ].join(';\n') + ';',
  );
}

/**
 * The script that computes a module's table once: its rows go into a temporary table and the view
 * of the same name (what the module's views read) becomes a scan of them. Run it after the module
 * is installed; the answers are the same as before, only no longer computed on every read.
 */
export function materializeSql(o: SqlObject): string {
  if (o.kind !== 'table') throw new Error(`${o.name} is a ${o.kind}, not a table`);
  return (
    [
      `CREATE OR REPLACE TEMP TABLE ${ident(rowsTable(o))} AS ${tableQuery(o)!}`,
      `CREATE OR REPLACE VIEW ${ident(o.name)} AS SELECT * FROM ${ident(rowsTable(o))}`,
      ...comments(o),
    ].join(';\n') + ';'
  );
}

/**
 * The tables a statement reads (its words: `sqlWords`), through the views and macros it names and
 * those they read in turn, in the modules' order (a table before any table reading it).
 */
export function tablesReadBy(words: ReadonlySet<string>, modules: readonly SqlModule[]): SqlObject[] {
  const objects = modules.flatMap((m) => m.objects);
  const byName = new Map(objects.map((o) => [o.name.toLowerCase(), o]));
  const seen = new Set<SqlObject>();
  const visit = (ws: ReadonlySet<string>) => {
    for (const w of ws) {
      const o = byName.get(w);
      if (o === undefined || seen.has(o)) continue;
      seen.add(o);
      visit(sqlWords(o.sql));
    }
  };
  visit(words);
  return objects.filter((o) => o.kind === 'table' && seen.has(o));
}

/**
 * Creates the views and macros of `modules` (in the order given: dependencies first) in one trip to
 * the engine. A module that fails is a bug in it: the error names its file, line and object.
 */
export async function createModules(engine: SqlEngine, modules: readonly SqlModule[]): Promise<void> {
  if (modules.length === 0) return;
  try {
    await engine.exec(modules.flatMap(moduleScript).join('\n'));
  } catch {
    // Find the statement at fault, one object at a time.
    for (const m of modules) {
      const scripts = moduleScript(m);
      for (const [i, o] of m.objects.entries()) {
        try {
          await engine.exec(scripts[i]!);
        } catch (e) {
          throw new Error(`${basename(m.file)}:${o.line}: ${o.name}: ${(e as Error).message}`, { cause: e });
        }
      }
    }
  }
}

/**
 * Creates the views and macros of every module whose requirements are present (`tables`: the
 * relations the session loaded), in dependency order, and stores the comments with COMMENT ON.
 */
export async function installModules(
  engine: SqlEngine,
  tables: ReadonlySet<string>,
  modules: readonly SqlModule[] = loadModules(),
): Promise<InstallReport> {
  const { available, skipped } = planModules(tables, modules);
  await createModules(engine, available);
  return { installed: available.map((m) => m.name), skipped };
}

/** The public views a session over traces alone provides (the others need a replay's result tables). */
export function traceViews(modules: readonly SqlModule[] = loadModules()): string[] {
  return planModules(new Set(['trace', 'traces', 'queues', 'devices']), modules).available.flatMap((m) =>
    m.objects.filter((o) => o.kind === 'view' && !o.name.startsWith('_')).map((o) => o.name),
  );
}

/**
 * The words of SQL text, lower-case: identifiers, keywords, and the words inside quoted names and
 * string literals too (`WHERE view_name = 'wraps_summary'` names that view). Comments are left out.
 */
export function sqlWords(text: string): Set<string> {
  const words = new Set<string>();
  const code = text.replace(/--[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ');
  for (const m of code.matchAll(/[A-Za-z_][A-Za-z0-9_$]*/g)) words.add(m[0].toLowerCase());
  return words;
}

/**
 * The modules SQL text uses: those one of whose views or macros it names (or the module itself),
 * with the modules they require, in dependency order (a subsequence of `available`).
 */
export function modulesUsedBy(words: ReadonlySet<string>, available: readonly SqlModule[]): SqlModule[] {
  const byName = new Map(available.map((m) => [m.name, m]));
  const want = new Set<string>();
  const add = (m: SqlModule) => {
    if (want.has(m.name)) return;
    want.add(m.name);
    for (const r of m.requires) {
      const dep = byName.get(r);
      if (dep) add(dep);
    }
  };
  for (const m of available) if (words.has(m.name) || m.objects.some((o) => words.has(o.name.toLowerCase()))) add(m);
  return available.filter((m) => want.has(m.name));
}
