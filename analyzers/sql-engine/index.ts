// The SQL engine's entry point: the interface and helpers (engine.ts) and `startEngine`, which
// loads one implementation on demand. It lives apart from engine.ts so that the implementations
// (native.ts, wasm.ts) import the interface without a cycle back to the code that starts them.

export * from './engine.js';
import type { EngineKind, SqlEngine } from './engine.js';

/** Starts an engine; the native one needs the optional dependency @duckdb/node-api. */
export async function startEngine(kind: EngineKind = 'wasm'): Promise<SqlEngine> {
  if (kind === 'native') return (await import('./native.js')).NativeEngine.start();
  return (await import('./wasm.js')).WasmEngine.start();
}
