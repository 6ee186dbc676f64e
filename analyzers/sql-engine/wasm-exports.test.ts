// The export-trimmed copy of duckdb-wasm's module: a hand-made module keeps exactly the exports asked
// for and still runs, every other section byte for byte; the real module keeps what the worker
// script names; the copy is made once and a cache that cannot be written falls back to the original.

import { createRequire } from 'node:module';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { namedBy, trimmedModule, withExports } from './wasm-exports.js';

const require = createRequire(import.meta.url);
/** The part of WebAssembly's JavaScript API these tests use (tsconfig's lib has no WebAssembly types). */
interface WasmApi {
  Module: { new (bytes: Uint8Array): object; exports(m: object): { name: string }[] };
  Instance: new (m: object) => { exports: Record<string, () => number> };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const dir = tempDir();

/** A module of three functions returning 1, 2 and 3, exported as one, two, three, and a custom section. */
function threeFunctions(): Uint8Array {
  const str = (s: string) => [s.length, ...Buffer.from(s)];
  const section = (id: number, body: number[]) => [id, body.length, ...body];
  const body = (k: number) => [4, 0, 0x41, k, 0x0b]; // size, no locals, i32.const k, end
  return Uint8Array.from([
    ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, [1, 0x60, 0, 1, 0x7f]), // one type: () -> i32
    ...section(3, [3, 0, 0, 0]), // three functions of it
    ...section(7, [3, ...str('one'), 0, 0, ...str('two'), 0, 1, ...str('three'), 0, 2]),
    ...section(10, [3, ...body(1), ...body(2), ...body(3)]),
    ...section(0, [...str('note'), 0xde, 0xad]),
  ]);
}

const exportsOf = (bytes: Uint8Array) => Wasm.Module.exports(new Wasm.Module(bytes)).map((e) => e.name);

describe('withExports', () => {
  it('keeps the exports asked for, in order, and the module still runs them', () => {
    const { bytes, kept, total } = withExports(threeFunctions(), (n) => n !== 'two');
    expect([kept, total]).toEqual([2, 3]);
    expect(exportsOf(bytes)).toEqual(['one', 'three']);
    const exp = new Wasm.Instance(new Wasm.Module(bytes)).exports;
    expect([exp.one!(), exp.three!()]).toEqual([1, 3]); // the code section is the original's
  });

  it('keeping every export gives the module back byte for byte (the custom section too)', () => {
    const original = threeFunctions();
    expect(Buffer.from(withExports(original, () => true).bytes).equals(Buffer.from(original))).toBe(true);
    // Dropping one changes only the export section, by "two"'s entry: name length, 3 letters, kind, index.
    expect(withExports(original, (n) => n !== 'two').bytes.length).toBe(original.length - 6);
  });

  it('refuses what is not a WebAssembly module, or one whose section overruns', () => {
    expect(() => withExports(Buffer.from('not wasm at all'), () => true)).toThrow(/^not a WebAssembly version 1 module$/);
    const cut = threeFunctions().subarray(0, 30);
    expect(() => withExports(cut, () => true)).toThrow(/runs past the end|truncated/);
  });
});

describe('namedBy', () => {
  it('keeps the words of the script, with the _ prefix of C symbols, their orig$ twins and every dynCall_', () => {
    const keep = namedBy('x=Module._malloc(8); w.duckdb_web_query_run(c, q); free(p)');
    const names = ['malloc', 'duckdb_web_query_run', 'free', 'orig$malloc', 'dynCall_vii', 'strlen', 'orig$strlen', '_ZN6duckdb4NodeD2Ev'];
    expect(names.filter(keep)).toEqual(['malloc', 'duckdb_web_query_run', 'free', 'orig$malloc', 'dynCall_vii']);
  });
});

describe('trimmedModule on duckdb-wasm', () => {
  const wasm = require.resolve('@duckdb/duckdb-wasm/dist/duckdb-eh.wasm');
  const script = readFileSync(require.resolve('@duckdb/duckdb-wasm/dist/duckdb-node-eh.worker.cjs'), 'utf8');

  it('keeps exactly the exports the worker script names, once per build', () => {
    const cache = join(dir, 'cache');
    const copy = trimmedModule(wasm, script, cache);
    expect(copy.startsWith(cache)).toBe(true);
    const keep = namedBy(script);
    const all = Wasm.Module.exports(new Wasm.Module(readFileSync(wasm))).map((e) => e.name);
    const kept = exportsOf(readFileSync(copy));
    expect(kept).toEqual(all.filter(keep));
    // The calls duckdb-wasm's bindings make by name are there; DuckDB's C++ internals are not.
    expect(kept).toEqual(expect.arrayContaining(['duckdb_web_query_run', 'duckdb_web_insert_arrow_from_ipc_stream', 'malloc', 'free']));
    expect(kept.length).toBeLessThan(all.length / 100); // 75,011 exports in 1.32.0
    const made = statSync(copy).mtimeMs;
    expect(trimmedModule(wasm, script, cache)).toBe(copy); // found, not made again
    expect(statSync(copy).mtimeMs).toBe(made);
    // Another script (another release) has its own copy; another installation of this one shares it.
    expect(trimmedModule(wasm, script + '\n// another script', cache)).not.toBe(copy);
    const elsewhere = join(dir, 'another-install.wasm');
    copyFileSync(wasm, elsewhere);
    expect(trimmedModule(elsewhere, script, cache)).toBe(copy);
    expect(statSync(copy).mtimeMs).toBe(made);
  });

  it('falls back to the original module when the cache cannot be written', () => {
    const notADir = join(dir, 'a-file');
    writeFileSync(notADir, 'x');
    expect(trimmedModule(wasm, script, notADir)).toBe(wasm);
  });
});
