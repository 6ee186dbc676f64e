// The CLI as users run it (package.json "bin"): tsc's output under dist/ bundled by rolldown into
// dist/bin/, one entry for the command line and one per worker thread, sharing chunks. Node 20 loads
// an ES module graph file by file: an ingest loaded 233 files, 146 of them apache-arrow's, and now
// loads 19 (the groups below, and since session 18 cli/stdio's and fsPlain's small chunks), about
// 0.1 s of CPU less per run. Each command still loads its own code (and Arrow) only
// when it runs, as the unbundled CLI did. Packages that find files beside their own modules (the DuckDB and Parquet
// WebAssembly builds) and the TUI's ink and React stay in node_modules, imported as they are.
// The ingest command's own modules (those it imports statically that the command line does not)
// go in two chunks, the part that commands reading traces share and the rest: an ingest then loads
// 17 files instead of 33, and Node's per-file work (resolve, read, link) is most of what a file
// costs (docs/ingest.md "Twentieth pass").
// Run by `npm run build` after tsc (the entries are tsc's JavaScript).
// @ts-check
import * as nodeFs from 'node:fs';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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

const COMMAND_LINE = staticClosure('dist/cli/main.js');
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

const EXTERNAL = [/^@duckdb\//, /^parquet-wasm(\/|$)/, /^ink(\/|$)/, /^react(\/|$)/];

export default defineConfig({
  input: {
    invtrace: 'dist/cli/main.js',
    ...Object.fromEntries(WORKER_SCRIPTS.map((rel) => [bundledWorker(rel).replace(/\.js$/, ''), `dist/${rel}`])),
  },
  platform: 'node',
  external: EXTERNAL,
  plugins: [lazyChildProcess, fsPlain],
  logLevel: 'warn',
  output: {
    dir: `dist/${BUNDLE_DIR}`,
    format: 'esm',
    cleanDir: true,
    // No comments in the bundle (tsc's JSDoc and rolldown's module markers): V8 scans every byte of
    // a module it loads, and they were ~18% of them. Names and lines stay as they are (no
    // minification): profiles and stack traces still read.
    comments: false,
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
    // Arrow (with the two packages it brings) in one chunk of its own: the start-up test checks that
    // nothing the CLI loads before a command runs reaches it.
    codeSplitting: {
      groups: [
        { name: 'apache-arrow', test: /node_modules[\\/](apache-arrow|flatbuffers|tslib)[\\/]/ },
        // Its dependencies are in it or in the command line's chunks already: none to pull in.
        { name: 'ingest', test: (id) => INGEST.has(id), includeDependenciesRecursively: false },
        { name: 'ingest-shared', test: (id) => INGEST_SHARED.has(id), includeDependenciesRecursively: false },
      ],
    },
  },
});
