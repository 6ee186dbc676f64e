// The CLI as users run it (package.json "bin"): tsc's output under dist/ bundled by rolldown into
// dist/bin/, one entry for the command line and one per worker thread, sharing chunks. Node 20 loads
// an ES module graph file by file: an ingest loaded 233 files, 146 of them apache-arrow's, and now
// loads 17 (the groups below), about 0.1 s of CPU less per run. Each command still loads its own code (and Arrow) only
// when it runs, as the unbundled CLI did. Packages that find files beside their own modules (the DuckDB and Parquet
// WebAssembly builds) and the TUI's ink and React stay in node_modules, imported as they are.
// The ingest command's own modules (those it imports statically that the command line does not)
// go in two chunks, the part that commands reading traces share and the rest: an ingest then loads
// 17 files instead of 33, and Node's per-file work (resolve, read, link) is most of what a file
// costs (docs/ingest.md "Twentieth pass").
// Run by `npm run build` after tsc (the entries are tsc's JavaScript).
// @ts-check
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

const EXTERNAL = [/^@duckdb\//, /^parquet-wasm(\/|$)/, /^ink(\/|$)/, /^react(\/|$)/];

export default defineConfig({
  input: {
    invtrace: 'dist/cli/main.js',
    ...Object.fromEntries(WORKER_SCRIPTS.map((rel) => [bundledWorker(rel).replace(/\.js$/, ''), `dist/${rel}`])),
  },
  platform: 'node',
  external: EXTERNAL,
  plugins: [lazyChildProcess],
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
