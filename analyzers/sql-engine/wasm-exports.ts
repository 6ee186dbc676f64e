// duckdb-wasm's WebAssembly module with only the exports its JavaScript names.
//
// DuckDB's module is built to be linked against (Emscripten's MAIN_MODULE): it exports 75,011
// symbols (65,167 functions, 9,844 globals; a 7.4 MB export section) so that loadable extensions
// can call into it. Creating an instance makes a JavaScript object for every export, and that is
// most of the instantiation: about 300 ms of a 34 MB module whose compilation (lazy, validated
// lazily: wasm.ts) takes about 100. Only 292 of the exports are ever reached by name, all from the
// worker script's text (`_duckdb_web_query_run`, `malloc`, `dynCall_vi` ...), so the engine
// instantiates a copy whose export section keeps those alone: WebAssembly's other sections are
// untouched, byte for byte. The copy lives in invtrace's cache folder, made once per DuckDB build.
//
// The cost is loadable extensions, which link against the exports. They do not work under
// duckdb-wasm in Node anyway: LOAD blocks forever unless extensions.duckdb.org answers
// (duckdb/duckdb-wasm#2252); wasm.ts refuses LOAD and turns off autoloading, and the native engine
// (`--engine native`) loads extensions as DuckDB does.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Changes whenever the rule for which exports stay changes: part of the copy's file name. */
export const TRIM_VERSION = 1;

const EXPORT_SECTION = 7;
const PREFIX = 'duckdb-exports-';

/** An unsigned LEB128 at `at`: its value and the offset after it. */
function leb(b: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  for (let shift = 0, p = at; ; shift += 7) {
    if (p >= b.length) throw new Error(`WebAssembly module truncated at byte ${p}`);
    const x = b[p++]!;
    value += (x & 0x7f) * 2 ** shift;
    if ((x & 0x80) === 0) return [value, p];
  }
}

function uleb(n: number): Uint8Array {
  const out: number[] = [];
  do {
    let x = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) x |= 0x80;
    out.push(x);
  } while (n > 0);
  return Uint8Array.from(out);
}

/**
 * `wasm` with only the exports whose names `keep` accepts, in their order; every other section is
 * copied as it is. Throws on a module that is not WebAssembly version 1 or whose sections overrun.
 */
export function withExports(wasm: Uint8Array, keep: (name: string) => boolean): { bytes: Uint8Array; kept: number; total: number } {
  if (wasm.length < 8 || wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d || wasm[4] !== 1)
    throw new Error('not a WebAssembly version 1 module');
  const parts: Uint8Array[] = [wasm.subarray(0, 8)];
  const decoder = new TextDecoder();
  let kept = 0;
  let total = 0;
  for (let p = 8; p < wasm.length;) {
    const id = wasm[p]!;
    const [size, body] = leb(wasm, p + 1);
    const end = body + size;
    if (end > wasm.length) throw new Error(`WebAssembly section ${id} at byte ${p} runs past the end`);
    if (id !== EXPORT_SECTION) parts.push(wasm.subarray(p, end));
    else {
      const entries: Uint8Array[] = [];
      let [n, q] = leb(wasm, body);
      for (; n > 0; n--) {
        const [len, name] = leb(wasm, q);
        const [, next] = leb(wasm, name + len + 1); // the kind byte, then the index
        total++;
        if (keep(decoder.decode(wasm.subarray(name, name + len)))) {
          entries.push(wasm.subarray(q, next));
          kept++;
        }
        q = next;
      }
      if (q !== end) throw new Error(`WebAssembly export section at byte ${p} does not end where its size says`);
      const count = uleb(entries.length);
      const length = entries.reduce((s, e) => s + e.length, count.length);
      parts.push(Uint8Array.of(EXPORT_SECTION), uleb(length), count, ...entries);
    }
    p = end;
  }
  const bytes = new Uint8Array(parts.reduce((s, x) => s + x.length, 0));
  let at = 0;
  for (const x of parts) {
    bytes.set(x, at);
    at += x.length;
  }
  return { bytes, kept, total };
}

/**
 * The exports a JavaScript text can reach by name: every identifier-like word of it, as it is or
 * with Emscripten's `_` prefix for C symbols (`Module._malloc`); each `orig$` twin of one
 * (Emscripten's wrapped originals, wasm-link.ts); and every `dynCall_<signature>`, which the script
 * builds by concatenation.
 */
export function namedBy(text: string): (name: string) => boolean {
  const words = new Set(text.match(/[A-Za-z_$][\w$]*/g));
  const named = (n: string) => words.has(n) || words.has('_' + n);
  return (n) => named(n) || n.startsWith('dynCall_') || (n.startsWith('orig$') && named(n.slice(5)));
}

/**
 * The path of `wasm` with only the exports `script` (the worker script's text that will run) can
 * reach, made once in `cacheDir` (written atomically) and named after the script's hash and the
 * module's size, which pin the duckdb-wasm release (not the file's path or time: installations of
 * the same release share one copy; 27 MB for each release). `wasm` itself when the copy cannot be made (a read-only cache): slower
 * to instantiate, the same engine.
 */
export function trimmedModule(wasm: string, script: string, cacheDir: string): string {
  try {
    const st = statSync(wasm);
    const key = createHash('sha256').update(script).update(`${st.size}:${TRIM_VERSION}`).digest('hex').slice(0, 16);
    const copy = join(cacheDir, `${PREFIX}${key}.wasm`);
    if (existsSync(copy)) return copy;
    const { bytes } = withExports(readFileSync(wasm), namedBy(script));
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${copy}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, copy);
    return copy;
  } catch {
    return wasm;
  }
}
