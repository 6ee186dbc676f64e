// A faster start for duckdb-wasm's scripts (the worker's and the main thread's), rewritten to do
// lazily what they did eagerly, with the same results.
//
// 1. Arrow on demand (both scripts): each loads its own apache-arrow 17 (CommonJS, ~100 files:
//    130-190 ms to require, measured) at start, but uses it only to build or read Arrow objects,
//    which invtrace never asks for (tables go in and results come out as IPC bytes: wasm.ts). The
//    module is required the first time one of its exports is read (`lazyArrow`).
// 2. The worker's Emscripten dynamic linker. Measured (`node --cpu-prof`, one-shot `sql -e` on a
//    small trace): of the worker's ~1 s of start-up CPU, ~0.5 s went to linking DuckDB's main
//    module, which exports 75,011 symbols (65,167 functions, 9,844 globals, 11,161 of them
//    `orig$` twins), before any query. Each step walked every export, and three of them copied
//    all of them into a new 75 K-property object:
//
//   - relocateExports copied the exports, adding the memory base to each global (`relocated`);
//   - updateGOT gave every export a Global Offset Table entry (a WebAssembly.Global each) and
//     every exported function a slot in the function table (`addFunction`: ~65 K table growths);
//   - mergeLibSymbols copied every export into `wasmImports`, registerDynCallSymbols walked them
//     for the 92 `dynCall_` ones, and applySignatureConversions copied them once more to wrap 14.
//
//    For the main module each of these is now a view that computes an entry when it is first
//    read, with the value the eager walk would have left there (`LAZY_MAIN` below says how); one
//    pass over the export names finds the `dynCall_` ones and which of `X` and `orig$X` wins X's
//    GOT entry. GOT entries are read only by code importing them (the main module's own 268
//    `GOT.func`/`GOT.mem` imports, filled at once as before, and a side module loaded later).
//    A side module is still linked eagerly, except that its GOT entries are made on first read
//    (`__gotPending`), as is reportUndefinedSymbols' walk (it sees every entry that may be
//    unresolved: a pending one is an export, resolved by definition). Only the numbers given to
//    function pointers differ (slots are handed out in first-use order).
//
// The rewrite is textual, on the pinned @duckdb/duckdb-wasm release: every anchor must be found
// as often as the script holds an Emscripten runtime, else the script runs unchanged (slower, and
// correct). wasm-link.test.ts checks the anchors are found in the installed release and that the
// lazy views hold what the eager walks would have (same keys, same values, same order).

/**
 * The lazy main-module linking, declared beside `GOT` in each runtime (so it sees the runtime's
 * own `wasmImports`, `addFunction`, `isInternalSym` and `Module`). Written out for reading.
 *
 * - `__invtraceMainExports(raw, base)` replaces `relocateExports(raw, base)` for the main module:
 *   a view whose entry `k` is `raw[k]` with a global's value read and `base` added, made on first
 *   read. Then what updateGOT(view) would have done: the eager loop visits the exports in order
 *   and, once it has met any `orig$` export, writes every later one, so X's entry ends up with
 *   the LAST export named X or `orig$X` (an internal symbol's own name excluded, isInternalSym);
 *   `winner` records that export for each X that has an `orig$` twin. The GOT entries that exist
 *   already (created by the module's own GOT imports during instantiation, all still 0) are
 *   filled now; the others come from `__gotMain` when first read.
 * - `__invtraceMergeMain(view)` replaces `mergeLibSymbols(view, "main")`: the `dynCall_` exports
 *   go on `Module`, and `wasmImports` becomes a view in which an export shows through wherever
 *   the eager copy would have put it (where `wasmImports` had nothing, or a stub), until the
 *   runtime writes that name itself.
 * - `__invtraceOverlay(base)` replaces applySignatureConversions' `Object.assign({}, base)`:
 *   writes land on the overlay, reads fall through to `base`.
 *
 * Each view has a `set` trap: without one, a write through the Proxy defines the property on its
 * target with the defaults of defineProperty (not enumerable), since the view reports the name.
 */
const LAZY_MAIN = `
__gotMain=null,__mainRaw=null,__mainView=null,__mainDyn=null,
__gotHas=k=>__gotPending.has(k)||__gotMain!==null&&__gotMain.has(k),
__gotPeek=k=>__gotPending.has(k)?__gotPending.get(k):__gotMain.get(k),
__gotTake=k=>{if(!__gotPending.has(k))return __gotMain.get(k);var n=__gotPending.get(k);__gotPending.delete(k);return n},
__invtraceKeys=(o,b)=>{var s=new Set(Reflect.ownKeys(o));for(var k of Reflect.ownKeys(b))s.add(k);return[...s]},
__invtraceField=v=>({value:v,writable:!0,enumerable:!0,configurable:!0}),
__invtraceMainExports=(raw,base)=>{
  var rel=k=>{var o=raw[k];typeof o=="object"&&(o=o.value);typeof o=="number"&&(o+=base);return o};
  var view=new Proxy({},{
    get(o,k){return k in o||typeof k!="string"||!(k in raw)?o[k]:o[k]=rel(k)},
    set(o,k,v){o[k]=v;return!0},
    has(o,k){return k in o||k in raw},
    ownKeys(o){return __invtraceKeys(raw,o)},
    getOwnPropertyDescriptor(o,k){return k in o||!(k in raw)?Reflect.getOwnPropertyDescriptor(o,k):__invtraceField(rel(k))}});
  var keys=Object.keys(raw),winner=new Map(),dyn=[];
  for(var i=0;i<keys.length;i++){var k=keys[i];
    if(k.startsWith("orig$"))winner.set(k.split("$")[1],k);
    else{winner.has(k)&&!isInternalSym(k)&&winner.set(k,k);k.startsWith("dynCall_")&&dyn.push(k)}}
  __gotMain={
    has:k=>winner.has(k)||!k.startsWith("orig$")&&k in raw&&!isInternalSym(k),
    get:k=>view[winner.has(k)?winner.get(k):k]};
  for(var t in __gotMade){var g=__gotMade[t];
    if(g.value==0&&__gotMain.has(t)){var n=__gotMain.get(t);
      typeof n=="function"?g.value=addFunction(n):typeof n=="number"?g.value=n:err(\`unhandled export type for '\${t}': \${typeof n}\`)}}
  __mainRaw=raw;__mainView=view;__mainDyn=dyn;
  return view},
__invtraceMergeMain=e=>{
  if(e!==__mainView)return mergeLibSymbols(e,"main");
  for(var k of __mainDyn)Module.hasOwnProperty(k)||(Module[k]=__mainRaw[k]);
  var raw=__mainRaw,view=__mainView,own=new Set(),shows=(o,k)=>typeof k=="string"&&!own.has(k)&&k in raw&&!(o[k]&&!o[k].stub);
  wasmImports=new Proxy(wasmImports,{
    get(o,k){return shows(o,k)?view[k]:o[k]},
    set(o,k,v){o[k]=v;own.add(k);return!0},
    deleteProperty(o,k){own.add(k);return delete o[k]},
    has(o,k){return k in o||shows(o,k)},
    ownKeys(o){return __invtraceKeys(o,raw).filter(k=>k in o||shows(o,k))},
    getOwnPropertyDescriptor(o,k){return shows(o,k)?__invtraceField(view[k]):Reflect.getOwnPropertyDescriptor(o,k)}})},
__invtraceOverlay=b=>new Proxy({},{
  get(o,k){return k in o?o[k]:b[k]},
  set(o,k,v){o[k]=v;return!0},
  has(o,k){return k in o||k in b},
  ownKeys(o){return __invtraceKeys(b,o)},
  getOwnPropertyDescriptor(o,k){return k in o?Reflect.getOwnPropertyDescriptor(o,k):k in b?__invtraceField(b[k]):void 0}}),`;

/** Minified: the runtime's text is minified, and the rewritten script is compiled once per process. */
const LAZY_MAIN_TEXT = LAZY_MAIN.replace(/\n\s*/g, '');

/** What is replaced (exported for wasm-link.test.ts): the exact text of the Emscripten runtime functions, and its lazy twin. */
export const REWRITES: readonly (readonly [string, string])[] = [
  [
    'var GOT={},',
    'var __gotMade={},__gotPending=new Map(),GOT=new Proxy(__gotMade,{' +
      'get(o,k){if(typeof k=="string"&&!(k in o)&&__gotHas(k)){var n=__gotTake(k);' +
      'var g=o[k]=new WebAssembly.Global({value:"i32",mutable:!0});g.value=typeof n=="function"?addFunction(n):n}return o[k]},' +
      'has(o,k){return k in o||typeof k=="string"&&__gotHas(k)}}),' +
      LAZY_MAIN_TEXT,
  ],
  [
    'updateGOT=(e,r)=>{for(var t in e)if(!isInternalSym(t)){var n=e[t];t.startsWith("orig$")&&(t=t.split("$")[1],r=!0),' +
      'GOT[t]||(GOT[t]=new WebAssembly.Global({value:"i32",mutable:!0})),(r||GOT[t].value==0)&&(typeof n=="function"?' +
      'GOT[t].value=addFunction(n):typeof n=="number"?GOT[t].value=n:err(`unhandled export type for \'${t}\': ${typeof n}`))}}',
    'updateGOT=(e,r)=>{for(var t in e)if(!isInternalSym(t)){var n=e[t];t.startsWith("orig$")&&(t=t.split("$")[1],r=!0);' +
      'if(t in __gotMade||(typeof n!="function"&&typeof n!="number")){GOT[t]||(GOT[t]=new WebAssembly.Global({value:"i32",mutable:!0})),' +
      '(r||GOT[t].value==0)&&(typeof n=="function"?GOT[t].value=addFunction(n):typeof n=="number"?GOT[t].value=n:' +
      "err(`unhandled export type for '${t}': ${typeof n}`))}else(r||!__gotHas(t)||__gotPeek(t)===0)&&__gotPending.set(t,n)}}",
  ],
  ['wasmExports=relocateExports(wasmExports,', 'wasmExports=__invtraceMainExports(wasmExports,'],
  ['mergeLibSymbols(wasmExports,"main")', '__invtraceMergeMain(wasmExports)'],
  ['function applySignatureConversions(e){e=Object.assign({},e);', 'function applySignatureConversions(e){e=__invtraceOverlay(e);'],
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
export const LINK_REWRITE_VERSION = 3;

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
