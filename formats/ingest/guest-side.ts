// The guest side of an ingest as batches of queue events: read in this thread (`guestEvents`), or,
// for both sides of a run, in a worker thread (`guestInWorker`, guest-worker.ts) while this thread
// reads the QEMU side. The worker reads the guest trace exactly as this thread would (same readers,
// same Diagnostics) and sends, per block of lines, the commands the aligner compares (align.ts
// alignableIn) as typed arrays, then its diagnostics and the console facts; an InputFault there
// (a bad line under --strict, a truncated gzip stream) arrives after the batches before it, so it
// surfaces where it would in this thread. At most IN_FLIGHT batches wait for the aligner (memory
// stays flat whatever the sizes of the two files).

import type { Arch } from '../codec/table.js';
import type { CaptureEvent, CmdEvent, Diagnostics, DiagnosticsState } from '../capture/events.js';
import { GuestSmmuv3Queue } from '../capture/guest-smmuv3.js';
import { readGuestChunks, type GuestFacts, type GuestKind, type GuestLine, type Progress } from '../capture/guest-trace.js';
import { GuestVtdQueue } from '../capture/guest-vtd.js';
import { workerJob, workerScript } from '../worker-job.js';
import type { InputError } from '../result.js';

export interface GuestSideSpec {
  readonly file: string;
  readonly kind: GuestKind;
  readonly arch: Arch;
  readonly entries: number;
  readonly gapNs?: bigint;
  readonly strict: boolean;
}

/** The guest side as batches of queue events, read in this thread. */
export function guestEvents(spec: GuestSideSpec, diag: Diagnostics, facts: GuestFacts, progress?: Progress): AsyncGenerator<CaptureEvent[]> {
  const q =
    spec.arch === 'vtd'
      ? new GuestVtdQueue(diag, { entries: spec.entries, ...(spec.gapNs !== undefined ? { gapNs: spec.gapNs } : {}) })
      : new GuestSmmuv3Queue(diag, { entries: spec.entries });
  return guestBatches(readGuestChunks(spec.file, spec.kind, diag, facts, progress), q);
}

/** Feeds a guest reader a block of lines at a time and passes its events on per block. */
async function* guestBatches(chunks: AsyncIterable<GuestLine[]>, q: GuestVtdQueue | GuestSmmuv3Queue): AsyncGenerator<CaptureEvent[]> {
  for await (const lines of chunks) {
    for (const g of lines) q.feed(g);
    yield q.take();
  }
  q.end();
  yield q.take();
}

/**
 * Guest commands as typed arrays: what the aligner reads of them (slot, wrap, words, known masks,
 * CPU, line). Command k has `words[4k, 4k + nWords[k])` and, when `hasKnown[k]`, `known[2k, 2k + 2)`;
 * `cpu[k]` < 0 is no CPU, `wrap[k]` > 1 no wrap bit.
 */
export interface CmdWire {
  readonly n: number;
  readonly slot: Int32Array;
  readonly wrap: Uint8Array;
  readonly nWords: Uint8Array;
  readonly words: BigUint64Array;
  readonly hasKnown: Uint8Array;
  readonly known: BigUint64Array;
  readonly cpu: Int32Array;
  readonly line: Int32Array;
}

const NO_WRAP = 2;

export function encodeCmds(cmds: readonly CmdEvent[]): CmdWire {
  const n = cmds.length;
  const w: CmdWire = {
    n,
    slot: new Int32Array(n),
    wrap: new Uint8Array(n),
    nWords: new Uint8Array(n),
    words: new BigUint64Array(4 * n),
    hasKnown: new Uint8Array(n),
    known: new BigUint64Array(2 * n),
    cpu: new Int32Array(n),
    line: new Int32Array(n),
  };
  for (let k = 0; k < n; k++) {
    const c = cmds[k]!;
    if (c.words.length > 4) throw new Error(`guest command with ${c.words.length} words`);
    w.slot[k] = c.slot;
    w.wrap[k] = c.wrap ?? NO_WRAP;
    w.nWords[k] = c.words.length;
    for (let i = 0; i < c.words.length; i++) w.words[4 * k + i] = c.words[i]!;
    if (c.known !== undefined) {
      w.hasKnown[k] = 1;
      w.known[2 * k] = c.known[0];
      w.known[2 * k + 1] = c.known[1];
    }
    w.cpu[k] = c.cpu ?? -1;
    w.line[k] = c.at.line;
  }
  return w;
}

export function decodeCmds(w: CmdWire, file: string): CmdEvent[] {
  const out = new Array<CmdEvent>(w.n);
  for (let k = 0; k < w.n; k++) {
    const words = new Array<bigint>(w.nWords[k]!);
    for (let i = 0; i < words.length; i++) words[i] = w.words[4 * k + i]!;
    const wrap = w.wrap[k]!;
    const cpu = w.cpu[k]!;
    out[k] = {
      kind: 'cmd',
      slot: w.slot[k]!,
      wrap: wrap === NO_WRAP ? undefined : wrap,
      words,
      known: w.hasKnown[k] === 1 ? [w.known[2 * k]!, w.known[2 * k + 1]!] : undefined,
      at: { file, line: w.line[k]! },
      cpu: cpu < 0 ? undefined : cpu,
    };
  }
  return out;
}

/** Batches handed to the aligner ahead of it at most. */
export const IN_FLIGHT = 8;

export interface GuestWorkerData extends GuestSideSpec {
  /** Shared counter of batches the worker may still send (Int32). */
  readonly credits: SharedArrayBuffer;
  readonly progress: boolean;
}

export type GuestWorkerMessage =
  | { readonly type: 'batch'; readonly cmds: CmdWire }
  | { readonly type: 'progress'; readonly bytes: number; readonly lines: number }
  | { readonly type: 'done'; readonly diag: DiagnosticsState; readonly facts: GuestFacts }
  | { readonly type: 'error'; readonly input?: InputError; readonly message?: string };

type Note = Exclude<GuestWorkerMessage, { readonly type: 'done' | 'error' }>;

export interface RemoteGuest {
  /** The guest's alignable commands, in batches; `diag` and `facts` are filled when it ends. */
  readonly events: AsyncGenerator<CaptureEvent[]>;
  /** Stops the worker (when the ingest ends early). */
  close(): Promise<void>;
}

/** The guest side read in a worker thread: its alignable commands only (what Aligner.merge uses). */
export function guestInWorker(spec: GuestSideSpec, diag: Diagnostics, facts: GuestFacts, progress?: Progress): RemoteGuest {
  const credits = new SharedArrayBuffer(4);
  const counter = new Int32Array(credits);
  counter[0] = IN_FLIGHT;
  const data: GuestWorkerData = { ...spec, credits, progress: progress !== undefined };
  const batches: Note[] = [];
  let wake: (() => void) | undefined;
  let settled: { readonly ok: true; readonly diag: DiagnosticsState; readonly facts: GuestFacts } | { readonly ok: false; readonly e: unknown } | undefined;
  const job = workerJob<GuestWorkerMessage>(
    workerScript(import.meta.url, 'formats/ingest/guest-worker.js'),
    { workerData: data },
    {
      note: (m) => {
        batches.push(m);
        wake?.();
      },
      exitMessage: (code) => `the guest reader thread exited with code ${code} before it was done`,
    },
  );
  job.done.then(
    (m) => {
      settled = { ok: true, diag: m.diag, facts: m.facts };
      wake?.();
    },
    (e: unknown) => {
      settled = { ok: false, e };
      wake?.();
    },
  );
  let finished = false;
  const release = (n: number) => {
    Atomics.add(counter, 0, n);
    Atomics.notify(counter, 0);
  };
  async function* events(): AsyncGenerator<CaptureEvent[]> {
    for (;;) {
      const m = batches.shift();
      if (m !== undefined) {
        if (m.type === 'progress') {
          progress?.(spec.file, m.bytes, m.lines);
          continue;
        }
        release(1);
        yield decodeCmds(m.cmds, spec.file);
        continue;
      }
      if (settled !== undefined) {
        finished = true;
        if (!settled.ok) throw settled.e;
        diag.restore(settled.diag);
        Object.assign(facts, settled.facts);
        return;
      }
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  }
  return {
    events: events(),
    async close() {
      if (finished || settled !== undefined) return;
      release(1 << 30); // never blocked again, then stopped
      await job.terminate();
    },
  };
}
