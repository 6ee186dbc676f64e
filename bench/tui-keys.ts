// The TUI under keys, for bench/tui.bench.ts (run in a child process of its own so its memory
// is clean): reads a trace into the TUI's model, renders the real App into an 80x24 fake
// terminal through Ink (not its debug mode: the throttle, layout and diffing a user gets), presses
// keys and times each one from the key's bytes to the new frame written.

import { EventEmitter } from 'node:events';
import { createElement } from 'react';
import { render } from 'ink';
import { App } from '../cli/tui/App.js';
import { loadTraceModel } from '../cli/tui/model/trace-model.js';

class FakeTty extends EventEmitter {
  readonly isTTY = true;
  columns = 80;
  rows = 24;
  writes = 0;
  bytes = 0;
  write(s: string): boolean {
    this.writes++;
    this.bytes += Buffer.byteLength(s);
    return true;
  }
}

class FakeStdin extends EventEmitter {
  readonly isTTY = true;
  private data: string | null = null;
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
  read(): string | null {
    const d = this.data;
    this.data = null;
    return d;
  }
  push(s: string): void {
    this.data = s;
    this.emit('readable');
  }
}

export interface KeyTiming {
  readonly key: string;
  readonly presses: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Bytes written to the terminal per key (what crosses an ssh link). */
  readonly bytesPerKey: number;
}

export interface TuiBenchResult {
  readonly rows: number;
  readonly loadSeconds: number;
  readonly modelMiB: number;
  readonly rssLoadedMiB: number;
  readonly rssAfterKeysMiB: number;
  /** After as many keys again. */
  readonly rssAgainMiB: number;
  readonly heapMiB: number;
  readonly keys: readonly KeyTiming[];
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

export async function measureTui(path: string): Promise<TuiBenchResult> {
  const t0 = performance.now();
  const model = await loadTraceModel(path);
  const loadSeconds = (performance.now() - t0) / 1000;
  let bytes = 0;
  const add = (a: ArrayBufferView) => (bytes += a.byteLength);
  for (const v of Object.values(model)) if (ArrayBuffer.isView(v)) add(v);
  model.words.forEach(add);
  Object.values(model.keys).forEach(add);
  for (const v of Object.values(model.doorbells)) if (ArrayBuffer.isView(v)) add(v);
  gc();
  const rssLoadedMiB = rssMiB();

  const stdout = new FakeTty();
  const stdin = new FakeStdin();
  const inst = render(createElement(App, { model, sqlInputs: [path], onQuit: () => {} }), {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    stderr: stdout as unknown as NodeJS.WriteStream,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 100_000, // every key draws: the time measured is the work, not the frame-rate cap
  });
  await new Promise((r) => setTimeout(r, 50));

  const press = async (key: string): Promise<number> => {
    const before = stdout.writes;
    const s = process.hrtime.bigint();
    stdin.push(key);
    while (stdout.writes === before) await new Promise((r) => setImmediate(r));
    return Number(process.hrtime.bigint() - s) / 1e6;
  };
  const time = async (name: string, keys: readonly string[]): Promise<KeyTiming> => {
    const ms: number[] = [];
    const b0 = stdout.bytes;
    for (const k of keys) ms.push(await press(k));
    const sorted = [...ms].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
    return {
      key: name,
      presses: ms.length,
      meanMs: ms.reduce((a, b) => a + b, 0) / ms.length,
      p50Ms: q(0.5),
      p99Ms: q(0.99),
      maxMs: sorted.at(-1)!,
      bytesPerKey: (stdout.bytes - b0) / ms.length,
    };
  };
  const rep = (k: string | string[], n: number) => Array.from({ length: n }, (_, i) => (Array.isArray(k) ? k[i % k.length]! : k));
  const keys: KeyTiming[] = [];
  keys.push(await time('j (next row)', rep('j', 2000)));
  keys.push(await time('PageDown', rep('\x1b[6~', 1000)));
  keys.push(await time('G / g (last / first row)', rep(['G', 'g'], 200)));
  keys.push(await time('] (next doorbell)', rep(']', 500)));
  await press('/');
  for (const c of 'CMD_CFGI') await press(c);
  keys.push(await time('search Enter (1.5M rows)', ['\r']));
  keys.push(await time('n (next match)', rep('n', 20)));
  keys.push(await time('2 / 1 (queue view and back)', rep(['2', '1'], 200)));
  const filterMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    await press('f');
    for (const c of 'op=atc') await press(c);
    filterMs.push(await press('\r'));
    await press('c');
  }
  keys.push({
    key: 'filter Enter op=atc (1.5M rows)',
    presses: 5,
    meanMs: filterMs.reduce((a, b) => a + b, 0) / 5,
    p50Ms: [...filterMs].sort((a, b) => a - b)[2]!,
    p99Ms: Math.max(...filterMs),
    maxMs: Math.max(...filterMs),
    bytesPerKey: 0,
  });
  gc();
  const rssAfterKeysMiB = rssMiB();
  // The same again: memory that stays put, not memory that grows with keys.
  for (const k of rep(['j', '\x1b[6~', 'G', 'g', ']', '2', '1'], 5000)) await press(k);
  for (let i = 0; i < 5; i++) {
    await press('f');
    for (const c of 'op=atc') await press(c);
    await press('\r');
    await press('c');
  }
  gc();
  const rssAgainMiB = rssMiB();
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  inst.unmount();
  return { rows: model.rows, loadSeconds, modelMiB: bytes / 2 ** 20, rssLoadedMiB, rssAfterKeysMiB, rssAgainMiB, heapMiB, keys };
}
