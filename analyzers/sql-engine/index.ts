// The SQL engine's entry point: the interface and helpers (engine.ts) and `startEngine`, which
// loads one implementation on demand. It lives apart from engine.ts so that the implementations
// (native.ts, wasm.ts) import the interface without a cycle back to the code that starts them.

export * from './engine.js';
import type { EngineChoice, EngineKind, SqlEngine } from './engine.js';

/**
 * Starts an engine; the native one needs the optional dependency @duckdb/node-api. `signal`
 * stops a duckdb-wasm start under way (its worker ends; the promise rejects).
 */
export async function startEngine(kind: EngineKind = 'wasm', signal?: AbortSignal): Promise<SqlEngine> {
  if (kind === 'native') return (await import('./native.js')).NativeEngine.start();
  return (await import('./wasm.js')).WasmEngine.start(signal);
}

/** An engine started ahead of its session: the session takes `engine`, or `cancel` stops it at once. */
export interface EarlyEngine {
  readonly engine: Promise<SqlEngine>;
  cancel(): void;
}

/**
 * Starts duckdb-wasm now when a command will use it whatever its inputs are (`--engine wasm`, or
 * no --engine and $INVTRACE_SQL_ENGINE unset or `wasm`), so its start-up (most of a one-shot's
 * time: instantiating DuckDB in its worker) overlaps the command's own imports and the resolution
 * of its inputs. Undefined when the choice waits for the inputs (`auto`) or is native. The caller
 * owns the engine: it hands it to a session (openSession's `engine`) or cancels it.
 */
export function startEarly(choice: EngineChoice | undefined, env: NodeJS.ProcessEnv = process.env): EarlyEngine | undefined {
  const wanted = choice ?? (env.INVTRACE_SQL_ENGINE || 'wasm');
  if (wanted !== 'wasm') return undefined;
  const stop = new AbortController();
  const engine = startEngine('wasm', stop.signal);
  engine.catch(() => undefined); // its taker sees the failure
  return {
    engine,
    cancel: () => {
      stop.abort();
      void engine.then((e) => e.close()).catch(() => undefined);
    },
  };
}
