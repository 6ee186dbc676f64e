// The CLI as users run it (package.json "bin"): tsc's output under dist/ bundled by rolldown into
// dist/bin/, one entry for the command line and one per worker thread, sharing chunks. Node 20 loads
// an ES module graph file by file: an ingest loaded 233 files, 146 of them apache-arrow's, and now
// loads 32, about 0.1 s of CPU less per run. Each command still loads its own code (and Arrow) only
// when it runs, as the unbundled CLI did. Packages that find files beside their own modules (the DuckDB and Parquet
// WebAssembly builds) and the TUI's ink and React stay in node_modules, imported as they are.
// Run by `npm run build` after tsc (the entries are tsc's JavaScript).
// @ts-check
import { defineConfig } from 'rolldown';
import { BUNDLE_DIR, WORKER_SCRIPTS, bundledWorker } from './dist/formats/worker-job.js';

const EXTERNAL = [/^@duckdb\//, /^parquet-wasm(\/|$)/, /^ink(\/|$)/, /^react(\/|$)/];

export default defineConfig({
  input: {
    invtrace: 'dist/cli/main.js',
    ...Object.fromEntries(WORKER_SCRIPTS.map((rel) => [bundledWorker(rel).replace(/\.js$/, ''), `dist/${rel}`])),
  },
  platform: 'node',
  external: EXTERNAL,
  logLevel: 'warn',
  output: {
    dir: `dist/${BUNDLE_DIR}`,
    format: 'esm',
    cleanDir: true,
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
    // Arrow (with the two packages it brings) in one chunk of its own: the start-up test checks that
    // nothing the CLI loads before a command runs reaches it.
    codeSplitting: { groups: [{ name: 'apache-arrow', test: /node_modules[\\/](apache-arrow|flatbuffers|tslib)[\\/]/ }] },
  },
});
