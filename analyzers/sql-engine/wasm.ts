// The duckdb-wasm engine: DuckDB compiled to WebAssembly, run through duckdb-wasm's async API in a
// Node worker thread, so the main thread (a REPL, the TUI) keeps running while a query does.
//
// duckdb-wasm's own `createWorker` fetches the worker script by URL (a browser habit Node cannot
// follow for a file path), so we start a worker_threads Worker ourselves with a four-line shim that
// gives the bundled worker script the browser globals it expects (`onmessage`, `postMessage`), and
// hand AsyncDuckDB an object with the browser Worker methods it calls.
//
// Arrow versions: duckdb-wasm bundles apache-arrow 17; we use 21. Nothing Arrow crosses as an
// object: tables go in as IPC stream bytes (`insertArrowFromIPCStream`; `insertArrowTable` with an
// Arrow 21 table silently creates nothing) and results come back as IPC bytes (`runQuery`,
// `fetchQueryResults`) that Arrow 21 reads. Limits: WebAssembly's 32-bit address space caps DuckDB
// at about 3 GiB of data; one statement runs at a time (calls queue).

import Module, { createRequire } from 'node:module';
import vm from 'node:vm';
import v8 from 'node:v8';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { RecordBatchReader, Table, type AsyncRecordBatchStreamReader, type RecordBatch } from 'apache-arrow';
import type { AsyncDuckDB } from '@duckdb/duckdb-wasm';
import { ident, SqlError, StatementQueue, type SqlEngine } from './engine.js';
import { cacheRoot } from './parquet-cache.js';
import { trimmedModule } from './wasm-exports.js';
import { LINK_REWRITE_VERSION, lazyArrow, lazyLinking } from './wasm-link.js';

const require = createRequire(import.meta.url);

/**
 * How much a WebAssembly function runs in V8's baseline code (Liftoff) before it is compiled again
 * with the optimizing compiler (TurboFan), in V8's budget units; V8 11's default is 1,800,000.
 * DuckDB's start-up (its catalog of built-in functions) is hot enough to send hundreds of large
 * functions to TurboFan at the default, which costs more CPU than it saves in a short session.
 * Measured (whole-process CPU, user + system, 2 runs each, load 7-9 from other work):
 *   - one-shot `sql -e` on a small trace: 1.33 s at the default, 1.10 s at 50 M, 0.99 s Liftoff only;
 *   - the group-by over 1M commands: 2.6 s, 2.15 s, 1.9 s;
 *   - every trace view over 1M commands, one session: 7.7 s, 7.0 s, 7.6 s (Liftoff only is
 *     slower here: the views' inner loops do repay optimizing).
 * The flag is process-wide and read when a module is compiled, so it is set before the worker starts.
 */
const WASM_TIERING_BUDGET = 50_000_000;

/**
 * V8 compiles a WebAssembly function only when it is first called (lazy compilation, V8 11's
 * default) but still validates every function body of the module before instantiating it. DuckDB's
 * module is 34 MB of code of which a session runs a small part: validating each function when it
 * is compiled instead takes compiling the module from 330-470 ms to about 120 ms (a bare
 * `WebAssembly.compile` of duckdb-eh.wasm, load 7). The module is DuckDB's release build, valid as
 * a whole; an invalid function would fail when called instead of at start. Process-wide, like the
 * budget.
 */
const WASM_LAZY_VALIDATION = '--wasm-lazy-validation';

/**
 * Gives the bundled worker script the browser globals it expects; silences its console unless
 * debugging. It runs the worker script's text it is given (`workerData.source`: wasm-link.ts's
 * rewrite). It also starts compiling DuckDB's WebAssembly as soon as the thread runs, while the
 * main thread is still loading duckdb-wasm's JavaScript and reading the inputs: the worker's own
 * instantiate (which reads the same file) is handed the module compiled by then. The worker script
 * (1.2 MB of JavaScript) compiles with V8's code cache, kept in `codeCache` (written atomically;
 * V8 rejects a stale one and it is rewritten).
 */
function shim(script: string, wasm: string, codeCache: string | undefined, debug: boolean): string {
  return [
    "const { parentPort } = require('node:worker_threads');",
    "const { readFileSync, writeFileSync, renameSync, mkdirSync } = require('node:fs');",
    "const { dirname } = require('node:path');",
    "const vm = require('node:vm');",
    "const Module = require('node:module');",
    debug ? '' : 'console.log = console.error = console.warn = console.info = console.debug = () => {};',
    `const bytes = readFileSync(${JSON.stringify(wasm)});`,
    'const compiled = WebAssembly.compile(bytes);',
    // The worker script reads the same 34 MB file again to instantiate it: hand it these bytes (once).
    "const fs = require('node:fs'), readFile0 = fs.readFileSync;",
    `fs.readFileSync = (p, ...rest) => p === ${JSON.stringify(wasm)} && rest.length === 0 ? ((fs.readFileSync = readFile0), bytes) : readFile0(p, ...rest);`,
    'compiled.catch(() => {});',
    'const instantiate = WebAssembly.instantiate;',
    'WebAssembly.instantiate = (src, imports) =>',
    '  src && !(src instanceof WebAssembly.Module) && src.byteLength === bytes.byteLength',
    '    ? compiled.then((module) => instantiate(module, imports).then((instance) => ({ module, instance })))',
    '    : instantiate(src, imports);',
    'globalThis.postMessage = (m, t) => parentPort.postMessage(m, t);',
    "parentPort.on('message', (data) => data !== 'invtrace:save-code-cache' && globalThis.onmessage && globalThis.onmessage({ data }));",
    `const script = ${JSON.stringify(script)}, cachePath = ${JSON.stringify(codeCache ?? null)};`,
    'let cachedData;',
    'try { if (cachePath) cachedData = readFileSync(cachePath); } catch {}',
    "const code = new vm.Script(Module.wrap(require('node:worker_threads').workerData.source), { filename: script, cachedData });",
    // Saved once DuckDB has started, so the functions compiled while starting are in it.
    'const save = () => {',
    '  if (!cachePath || (cachedData !== undefined && !code.cachedDataRejected)) return;',
    '  try {',
    '    mkdirSync(dirname(cachePath), { recursive: true });',
    '    const tmp = `${cachePath}.${process.pid}.tmp`;',
    '    writeFileSync(tmp, code.createCachedData());',
    '    renameSync(tmp, cachePath);',
    '  } catch {}',
    '};',
    "parentPort.on('message', (data) => { if (data === 'invtrace:save-code-cache') save(); });",
    'const mod = { exports: {} };',
    'code.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(script), mod, script, dirname(script));',
  ].join('\n');
}

/**
 * duckdb-wasm's main-thread module (AsyncDuckDB and the loggers), as `import('@duckdb/duckdb-wasm')`
 * gives it in Node, with its apache-arrow required on first use (wasm-link.ts: never, here).
 */
function loadDuckdbWasm(): typeof import('@duckdb/duckdb-wasm') {
  const file = require.resolve('@duckdb/duckdb-wasm');
  const mod = { exports: {} as typeof import('@duckdb/duckdb-wasm') };
  const wrapped = new vm.Script(Module.wrap(lazyArrow(readFileSync(file, 'utf8')).text), { filename: file });
  (wrapped.runInThisContext() as (...a: unknown[]) => void).call(
    mod.exports,
    mod.exports,
    Module.createRequire(file),
    mod,
    file,
    dirname(file),
  );
  return mod.exports;
}

type Listener = (ev: { data: unknown }) => void;

/** The browser Worker surface AsyncDuckDB uses, over a worker_threads Worker. */
class WorkerAdapter {
  private readonly wrapped = new Map<Listener, (d: unknown) => void>();
  constructor(readonly worker: Worker) {}

  postMessage(message: unknown, transfer?: readonly ArrayBuffer[]): void {
    // A SharedArrayBuffer (a segment buffer: WasmEngine.segmentBuffer) is shared with the worker, never moved.
    const moved = transfer?.filter((b) => !(b instanceof SharedArrayBuffer));
    this.worker.postMessage(message, moved);
  }

  addEventListener(type: string, fn: Listener): void {
    const h = (d: unknown) => fn({ data: d });
    this.wrapped.set(fn, h);
    this.worker.on(type === 'close' ? 'exit' : type, h);
  }

  removeEventListener(type: string, fn: Listener): void {
    const h = this.wrapped.get(fn);
    if (h) this.worker.off(type === 'close' ? 'exit' : type, h);
    this.wrapped.delete(fn);
  }

  terminate(): void {
    void this.worker.terminate();
  }

  /** Stops telling AsyncDuckDB anything (a start abandoned: no warnings about its requests). */
  detach(): void {
    for (const h of this.wrapped.values()) {
      this.worker.off('message', h);
      this.worker.off('error', h);
      this.worker.off('exit', h);
    }
    this.wrapped.clear();
  }
}

/** A statement that begins (after comments) with LOAD or FORCE LOAD: an extension to load. */
const LOAD_STATEMENT = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*(?:FORCE\s+)?LOAD\b/i;

/**
 * Refuses a LOAD at once: duckdb-wasm in Node blocks forever on it unless extensions.duckdb.org
 * answers (duckdb/duckdb-wasm#2252), and this engine's module keeps none of the exports an
 * extension links against (wasm-exports.ts).
 */
function refuseLoad(sql: string): void {
  if (LOAD_STATEMENT.test(sql)) throw new SqlError('duckdb-wasm cannot load DuckDB extensions here: use --engine native');
}

/**
 * The one line a statement that passed duckdb-wasm's memory ceiling fails with. DuckDB's buffer
 * manager stops at its memory_limit (about 3.1 GiB: WebAssembly's 4 GiB address space less room
 * for the rest) and, with no disk to spill to in WebAssembly, raises an Out of Memory Error there,
 * before the WebAssembly memory itself runs out.
 */
export const memoryCeiling = (detail: string) =>
  `Out of Memory Error: the statement needs more than duckdb-wasm's memory (${detail}); run it with --engine native (native DuckDB spills to disk and uses all of the machine's memory)`;

/** Turns duckdb-wasm's rejections (an Error, or a bare string) into SqlError. */
function sqlError(e: unknown): SqlError {
  const err = plainError(e);
  const oom = /^Out of Memory Error: (.*)$/.exec(err.message) ?? /(Aborted\(OOM\)|Cannot enlarge memory|out of memory)/i.exec(err.message);
  return oom ? new SqlError(memoryCeiling(oom[1]!.replace(/^(failed to allocate|could not allocate) /, 'allocating '))) : err;
}

function plainError(e: unknown): SqlError {
  const text = e instanceof Error ? e.message : String(e);
  // Pending queries report errors as JSON: {"exception_type": "Parser", "exception_message": ...}.
  if (text.startsWith('{')) {
    try {
      const j = JSON.parse(text) as { exception_type?: string; exception_message?: string };
      if (j.exception_message !== undefined) return new SqlError(`${j.exception_type ?? 'SQL'} Error: ${j.exception_message}`);
    } catch {
      // not JSON after all
    }
  }
  return new SqlError(text);
}

export class WasmEngine implements SqlEngine {
  readonly name = 'duckdb-wasm';
  private readonly queue = new StatementQueue();
  private closed = false;

  /** Rejects if the worker dies (a WebAssembly abort): calls in flight fail with it instead of waiting forever. */
  private readonly died: Promise<never>;

  private constructor(
    private readonly db: AsyncDuckDB,
    private readonly conn: number,
    private readonly worker: Worker,
  ) {
    this.died = new Promise<never>((_, reject) => {
      worker.on('error', (e) => reject(sqlError(e)));
      worker.on('exit', (code) => {
        if (!this.closed) reject(new SqlError(`duckdb-wasm stopped (its worker exited with code ${code})`));
      });
    });
    this.died.catch(() => undefined);
  }

  /** `p`, or the worker's death, whichever comes first. */
  private alive<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.died]);
  }

  /** Starts the worker, instantiates DuckDB (about a second: compiling the WebAssembly) and connects. */
  static async start(signal?: AbortSignal): Promise<WasmEngine> {
    // Stopped before it began (the command failed while this module loaded): no worker at all. One
    // started and terminated at once would warn about its requests (AsyncDuckDB's onClose).
    if (signal?.aborted) throw new Error('duckdb-wasm start stopped');
    v8.setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
    v8.setFlagsFromString(WASM_LAZY_VALIDATION);
    const script = require.resolve('@duckdb/duckdb-wasm/dist/duckdb-node-eh.worker.cjs');
    // The worker first: it compiles the WebAssembly while this thread loads duckdb-wasm.
    // Its dynamic linker made lazy (wasm-link.ts): half of the worker's start-up CPU otherwise.
    const linked = lazyLinking(readFileSync(script, 'utf8'));
    const source = lazyArrow(linked.text);
    const linking = linked.applied && source.applied ? `link${LINK_REWRITE_VERSION}` : `link0-${linked.applied}-${source.applied}`;
    // The module with only the exports that script names (wasm-exports.ts): a tenth of the instantiation.
    const wasm = trimmedModule(require.resolve('@duckdb/duckdb-wasm/dist/duckdb-eh.wasm'), source.text, join(cacheRoot(), 'wasm'));
    const codeCache = join(cacheRoot(), 'v8', `duckdb-wasm-worker-${source.text.length}-${linking}-v8-${process.versions.v8}.cache`);
    const worker = new Worker(shim(script, wasm, codeCache, Boolean(process.env.INVTRACE_DEBUG)), {
      eval: true,
      workerData: { source: source.text },
    });
    // Stopped from outside (the command failed before using it): the worker ends now, the start rejects.
    const adapter = new WorkerAdapter(worker);
    let abort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      abort = () => {
        adapter.detach();
        void worker.terminate();
        reject(new Error('duckdb-wasm start stopped'));
      };
    });
    aborted.catch(() => undefined);
    signal?.addEventListener('abort', abort, { once: true });
    const until = <T>(p: Promise<T>) => Promise.race([p, aborted]);
    try {
      const duckdb = loadDuckdbWasm();
      const logger = process.env.INVTRACE_DEBUG ? new duckdb.ConsoleLogger() : new duckdb.VoidLogger();
      const db = new duckdb.AsyncDuckDB(logger, adapter);
      await until(db.instantiate(wasm));
      // Keep 64-bit integers exact (BigInt), not doubles.
      await until(db.open({ query: { castBigIntToDouble: false } }));
      const conn = await until(db.connectInternal());
      // A function or type of an extension not loaded (read_parquet, ::JSON) would load it on
      // first use: that blocks forever in Node (wasm-exports.ts). DuckDB names the extension instead.
      await until(db.runQuery(conn, 'SET autoload_known_extensions = false'));
      worker.postMessage('invtrace:save-code-cache');
      return new WasmEngine(db, conn, worker);
    } catch (e) {
      await worker.terminate();
      throw e;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.closed ? Promise.reject(new Error('SQL engine is closed')) : this.alive(this.queue.run(fn));
  }

  version(): Promise<string> {
    return this.serial(() => this.db.getVersion());
  }

  /**
   * Segment buffers (SharedArrayBuffers) of the table being loaded, and which of them the worker
   * has not copied from yet. The thread encoding the segments writes each into one of them instead
   * of a new array (ipcStreams' `into`); the worker copies it into WebAssembly memory, as it copies
   * a transferred one, and it is written again two segments later. A new 128 MiB array each time
   * costs page faults and garbage collection: the copy into it took 0.5 s of this thread's CPU for
   * 5M commands (--cpu-prof), and ~40 collections. Dropped when the load ends.
   */
  private segmentPool: { buf: SharedArrayBuffer; busy: boolean }[] = [];

  segmentBuffer(bytes: number): Uint8Array {
    let slot = this.segmentPool.find((s) => !s.busy && s.buf.byteLength >= bytes);
    if (slot === undefined) {
      // Rounded up (1 MiB), so that segments of about the same size share buffers.
      slot = { buf: new SharedArrayBuffer(Math.ceil(Math.max(1, bytes) / (1 << 20)) * (1 << 20)), busy: false };
      this.segmentPool = [...this.segmentPool.filter((s) => s.busy), slot];
    }
    slot.busy = true;
    return new Uint8Array(slot.buf, 0, bytes);
  }

  /** The worker is done with `segment` (its insert returned): its buffer may be written again. */
  private segmentDone(segment: Uint8Array): void {
    const slot = this.segmentPool.find((s) => s.buf === segment.buffer);
    if (slot) slot.busy = false;
  }

  loadTable(name: string, streams: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, into = false): Promise<void> {
    return this.serial(async () => {
      try {
        if (!into) await this.db.runQuery(this.conn, `DROP TABLE IF EXISTS ${ident(name)}`);
        const it = (async function* () {
          yield* streams;
        })();
        try {
          let next = it.next();
          for (let create = !into; ; create = false) {
            const r = await next;
            if (r.done === true) break;
            // The next segment is read and encoded on this thread while the worker inserts this one.
            next = it.next();
            next.catch(() => undefined); // seen by the loop's next turn, or dropped when this one fails
            // The buffer is transferred to the worker (this side must not reuse it), or shared (a
            // segment buffer, written again once this insert has returned).
            try {
              await this.db.insertArrowFromIPCStream(this.conn, r.value, { name, create });
            } finally {
              this.segmentDone(r.value);
            }
          }
        } finally {
          await it.return(undefined).catch(() => undefined);
          this.segmentPool = [];
        }
      } catch (e) {
        throw sqlError(e);
      }
    });
  }

  async exec(sql: string): Promise<void> {
    refuseLoad(sql);
    return this.serial(async () => {
      try {
        await this.db.runQuery(this.conn, sql);
      } catch (e) {
        throw sqlError(e);
      }
    });
  }

  async query(sql: string): Promise<Table> {
    const reader = await this.pending(sql, false);
    const batches: RecordBatch[] = [];
    for await (const b of reader) batches.push(b);
    return batches.length > 0 ? new Table(batches) : new Table(reader.schema);
  }

  async *queryBatches(sql: string): AsyncIterable<RecordBatch> {
    yield* await this.pending(sql, true);
  }

  /**
   * Starts a statement as a pending query (so `cancel()` can stop it) and reads its result. The
   * connection stays held until the reader is drained or abandoned. `stream`: DuckDB produces the
   * result while it is read, instead of materializing it first.
   */
  private async pending(sql: string, stream: boolean): Promise<AsyncRecordBatchStreamReader> {
    if (this.closed) throw new Error('SQL engine is closed');
    refuseLoad(sql);
    // Everything queued after this statement waits until its result has been read (or abandoned).
    const release = await this.queue.hold();
    let header: Uint8Array | null = null;
    try {
      header = await this.alive(this.db.startPendingQuery(this.conn, sql, stream));
      while (header === null) header = await this.alive(this.db.pollPendingQuery(this.conn));
    } catch (e) {
      release();
      throw sqlError(e);
    }
    const db = this.db,
      conn = this.conn,
      alive = <T>(p: Promise<T>) => this.alive(p);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        yield header!;
        for (;;) {
          let buf: Uint8Array | null = null;
          try {
            while (buf === null) buf = await alive(db.fetchQueryResults(conn));
          } catch (e) {
            throw sqlError(e);
          }
          if (buf.byteLength === 0) return;
          yield buf;
        }
      } finally {
        release();
      }
    }
    try {
      return (await RecordBatchReader.from(chunks())) as AsyncRecordBatchStreamReader;
    } catch (e) {
      release(); // the reader failed before taking the chunks: free the connection here
      throw e;
    }
  }

  async cancel(): Promise<void> {
    // Not queued: it must reach the worker while a statement runs.
    if (!this.closed) await this.db.cancelPendingQuery(this.conn).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.idle();
    await this.db.terminate().catch(() => undefined);
    await this.worker.terminate();
  }
}
