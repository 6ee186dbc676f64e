// Random command words through decode, the emulators and every policy (issue 12 item 5). Half the
// commands are raw random bits; half take a real opcode/type from the codec table with random
// field values (small ones, so SIDs, DIDs and ASIDs hit the topology, or full-width ones), and a
// quarter of those also get random reserved bits. Each doorbell publishes 1–3 of them; then the
// guest does what Linux does after an error (every published slot rewritten with a completion
// point) and acknowledges, so the queue moves on. Now and then a device stops (and resumes)
// answering ATS invalidations. Every command is decoded (the trace builder decodes each one), run
// by bare hardware and by every policy; any exception is a crash, reported with its seed and chunk.

import type { RecordBatch } from 'apache-arrow';
import type { Arch } from '../../formats/codec/table.js';
import { codecFor } from '../../formats/codecs.js';
import { RingCursor } from '../../formats/ring.js';
import { MemorySink, TraceBuilder } from '../../formats/trace/builder.js';
import type { TraceHeader } from '../../formats/trace/header.js';
import type { OpenTrace } from '../../formats/trace/io.js';
import { withVersion } from '../../formats/trace/io.js';
import { Rng } from '../../samples/rng.js';
import { replayAll } from './workload.js';

export type WordVariant = 'smmuv3' | 'vtd-128' | 'vtd-256';

const ENTRIES = 256;

function header(v: WordVariant): TraceHeader {
  const arch: Arch = v === 'smmuv3' ? 'smmuv3' : 'vtd';
  const devices = [0, 1, 2, 3].map((i) => ({ sid: i, psid: 0x100 + i, iommu: i % 2, ats: i !== 3, domain: i % 3, hwpt: 0 }));
  return withVersion({
    invtrace: 1,
    arch,
    queue_entries: ENTRIES,
    desc_bytes: v === 'vtd-256' ? 32 : 16,
    topology: {
      iommus: [
        { id: 0, vmid: 1 },
        { id: 1, vmid: 2 },
      ],
      devices,
    },
  });
}

/** One random command: raw bits, or a real op with random (possibly reserved) fields. */
export function randomCommand(r: Rng, arch: Arch, words: 2 | 4): bigint[] {
  const raw = () => Array.from({ length: words }, () => r.bits(64));
  if (r.int(2) === 0) return raw();
  const codec = codecFor(arch);
  const ops = codec.table.ops.filter((o) => words === 4 || !o.wideOnly);
  const def = r.pick(ops);
  const values: Record<string, bigint> = {};
  for (const f of def.fields) {
    const width = f.parts.reduce((a, p) => a + (p.hi - p.lo + 1), 0);
    values[f.name] = r.int(2) === 0 ? BigInt(r.int(4)) : r.bits(width);
  }
  let enc = codec.encode(def.name, values, words);
  // A value the field cannot hold (an address with low bits set, a reserved encoding): keep only
  // the small values.
  if (!enc.ok) enc = codec.encode(def.name, Object.fromEntries(Object.entries(values).map(([k, x]) => [k, x < 4n ? x : 0n])), words);
  if (!enc.ok) return raw();
  const w = enc.value.slice(0, words);
  while (w.length < words) w.push(0n);
  if (r.int(4) === 0) {
    const op = codec.lookup(def.name)!;
    const k = r.int(words);
    w[k] = w[k]! | (r.bits(64) & op.reserved[k]!);
  }
  return w;
}

/** The completion point Linux writes over a failing slot: CMD_SYNC (CS=SIG_NONE) / a plain wait. */
function recovery(arch: Arch, words: 2 | 4): bigint[] {
  const codec = codecFor(arch);
  const enc = arch === 'smmuv3' ? codec.encode('CMD_SYNC', {}, words) : codec.encode('inv_wait', {}, words);
  if (!enc.ok) throw new Error(enc.error.message);
  const w = enc.value.slice(0, words);
  while (w.length < words) w.push(0n);
  return w;
}

/** A trace of `n` random commands from `seed` (in memory). */
export function wordTrace(v: WordVariant, seed: number, n: number): OpenTrace {
  const h = header(v);
  const arch = h.arch;
  const words: 2 | 4 = v === 'vtd-256' ? 4 : 2;
  const r = new Rng(seed);
  const sink = new MemorySink();
  const b = new TraceBuilder(h, sink, 1 << 14);
  const fix = recovery(arch, words);
  const cur = new RingCursor(ENTRIES);
  let done = 0;
  let timedOut: number | undefined;
  while (done < n) {
    if (timedOut === undefined && r.int(64) === 0) b.fault('atc_timeout', (timedOut = r.int(3)));
    else if (timedOut !== undefined && r.int(8) === 0) {
      b.fault('atc_recover', timedOut);
      timedOut = undefined;
    }
    const k = Math.min(n - done, 1 + r.int(3));
    const slots: number[] = [];
    for (let i = 0; i < k; i++) {
      slots.push(cur.slot);
      b.command(cur.slot, randomCommand(r, arch, words), {}, cur.wrap);
      cur.advance();
    }
    b.doorbell(cur.slot, cur.wrap);
    for (const s of slots) b.command(s, fix);
    b.ack();
    done += k;
  }
  if (timedOut !== undefined) b.fault('atc_recover', timedOut);
  b.flush();
  const batches: RecordBatch[] = sink.batches;
  return {
    path: `words:${v}:seed=${seed}`,
    header: h,
    schema: b.schema,
    async *batches() {
      yield* batches;
    },
  };
}

export interface WordRun {
  readonly variant: WordVariant;
  readonly words: number;
  readonly chunks: number;
  readonly crashes: readonly string[];
  readonly errorsRaised: number;
}

/** `total` random commands in chunks of `chunk`, each chunk its own trace replayed under every policy. */
export async function runWords(v: WordVariant, seed: number, total: number, chunk = 4096): Promise<WordRun> {
  const crashes: string[] = [];
  let chunks = 0;
  let errorsRaised = 0;
  for (let done = 0; done < total; done += chunk) {
    const n = Math.min(chunk, total - done);
    const s = seed * 1_000_003 + chunks;
    try {
      const out = await replayAll(wordTrace(v, s, n));
      errorsRaised += out.reference.errors;
    } catch (e) {
      crashes.push(`${v} seed ${s} (${n} commands): ${(e as Error).stack ?? String(e)}`);
    }
    chunks++;
  }
  return { variant: v, words: total, chunks, crashes, errorsRaised };
}
