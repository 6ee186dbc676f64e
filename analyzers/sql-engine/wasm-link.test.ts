// wasm-link.ts on the installed duckdb-wasm release: the rewrite finds its anchors (else every
// session would silently start at the old speed), leaves a script without them unchanged, and
// DuckDB started from the rewritten script answers (the session and view tests run on it too).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { compileFunction } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { REWRITES, lazyArrow, lazyLinking } from './wasm-link.js';
import { WasmEngine } from './wasm.js';

const require = createRequire(import.meta.url);
const worker = readFileSync(require.resolve('@duckdb/duckdb-wasm/dist/duckdb-node-eh.worker.cjs'), 'utf8');

describe('lazy linking of the duckdb-wasm worker', () => {
  it('rewrites the bundled worker script', () => {
    const r = lazyLinking(worker);
    expect(r.applied).toBe(true);
    // The eager loops are gone, each replaced by its lazy twin.
    expect(r.text).not.toContain('var GOT={},');
    expect(r.text).toContain('__gotPending');
    expect(r.text).not.toContain('for(var[r,t]of Object.entries(e))r.startsWith("dynCall_")');
  });

  it('leaves a script alone when one anchor is missing', () => {
    // The same runtime with updateGOT spelled differently (a new Emscripten): nothing is rewritten.
    const changed = worker.replaceAll('updateGOT=(e,r)=>{', 'updateGOT=(e,r,x)=>{');
    const r = lazyLinking(changed);
    expect(r.applied).toBe(false);
    expect(r.text).toBe(changed);
  });

  it('starts DuckDB from the rewritten script, which resolves symbols through the lazy table', async () => {
    const e = await WasmEngine.start();
    try {
      // A query over built-in functions runs code reached through the function table.
      const t = await e.query("SELECT count(*)::INTEGER AS n, string_agg(x::VARCHAR, ',' ORDER BY x) AS s FROM range(3) t(x)");
      expect(t.get(0)!.toJSON()).toEqual({ n: 3, s: '0,1,2' });
    } finally {
      await e.close();
    }
  }, 60_000);
});

/**
 * The main module's linking steps, eager (the installed release's own text) and rewritten, run on
 * the same synthetic exports: the lazy views must hold what the eager walks left, key for key and
 * in the same order. One runtime's worth of each anchor, nothing else (lazyLinking needs them all).
 */
describe('lazy main-module linking holds what the eager walks held', () => {
  const from = (i: number) => REWRITES[i]![0];
  // relocateExports as the release spells it, from the installed script (it is not rewritten).
  const start = worker.indexOf('relocateExports=(e,r,t)=>{');
  const relocate = worker.slice(start, worker.indexOf(',isSymbolDefined=', start));
  const harness = [
    `${from(0)}GOTHandler={get(e,r){var t=GOT[r];return t||(t=GOT[r]=new WebAssembly.Global({value:"i32",mutable:!0})),t}};`,
    'var wasmImports=imports,wasmExports,Module={},isSymbolDefined=e=>{var r=wasmImports[e];return!(!r||r.stub)};',
    `var ${from(1)},${relocate};`,
    `var ${from(5)},${from(6)};`,
    `${from(4)}var r=l=>c=>l(c)>>>0;return e.malloc=r(e.malloc),e}`,
    `function link(raw){for(var k of gotImports)GOTHandler.get(null,k);wasmExports=raw;${from(2)}1024);${from(3)};`,
    'wasmExports=applySignatureConversions(wasmExports);return{GOT,wasmImports,wasmExports,Module}}',
    'return link;',
  ].join('\n');

  const fn = (name: string) => Object.assign(() => name, { label: name });
  // WebAssembly.Global (the project's TypeScript libs declare no WebAssembly types).
  type WasmGlobal = { value: number };
  const { Global } = (globalThis as unknown as { WebAssembly: { Global: new (d: object, v?: number) => WasmGlobal } }).WebAssembly;
  const global = (value: number) => new Global({ value: 'i32', mutable: false }, value);
  /** Exports in the order that matters: plain names before the first `orig$` are written once, after it every write wins. */
  function exportsObject() {
    const raw: Record<string, unknown> = Object.create(null);
    raw.early = fn('early'); // before any orig$: its own entry
    raw.X = fn('X'); // X, then orig$X later: orig$X wins
    raw.g = global(16); // a global: relocated by 1024
    raw.__wasm_call_ctors = fn('ctors'); // internal: no GOT entry, still imported
    raw.defined = fn('defined-export'); // wasmImports has a real one: kept
    raw.stubbed = fn('stubbed-export'); // wasmImports has a stub: replaced
    raw['orig$X'] = fn('orig$X');
    raw['orig$Y'] = fn('orig$Y'); // orig$Y, then Y later: Y wins
    raw.Y = fn('Y');
    raw['orig$Z$extra'] = fn('orig$Z$extra'); // renamed to Z (the name's second part)
    raw.dynCall_vi = fn('dynCall_vi');
    raw.malloc = fn('malloc');
    raw.late = global(8);
    return Object.freeze(raw);
  }
  const stub = Object.assign(() => 'stub', { stub: true });
  const realDefined = () => 'real';

  function run(script: string) {
    const slots: unknown[] = [];
    const addFunction = (f: unknown) => {
      const at = slots.indexOf(f);
      return at >= 0 ? at + 1 : slots.push(f);
    };
    const isInternalSym = (s: string) => s === '__wasm_call_ctors';
    const link = compileFunction(script, ['imports', 'gotImports', 'addFunction', 'isInternalSym', 'err'])(
      { defined: realDefined, stubbed: stub, env_only: realDefined },
      ['X', 'g', 'Y', 'missing'], // the module's own GOT imports: entries made during instantiation
      addFunction,
      isInternalSym,
      (m: string) => {
        throw new Error(m);
      },
    ) as (raw: object) => Record<string, Record<string, unknown>>;
    const out = link(raw);
    // A GOT entry's meaning: the export in its function-table slot (slots are numbered in first-use
    // order, which the rewrite changes), or the address.
    const got = (k: string) => {
      if (!(k in out.GOT!)) return 'absent';
      const v = (out.GOT![k] as WasmGlobal).value;
      return v > 0 && v <= slots.length ? describe(slots[v - 1]) : v;
    };
    return { out, got };
  }
  /** A value as the checks compare it: an export by its name, a wrapper by its text, else itself. */
  const describe = (v: unknown) => (typeof v === 'function' ? ((v as { label?: string }).label ?? `wrapper ${String(v)}`) : v);
  const raw = exportsObject();

  const eager = run(harness);
  const rewritten = lazyLinking(harness);
  const lazy = run(rewritten.text);
  const names = [
    'early',
    'X',
    'g',
    '__wasm_call_ctors',
    'defined',
    'stubbed',
    'orig$X',
    'Y',
    'orig$Y',
    'Z',
    'orig$Z$extra',
    'dynCall_vi',
    'malloc',
    'late',
    'missing',
    'nowhere',
  ];

  it('rewrites the harness (every anchor found once)', () => {
    expect(rewritten.applied).toBe(true);
  });

  it('gives each GOT entry the export the eager loop left in it', () => {
    // From the rule: X and orig$X both name X and orig$X is later, so orig$X; Y comes after orig$Y,
    // so Y; orig$Z$extra is Z's; g is 16 + 1024; internal and orig$-named keys get no entry; the
    // module's own import `missing` stays 0 for reportUndefinedSymbols.
    expect(eager.got('X')).toBe('orig$X');
    expect(eager.got('Y')).toBe('Y');
    expect(eager.got('Z')).toBe('orig$Z$extra');
    expect(eager.got('g')).toBe(1040);
    expect(eager.got('__wasm_call_ctors')).toBe('absent');
    expect(eager.got('orig$X')).toBe('absent');
    expect(eager.got('missing')).toBe(0);
    for (const k of names) expect([k, lazy.got(k)]).toEqual([k, eager.got(k)]);
    // A near miss: "first write wins" would have given X its own export, which the check tells apart.
    expect(lazy.got('X')).not.toBe('X');
  });

  it('shows the same wasmImports, dynCall_ symbols and exports, in the same order', () => {
    for (const part of ['wasmImports', 'Module', 'wasmExports'] as const) {
      const e = eager.out[part]!;
      const l = lazy.out[part]!;
      expect([part, ...Object.keys(l)]).toEqual([part, ...Object.keys(e)]);
      for (const k of [...Object.keys(e), 'nowhere']) {
        expect([part, k, k in l]).toEqual([part, k, k in e]);
        expect([part, k, describe(l[k])]).toEqual([part, k, describe(e[k])]);
      }
    }
    // The real import is kept, the stub replaced by the export; malloc is wrapped on the exports only.
    expect(lazy.out.wasmImports!.defined).toBe(realDefined);
    expect((lazy.out.wasmImports!.stubbed as () => string)()).toBe('stubbed-export');
    expect(describe(lazy.out.wasmExports!.malloc)).toMatch(/^wrapper /);
    expect(describe(lazy.out.wasmImports!.malloc)).toBe('malloc');
  });
});

describe('apache-arrow required on first use', () => {
  const main = readFileSync(require.resolve('@duckdb/duckdb-wasm'), 'utf8');

  it('wraps every Arrow require of both scripts, and only those', () => {
    for (const script of [worker, main]) {
      const r = lazyArrow(script);
      expect(r.applied).toBe(true);
      // Every require("apache-arrow") now sits inside a loader; other requires are untouched.
      const requires = script.split('require("apache-arrow")').length - 1;
      expect(requires).toBeGreaterThan(0);
      expect(r.text.split('__invtraceLazy(()=>').length - 1).toBe(requires);
      expect(r.text.split('require("fs")').length).toBe(script.split('require("fs")').length);
      // The strict-mode directive stays first.
      expect(r.text.startsWith('"use strict";')).toBe(script.startsWith('"use strict";'));
    }
  });

  it('loads the module when an export is first read', () => {
    // A tiny CommonJS module, run with a require that counts loads of apache-arrow.
    const r = lazyArrow('"use strict";var A=toEsm(require("apache-arrow"));module.exports=A;');
    let loads = 0;
    const mod = { exports: {} as { Type?: string } };
    const require = (id: string) => (id === 'apache-arrow' ? (loads++, { Type: 'T' }) : undefined);
    (compileFunction(r.text, ['module', 'require', 'toEsm']) as (...a: unknown[]) => void)(mod, require, (m: unknown) => m);
    expect(loads).toBe(0);
    expect(mod.exports.Type).toBe('T');
    expect('Type' in mod.exports).toBe(true);
    expect(loads).toBe(1);
  });

  it('leaves a script without Arrow alone', () => {
    expect(lazyArrow('"use strict";var x=require("fs");')).toEqual({ text: '"use strict";var x=require("fs");', applied: false });
  });
});
