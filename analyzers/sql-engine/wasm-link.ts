// A faster start for duckdb-wasm's scripts (the worker's and the main thread's), rewritten to do
// lazily what they did eagerly, with the same results.
//
// 1. Arrow on demand (both scripts): each loads its own apache-arrow 17 (CommonJS, ~100 files:
//    130-190 ms to require, measured) at start, but uses it only to build or read Arrow objects,
//    which invtrace never asks for (tables go in and results come out as IPC bytes: wasm.ts). The
//    module is required the first time one of its exports is read (`lazyArrow`).
// 2. The worker's Emscripten dynamic linker (`lazyLinking`). Measured (`node --cpu-prof`, one-shot `sql -e`
// on a small trace): of the worker's ~1 s of start-up CPU, ~0.5 s went to linking DuckDB's main
// module, which exports 75,011 symbols (65,167 functions, 9,844 globals), before any query:
//
//   - updateGOT gave every export a Global Offset Table entry (a WebAssembly.Global each), and
//     every exported function a slot in the function table (`addFunction`: the table grows by one
//     per function), ~65 K table growths; reportUndefinedSymbols then walked all 75 K entries.
//     GOT entries are read only by code importing them (the main module's own 268 `GOT.func`/
//     `GOT.mem` imports, a side module loaded later), so here an entry is made when first read:
//     `GOT` is a Proxy over the entries made so far, and the exports waiting for an entry sit in
//     a Map. The entries that exist are filled as before, a pending one is replaced when an entry
//     would have been (`orig$` exports, a side module's `replace`, a zero), reportUndefinedSymbols sees every entry that
//     may be unresolved (a pending one is an export: resolved by definition). Only the numbers
//     given to function pointers differ (slots are handed out in first-use order).
//   - mergeLibSymbols and registerDynCallSymbols walked the exports through Object.entries
//     (a [key, value] array per export); a for-in loop visits the same keys in the same order.
//
// The rewrite is textual, on the pinned @duckdb/duckdb-wasm release: every anchor must be found
// as often as the script holds an Emscripten runtime, else the script runs unchanged (slower, and
// correct). wasm-link.test.ts checks the anchors are found in the installed release.

/** What is replaced: the exact text of the Emscripten runtime functions, and its lazy twin. */
const REWRITES: readonly (readonly [string, string])[] = [
  [
    'var GOT={},',
    'var __gotMade={},__gotPending=new Map(),GOT=new Proxy(__gotMade,{' +
      'get(o,k){if(typeof k=="string"&&!(k in o)&&__gotPending.has(k)){var n=__gotPending.get(k);__gotPending.delete(k);' +
      'var g=o[k]=new WebAssembly.Global({value:"i32",mutable:!0});g.value=typeof n=="function"?addFunction(n):n}return o[k]},' +
      'has(o,k){return k in o||__gotPending.has(k)}}),',
  ],
  [
    'updateGOT=(e,r)=>{for(var t in e)if(!isInternalSym(t)){var n=e[t];t.startsWith("orig$")&&(t=t.split("$")[1],r=!0),' +
      'GOT[t]||(GOT[t]=new WebAssembly.Global({value:"i32",mutable:!0})),(r||GOT[t].value==0)&&(typeof n=="function"?' +
      'GOT[t].value=addFunction(n):typeof n=="number"?GOT[t].value=n:err(`unhandled export type for \'${t}\': ${typeof n}`))}}',
    'updateGOT=(e,r)=>{for(var t in e)if(!isInternalSym(t)){var n=e[t];t.startsWith("orig$")&&(t=t.split("$")[1],r=!0);' +
      'if(t in __gotMade||(typeof n!="function"&&typeof n!="number")){GOT[t]||(GOT[t]=new WebAssembly.Global({value:"i32",mutable:!0})),' +
      '(r||GOT[t].value==0)&&(typeof n=="function"?GOT[t].value=addFunction(n):typeof n=="number"?GOT[t].value=n:' +
      "err(`unhandled export type for '${t}': ${typeof n}`))}else(r||!__gotPending.has(t)||__gotPending.get(t)===0)&&__gotPending.set(t,n)}}",
  ],
  [
    'registerDynCallSymbols=e=>{for(var[r,t]of Object.entries(e))r.startsWith("dynCall_")&&!Module.hasOwnProperty(r)&&(Module[r]=t)}',
    'registerDynCallSymbols=e=>{for(var r in e)r.startsWith("dynCall_")&&!Module.hasOwnProperty(r)&&(Module[r]=e[r])}',
  ],
  [
    'mergeLibSymbols=(e,r)=>{registerDynCallSymbols(e);for(var[t,n]of Object.entries(e))(o=>{isSymbolDefined(o)||(wasmImports[o]=n)})(t)}',
    'mergeLibSymbols=(e,r)=>{registerDynCallSymbols(e);for(var t in e)isSymbolDefined(t)||(wasmImports[t]=e[t])}',
  ],
];

/** Bumped when the rewrites change (it keys the V8 code cache of the rewritten script). */
export const LINK_REWRITE_VERSION = 2;

function count(text: string, s: string): number {
  let n = 0;
  for (let i = text.indexOf(s); i !== -1; i = text.indexOf(s, i + s.length)) n++;
  return n;
}

/**
 * The worker script with its dynamic linker made lazy, or unchanged (`applied: false`) when an
 * anchor is missing or found a different number of times than the runtime's `var GOT={}`.
 */
export function lazyLinking(script: string): { text: string; applied: boolean } {
  const runtimes = count(script, REWRITES[0]![0]);
  if (runtimes === 0 || REWRITES.some(([from]) => count(script, from) !== runtimes)) return { text: script, applied: false };
  let text = script;
  for (const [from, to] of REWRITES) text = text.replaceAll(from, to);
  return { text, applied: true };
}

/** How a bundle requires Arrow: esbuild's `toESM(require("apache-arrow"))`, whatever the helper is named. */
const ARROW_REQUIRE = '(require("apache-arrow"))';
const IDENT_CHAR = /[\w$]/;

/** The identifier ending `text` ('' if none), read backwards (a regex anchored at the end would scan it all). */
function identifierAtEnd(text: string): string {
  let i = text.length;
  while (i > 0 && IDENT_CHAR.test(text[i - 1]!)) i--;
  return /^[A-Za-z_$]/.test(text.slice(i)) ? text.slice(i) : '';
}

/**
 * The script with apache-arrow required on first use: each `toESM(require("apache-arrow"))` becomes
 * a Proxy that requires the module when an export is first read (a hoisted helper appended at the
 * end, so a leading "use strict" stays first). Unchanged when the script requires no Arrow.
 */
export function lazyArrow(script: string): { text: string; applied: boolean } {
  const pieces = script.split(ARROW_REQUIRE);
  if (pieces.length === 1) return { text: script, applied: false };
  let text = '';
  for (const [i, piece] of pieces.entries()) {
    if (i === pieces.length - 1) {
      text += piece;
      break;
    }
    // The helper's name ends the piece before each require (a plain `require(...)` call has none).
    const toEsm = identifierAtEnd(piece);
    if (toEsm === '') return { text: script, applied: false };
    text += `${piece.slice(0, piece.length - toEsm.length)}__invtraceLazy(()=>${toEsm}${ARROW_REQUIRE})`;
  }
  text += '\nfunction __invtraceLazy(load){var m;return new Proxy({},{get:(_,k)=>(m??=load())[k],has:(_,k)=>k in(m??=load())})}\n';
  return { text, applied: true };
}
