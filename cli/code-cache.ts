// The bundled CLI's V8 code cache (rolldown.config.js): each CommonJS chunk of dist/bin/ is compiled
// with the bytecode `npm run build` saved beside it (`<chunk>.js.v8`, cli/code-cache-train.ts), so a
// command skips most of V8's parse and compile of its modules (an ingest of a small log: ~1/6 of its
// instructions). Node 20 has no compile cache (module.enableCompileCache is 22.1+) and none can be
// given to its ES module loader, hence the CommonJS bundle and this hook.
//
// What it owns: Module.prototype._compile, in each thread that runs one of the bundle's entry stubs,
// for the bundle's own chunks (`cacheable`: in dist/bin/, named by rolldown's content hash, making no
// `import()`) that have a cache beside them. Every other module (node_modules, tsc's dist/, the
// stubs, a chunk without a cache) goes to Node's own compile, untouched. A chunk is compiled as Node
// would (Module.wrap, its module's `require`), through vm.Script with the cache as cachedData.
// A chunk's cache is found by the chunk's name alone: the name changes with its bytes, and the build
// writes every cache anew (rolldown empties the folder), so a cache never meets another source (V8
// itself checks only the length; editing a built chunk in place, same name, same length, is the one
// way to defeat this). A cache V8 rejects (another Node or V8 version, other V8 flags such as
// --no-opt) costs nothing but the normal compile. Nothing is written at run time, except in the
// build's training run.
//
// INVTRACE_CODE_CACHE: `off` leaves the compile to Node; `report` prints on stderr, as each chunk
// is compiled, one JSON line `{"code-cache": {chunk: "accepted" | "rejected"}, "thread": id}` (the
// tests; at once, since a worker thread may end without an exit event); `train` also
// compiles the cacheable chunks that have no cache yet ("none") and writes, at exit, each compiled
// chunk's cache (atomically: a temporary file renamed), from the functions the run compiled plus
// those of the cache it started from. A worker thread also writes each chunk's cache once the chunk
// has run its top level, since one ended by terminate() has no exit event.

import { createRequire } from 'node:module';
import type * as NodeModule from 'node:module';
import { basename, dirname, join } from 'node:path';
import type * as Vm from 'node:vm';

/** A chunk named by its content (rolldown's `[name]-[hash].js`, chunkFileNames in rolldown.config.js). */
export const HASHED_CHUNK = /-[\w-]{8}\.js$/;

/**
 * Whether a file is one of the bundle's chunks this hook compiles: in the bundle folder, named by its
 * content, and making no `import()` (an ES module: ink, parquet-wasm, DuckDB's). Node 20 runs the
 * `import()` of a vm.Script only with an experimental flag that prints a warning; such chunks (the
 * TUI command's, the Parquet and SQL engines') compile the Node way. The bundle's `import()` of
 * built-in modules are `require`s (rolldown.config.js builtinRequire).
 */
export const cacheable = (dir: string, file: string, content: string): boolean =>
  dirname(file) === dir && HASHED_CHUNK.test(file) && !content.includes('import(');

/** The cache file of a chunk. */
export const cacheFile = (chunk: string): string => `${chunk}.v8`;

type Outcome = 'accepted' | 'rejected' | 'none';

interface InternalModule {
  exports: unknown;
  require(id: string): unknown;
}
interface ModuleClass {
  prototype: { _compile: (this: InternalModule, content: string, filename: string) => unknown };
  wrap(content: string): string;
  _resolveFilename(request: string, parent: InternalModule, isMain: boolean, options?: { paths?: string[] }): string;
  _resolveLookupPaths(request: string, parent: InternalModule): string[] | null;
  _cache: Record<string, unknown>;
  _extensions: Record<string, unknown>;
}

/**
 * Compiles the hashed chunks of `dir` (the bundle folder) with their caches from now on, in this
 * thread. Called first by each of the bundle's entry stubs.
 */
export function useCodeCache(dir: string): void {
  const mode = process.env.INVTRACE_CODE_CACHE ?? '';
  if (mode === 'off') return;
  const require = createRequire(join(dir, 'x.js'));
  const vm = require('node:vm') as typeof Vm;
  const fs = require('node:fs') as typeof import('node:fs');
  const Module = require('node:module') as typeof NodeModule & ModuleClass;

  // Only when asked: node:worker_threads costs a run that makes no thread ~11 M instructions.
  const threadId = mode === '' ? 0 : (require('node:worker_threads') as typeof import('node:worker_threads')).threadId;
  const scripts = new Map<string, Vm.Script>();
  const compile = Module.prototype._compile;
  Module.prototype._compile = function (this: InternalModule, content: string, filename: string): unknown {
    if (!cacheable(dir, filename, content)) return compile.call(this, content, filename);
    let cachedData: Buffer | undefined;
    try {
      cachedData = fs.readFileSync(cacheFile(filename));
    } catch {
      if (mode !== 'train') return compile.call(this, content, filename);
    }
    // A hashbang (the command line's entry chunk has main.ts's) is a comment once wrapped.
    const source = content.startsWith('#!') ? `//${content.slice(2)}` : content;
    const script = new vm.Script(Module.wrap(source), { filename, ...(cachedData ? { cachedData } : {}) });
    if (mode === 'report') {
      const outcome: Outcome = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
      fs.writeSync(2, `${JSON.stringify({ 'code-cache': { [basename(filename)]: outcome }, thread: threadId })}\n`);
    }
    if (mode === 'train') scripts.set(filename, script);
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    const exports = wrapper.call(this.exports, this.exports, requireOf(this, Module, require.main), this, filename, dirname(filename));
    // A worker thread's process may end it with terminate() (no exit event): its chunks' caches are
    // written as soon as each has run its top level, and again, fuller, at its exit if it has one.
    if (mode === 'train' && threadId !== 0) writeCaches(fs, new Map([[filename, script]]), `${process.pid}-${threadId}`);
    return exports;
  };

  if (mode === 'train') {
    process.on('exit', () => writeCaches(fs, scripts, `${process.pid}-${threadId}`));
  }
}

/** The `require` a chunk gets: the module's own, with Node's properties (`main` the process's). */
function requireOf(mod: InternalModule, Module: ModuleClass, main: NodeJS.Module | undefined): NodeJS.Require {
  const resolve = (request: string, options?: { paths?: string[] }) => Module._resolveFilename(request, mod, false, options);
  return Object.assign((id: string) => mod.require(id), {
    resolve: Object.assign(resolve, { paths: (request: string) => Module._resolveLookupPaths(request, mod) }),
    main,
    cache: Module._cache,
    extensions: Module._extensions,
  }) as NodeJS.Require;
}

/** The training run's end: each script's cache, written to a temporary file and renamed over the chunk's. */
function writeCaches(fs: typeof import('node:fs'), scripts: ReadonlyMap<string, Vm.Script>, thread: string): void {
  for (const [file, script] of scripts) {
    const tmp = `${cacheFile(file)}.${thread}.tmp`;
    fs.writeFileSync(tmp, script.createCachedData());
    fs.renameSync(tmp, cacheFile(file));
  }
}
