// The CLI as users run it (package.json "bin"): tsc's output under dist/ bundled by rolldown into
// dist/bin/, one entry for the command line and one per worker thread, sharing chunks. Node loads a
// module graph file by file: an unbundled ingest loaded 233 files, 146 of them apache-arrow's; the
// bundle's ingest loads 9 (the stub, the code cache's loader, the runtime, the entry, the command
// line's chunk, the ingest groups below and two small shared chunks). Each command still loads its
// own code (and Arrow) only when it runs, as the unbundled CLI did. Packages that find files beside
// their own modules (the DuckDB and Parquet WebAssembly builds) and the TUI's ink and React stay in
// node_modules, imported as they are.
// The ingest command's own modules (those it imports statically that the command line does not)
// go in two chunks, the part that commands reading traces share and the rest: Node's per-file work
// (resolve, read, link) is most of what a small file costs (docs/ingest.md "Twentieth pass").
// The bundle is CommonJS (dist/bin/package.json says so), each entry a stub that first hooks the
// compile of the chunks to their V8 code caches (cli/code-cache.ts; `npm run build` trains them,
// cli/code-cache-train.ts): Node 20 caches the compile of neither ES modules nor CommonJS. Ink, an
// ES module only, is imported (`import()`) before the TUI's chunks need it (esmOnly below).
// Run by `npm run build` after tsc (the entries are tsc's JavaScript).
// @ts-check
import * as nodeFs from 'node:fs';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as ink from 'ink';
import { defineConfig } from 'rolldown';
import { BUNDLE_DIR, WORKER_SCRIPTS, bundledWorker } from './dist/formats/worker-job.js';

/** Static `import`/`export ... from` of a relative module in tsc's output (type-only imports are erased). */
const STATIC_IMPORT = /(?:^|[;\n])\s*(?:import|export)\s+(?:[\w$*{}\s,]+?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/g;

/**
 * The files `entry` imports statically, itself included, transitively (absolute paths).
 * @param {string} entry
 * @returns {Set<string>}
 */
function staticClosure(entry) {
  /** @type {Set<string>} */
  const seen = new Set();
  /** @param {string} file */
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) visit(resolve(dirname(file), /** @type {string} */ (m[1])));
  };
  visit(resolve(entry));
  return seen;
}

const MAIN = resolve('dist/cli/main.js');
const COMMAND_LINE = staticClosure(MAIN);
/** The ingest command's modules that the command line does not load. */
const INGEST_ALL = [...staticClosure('dist/cli/commands/ingest.js')].filter((f) => !COMMAND_LINE.has(f));
/** Of those, the ones commands that read traces also load (a capture given to them is ingested on the fly). */
const READERS = ['info', 'export', 'replay', 'report', 'timeline', 'decode', 'sql', 'views'].map((c) =>
  staticClosure(`dist/cli/commands/${c}.js`),
);
const INGEST_SHARED = new Set(INGEST_ALL.filter((f) => READERS.some((r) => r.has(f))));
const INGEST = new Set(INGEST_ALL.filter((f) => !INGEST_SHARED.has(f)));

/**
 * commander requires `node:child_process` when it loads, for executable subcommands (`git`-style
 * `program-sub` files), which invtrace has none of; Node then loads child_process and what it brings
 * (net, dgram, the stream modules...), ~60 M instructions of each run's start. Its one use, `spawn`,
 * now requires it when called.
 * @type {import('rolldown').Plugin}
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  transform: {
    filter: { id: /[\\/]commander[\\/]lib[\\/]command\.js$/ },
    handler(code) {
      const eager = "const childProcess = require('node:child_process');";
      if (!code.includes(eager) || code.split('childProcess.').length - 1 !== code.split('childProcess.spawn(').length - 1)
        throw new Error('commander changed: rolldown.config.js lazyChildProcess no longer fits');
      return code.replace(eager, "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };");
    },
  },
};

const FS_PLAIN = '\0node-fs-plain';
const FS_LAZY = ['ReadStream', 'WriteStream', 'FileReadStream', 'FileWriteStream', 'Dir', 'opendir', 'opendirSync', 'promises'];
/**
 * `node:fs` imported as an ES module: Node 20 builds the module's namespace by reading every export,
 * and fs's lazy ones (ReadStream, WriteStream, FileReadStream, FileWriteStream, Dir, opendir,
 * opendirSync, promises) then load the stream modules, fs/promises and the directory reader: 19
 * modules and ~32 M instructions of every run's start (~7 ms), for nothing a command uses. The
 * bundle's imports of it go to a module of ours instead, which takes fs through `require` (no
 * namespace) and exports its functions and constants by name; those lazy ones are left out, so
 * importing one by name fails the build.
 * @type {import('rolldown').Plugin}
 */
const fsPlain = {
  name: 'fs-plain',
  resolveId(id) {
    if (id === 'node:fs' || id === 'fs') return FS_PLAIN;
  },
  load(id) {
    if (id !== FS_PLAIN) return;
    const names = Object.keys(nodeFs).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default' && !FS_LAZY.includes(k));
    if (!names.includes('openSync')) throw new Error('node:fs changed: rolldown.config.js fsPlain no longer fits');
    return [
      "import { createRequire } from 'node:module';",
      "const fs = createRequire(import.meta.url)('node:fs');",
      'export default fs;',
      `export const { ${names.join(', ')} } = fs;`,
    ].join('\n');
  },
};

const EXTERNAL = [/^@duckdb\//, /^parquet-wasm(\/|$)/, /^react(\/|$)/];

/** Packages that are ES modules only: a CommonJS chunk cannot `require` them on Node 20. */
const ESM_ONLY = ['ink'];
const ESM_PACKAGES = '\0esm-packages';
/** Each ES-only package's export names (the bundle's static imports of it become these). */
const ESM_EXPORTS = new Map(Object.entries({ ink }).map(([p, ns]) => [p, Object.keys(ns).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k))]));
if (ESM_ONLY.some((p) => !ESM_EXPORTS.has(p))) throw new Error('rolldown.config.js: import each ES-only package for ESM_EXPORTS');
/** The modules (tsc's output, tests aside) that import an ES-only package statically. */
const ESM_USERS = new Set(
  ['cli', 'formats', 'replay', 'analyzers', 'lib']
    .flatMap((d) => readdirSync(`dist/${d}`, { recursive: true, encoding: 'utf8' }).map((f) => resolve(`dist/${d}`, f)))
    .filter((f) => f.endsWith('.js') && !f.endsWith('.test.js'))
    .filter((f) => ESM_ONLY.some((p) => new RegExp(`^\\s*import\\s[^;]*?from\\s+['"]${p}['"]`, 'm').test(readFileSync(f, 'utf8')))),
);
if (ESM_USERS.size === 0) throw new Error('rolldown.config.js esmOnly: no module imports ink any more');
/** @param {string} file */
const needsEsm = (file) => [...staticClosure(file)].some((f) => ESM_USERS.has(f));
const DYNAMIC_IMPORT = /\bimport\((['"])(\.{1,2}\/[^'"]+)\1\)/g;

/**
 * Ink in the CommonJS bundle. Its static imports go to a module of ours that hands out the exports of
 * the package imported before (ESM_PACKAGES, one `import()`, which a CommonJS chunk may make); a
 * dynamic import of a module that reaches it (the TUI's main module, from cli/commands/tui.js) first
 * awaits that import. The same ink and React instances as an ES module build: ink imports React
 * through Node's CommonJS loader, as the chunks' `require("react")` does.
 * @type {import('rolldown').Plugin}
 */
const esmOnly = {
  name: 'esm-only',
  resolveId(id, importer) {
    if (id === ESM_PACKAGES) return ESM_PACKAGES;
    const pkg = ESM_ONLY.find((p) => id === p || id.startsWith(`${p}/`));
    if (pkg === undefined) return;
    if (importer === ESM_PACKAGES) return { id, external: true };
    if (id !== pkg) throw new Error(`rolldown.config.js esmOnly: ${id} (a subpath) is not handled`);
    return `\0esm:${pkg}`;
  },
  load(id) {
    if (id === ESM_PACKAGES)
      return [
        '/** @type {Record<string, any>} */',
        'export const esm = {};',
        `export async function loadEsmPackages() { ${ESM_ONLY.map((p) => `esm[${JSON.stringify(p)}] ??= await import(${JSON.stringify(p)});`).join(' ')} }`,
      ].join('\n');
    const pkg = id.startsWith('\0esm:') ? id.slice(5) : undefined;
    if (pkg === undefined) return;
    return [
      `import { esm } from ${JSON.stringify(ESM_PACKAGES)};`,
      `const ns = esm[${JSON.stringify(pkg)}];`,
      `if (ns === undefined) throw new Error(${JSON.stringify(`${pkg} not loaded: a module that needs it was imported without loadEsmPackages (rolldown.config.js)`)});`,
      `export const { ${(ESM_EXPORTS.get(pkg) ?? []).join(', ')} } = ns;`,
    ].join('\n');
  },
  transform(code, id) {
    if (id.includes('node_modules') || id.startsWith('\0') || needsEsm(id)) return;
    const out = code.replace(
      DYNAMIC_IMPORT,
      /** @type {(m: string, q: string, spec: string) => string} */
      (m, q, spec) => (needsEsm(resolve(dirname(id), spec)) ? `__loadEsmPackages().then(() => import(${q}${spec}${q}))` : m),
    );
    if (out === code) return;
    return `import { loadEsmPackages as __loadEsmPackages } from ${JSON.stringify(ESM_PACKAGES)};\n${out}`;
  },
};

/**
 * `import()` of a built-in module in the CommonJS chunks (zlib for a gzip log, worker_threads) as a
 * `require` once a promise settles, which is the same module: a chunk that makes no `import()` takes
 * its code cache (cli/code-cache.ts `cacheable`).
 * @type {import('rolldown').Plugin}
 */
const builtinRequire = {
  name: 'builtin-require',
  renderChunk(code) {
    const out = code.replace(/\bimport\((["'])(node:[\w/]+)\1\)/g, 'Promise.resolve().then(() => require($1$2$1))');
    return out === code ? null : out;
  },
};

const LOADER = 'code-cache';
/**
 * The entries users and threads start (`invtrace.js`, `replay-worker.js`...), each a stub that hooks
 * the code cache in (cli/code-cache.ts) and requires the entry's chunk, named by its content as every
 * chunk is (the loader takes caches for those alone). And dist/bin/package.json: the folder is
 * CommonJS in a package of ES modules.
 * @type {import('rolldown').Plugin}
 */
const entryStubs = {
  name: 'entry-stubs',
  generateBundle(_options, bundle) {
    const entries = Object.values(bundle).flatMap((c) => (c.type === 'chunk' && c.isEntry ? [c] : []));
    const loader = entries.find((c) => c.name === LOADER);
    if (loader === undefined) throw new Error('rolldown.config.js entryStubs: no loader chunk');
    const entryFiles = new Set(entries.map((c) => c.fileName));
    for (const c of Object.values(bundle))
      if (c.type === 'chunk' && [...c.imports, ...c.dynamicImports].some((f) => entryFiles.has(f)))
        throw new Error(`rolldown.config.js entryStubs: ${c.fileName} imports an entry chunk, which would run its entry`);
    for (const c of entries) {
      if (c === loader) continue;
      const source = [
        ...(c.name === 'invtrace' ? ['#!/usr/bin/env node'] : []),
        "'use strict';",
        '// The V8 code cache first (cli/code-cache.ts), then the entry (rolldown.config.js entryStubs).',
        `require('./${loader.fileName}').useCodeCache(__dirname);`,
        `require('./${c.fileName}');`,
        '',
      ].join('\n');
      this.emitFile({ type: 'asset', fileName: `${c.name}.js`, source });
    }
    this.emitFile({ type: 'asset', fileName: 'package.json', source: `${JSON.stringify({ type: 'commonjs' })}\n` });
  },
};

export default defineConfig({
  input: {
    invtrace: MAIN,
    [LOADER]: 'dist/cli/code-cache.js',
    ...Object.fromEntries(WORKER_SCRIPTS.map((rel) => [bundledWorker(rel).replace(/\.js$/, ''), `dist/${rel}`])),
  },
  platform: 'node',
  // What Rolldown sets anyway for the groups below that leave their dependencies out
  // (includeDependenciesRecursively: false), said here: an entry's chunk may export more than the entry.
  preserveEntrySignatures: 'allow-extension',
  external: EXTERNAL,
  plugins: [lazyChildProcess, fsPlain, esmOnly, builtinRequire, entryStubs],
  logLevel: 'warn',
  output: {
    dir: `dist/${BUNDLE_DIR}`,
    format: 'cjs',
    cleanDir: true,
    // No comments in the bundle (tsc's JSDoc and rolldown's module markers): V8 scans every byte of
    // a module it loads, and they were ~18% of them. Names and lines stay as they are (no
    // minification): profiles and stack traces still read.
    comments: false,
    // Every chunk named by its content, entries too (their stubs take the plain names: entryStubs).
    entryFileNames: '[name]-[hash].js',
    chunkFileNames: '[name]-[hash].js',
    // Arrow (with the two packages it brings) in one chunk of its own: the start-up test checks that
    // nothing the CLI loads before a command runs reaches it.
    codeSplitting: {
      groups: [
        // The command line's modules but main.js (and commander) in a chunk of their own, not in the
        // entry's: a chunk that imports one of them (a worker's) must not run the command line
        // (entryStubs checks).
        { name: 'command-line', test: (id) => (COMMAND_LINE.has(id) && id !== MAIN) || /node_modules[\\/]commander[\\/]/.test(id) },
        { name: 'apache-arrow', test: /node_modules[\\/](apache-arrow|flatbuffers|tslib)[\\/]/ },
        // Its dependencies are in it or in the command line's chunks already: none to pull in.
        { name: 'ingest', test: (id) => INGEST.has(id), includeDependenciesRecursively: false },
        { name: 'ingest-shared', test: (id) => INGEST_SHARED.has(id), includeDependenciesRecursively: false },
      ],
    },
  },
});
