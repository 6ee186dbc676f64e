// wasm-link.ts on the installed duckdb-wasm release: the rewrite finds its anchors (else every
// session would silently start at the old speed), leaves a script without them unchanged, and
// DuckDB started from the rewritten script answers (the session and view tests run on it too).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { compileFunction } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { lazyArrow, lazyLinking } from './wasm-link.js';
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
