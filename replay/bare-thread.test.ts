// Bare hardware on a thread of its own (bare-thread.ts, bare-facts.ts, fact-ring.ts): the policies
// read what it published and the tables are the bytes of bare hardware in the same thread; the ring
// keeps every word in order through wrap-arounds and back-pressure, a dropped or reordered event is
// caught, and a failing bare thread is one clear error. The threads run from dist/ (npm test builds
// first).
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ingest } from '../formats/ingest/ingest.js';
import { packageRoot } from '../formats/paths.js';
import { InputFault } from '../formats/result.js';
import { openTrace } from '../formats/trace/io.js';
import { tempDir } from '../test/helpers.js';
import { BareFacts, CONS, END, fact, FactsOutOfStep, MirroredBare, PENDING, SETTLED } from './bare-facts.js';
import { factRing, FactReader, FactWriter } from './fact-ring.js';
import { GuestQueue } from './guest-queue.js';
import { kitFor } from './kits.js';
import { loadCosts } from './cost/params.js';
import { resolvePolicies } from './policies/index.js';
import { replayTrace } from './replayer.js';
import { runReplay } from './run.js';
import { resolveTopology } from './topology.js';

const dir = tempDir();
const TABLES = ['host_ops.arrow', 'completions.arrow', 'violations.arrow', 'summary.arrow', 'replay.json'];
const sample = (rel: string) => fileURLToPath(new URL(`../samples/${rel}`, import.meta.url));

/** A reader over `ring` whose end is an error (a test never reads past what it wrote). */
const reader = (ring: SharedArrayBuffer) =>
  new FactReader(ring, (state) => {
    throw new Error(`ring ended (${state})`);
  });

describe('fact ring', () => {
  it('hands over every word in order through many wrap-arounds', () => {
    // 16 words; rounds of 1..8 words (the writer never waits: at most half the ring is in
    // flight), 2,000 rounds = 9,000 words, the ring's slots reused 560 times.
    const ring = factRing(16);
    const w = new FactWriter(ring);
    const r = reader(ring);
    let next = 0;
    let seen = 0;
    for (let round = 0; round < 2000; round++) {
      const n = 1 + (round % 8);
      for (let i = 0; i < n; i++) w.put(next++);
      w.flush();
      for (let i = 0; i < n; i++) expect(r.take()).toBe(seen++);
      r.endEvent();
    }
    expect(seen).toBe(9000); // 250 times 1 + 2 + ... + 8 = 36
  });

  it('blocks the writer while the ring is full and the reader while it is empty, across threads', async () => {
    // A writer thread puts 0..49,999 into a 16-word ring as fast as it can: it waits for the reader
    // most of the time, the reader for it at the start; every word must arrive, in order.
    const ring = factRing(16);
    const url = pathToFileURL(join(packageRoot(), 'dist/replay/fact-ring.js')).href;
    const worker = new Worker(
      `const { FactWriter, RING_DONE } = await import(${JSON.stringify(url)});
       const { workerData } = await import('node:worker_threads');
       const w = new FactWriter(workerData);
       for (let i = 0; i < 50000; i++) { w.put(i); if (i % 7 === 6) w.endEvent(); }
       w.close(RING_DONE);`,
      { eval: true, workerData: ring },
    );
    const ended = new Promise((resolve) => worker.on('exit', resolve));
    const r = new FactReader(ring, (state) => {
      throw new Error(`ended (${state})`);
    });
    let bad = -1;
    for (let i = 0; i < 50000; i++) {
      if (r.take() !== i && bad < 0) bad = i;
      if (i % 5 === 4) r.endEvent();
    }
    expect(bad).toBe(-1);
    // Past the last word: the writer ended the ring (RING_DONE = 1).
    expect(() => r.take()).toThrow('ended (1)');
    await ended;
  });
});

describe("bare hardware's facts", () => {
  const header = { invtrace: 1, arch: 'smmuv3', queue_entries: 256, desc_bytes: 16 } as const;

  /** Facts for events 0..n-1: each moves the consumer to 10 * (ordinal + 1) and ends. */
  function write(w: { put(x: number): void }, ordinals: readonly number[]): void {
    for (const k of ordinals) {
      w.put(fact(CONS, 0, 10 * (k + 1)));
      w.put(fact(END, 0, k));
    }
  }

  function facts(ring: SharedArrayBuffer) {
    const q = new GuestQueue(header);
    const topology = { iommus: [{ id: 0 }], devices: [] } as never;
    const mirror = new MirroredBare(topology, q);
    const f = new BareFacts(reader(ring), new MessageChannel().port1, [mirror]);
    return { f, mirror };
  }

  it('reads each event in order into the mirror', () => {
    const ring = factRing(64);
    const w = new FactWriter(ring);
    write(w, [0, 1, 2]);
    w.put(fact(PENDING, 0, 7));
    w.put(fact(END, 0, 3));
    w.put(fact(SETTLED, 0, 7));
    w.put(fact(END, 0, 4));
    w.flush();
    const { f, mirror } = facts(ring);
    for (const cons of [10, 20, 30]) {
      expect(f.step()).toBe(-1);
      expect(mirror.cons).toBe(cons);
    }
    f.step();
    expect(mirror.isPending(7)).toBe(true); // pending after event 3
    f.step();
    expect(mirror.isPending(7)).toBe(false); // settled by event 4
  });

  it('stops at an event the ring dropped or reordered', () => {
    // A writer that loses every fourth word (the END of event 1): the reader sees event 2's end
    // where event 1's was due.
    const lossy = factRing(64);
    const w = new FactWriter(lossy);
    let n = 0;
    write({ put: (x) => (n++ % 4 === 3 ? undefined : w.put(x)) }, [0, 1, 2]);
    w.flush();
    const a = facts(lossy).f;
    a.step();
    expect(() => a.step()).toThrow(FactsOutOfStep);
    // Events 0 and 1 swapped.
    const swapped = factRing(64);
    const w2 = new FactWriter(swapped);
    write(w2, [1, 0]);
    w2.flush();
    expect(() => facts(swapped).f.step()).toThrow(/event 1 where 0 was due/);
    // The same events intact: no complaint.
    const intact = factRing(64);
    const w3 = new FactWriter(intact);
    write(w3, [0, 1, 2]);
    w3.flush();
    const c = facts(intact).f;
    for (let i = 0; i < 3; i++) expect(c.step()).toBe(-1);
  });
});

describe('bare hardware on its own thread', () => {
  // A trace ending on a CMD_SYNC bare hardware never completes: the illegal command at slot 1
  // stops the queue (CERROR_ILL, spec/smmuv3.md §1.3) and the guest never acknowledges, so the
  // reference completes 0 completion points and raises 1 error.
  const stuck = join(dir, 'stuck.jsonl');
  writeFileSync(
    stuck,
    [
      '{"invtrace": 1, "arch": "smmuv3", "queue_entries": 256, "desc_bytes": 16, "topology": {"iommus": 1, "devices": [{"sid": "0x8", "domain": 1}]}}',
      '{"cmd": {"op": "TLBI_NH_VA", "asid": 1, "tg": 1, "ttl": 3, "leaf": 1, "addr": "0xffff6000"}}',
      '{"cmd": ["0x7", "0x0"]}',
      '{"cmd": {"op": "CMD_SYNC", "cs": 2, "msh": 3, "msiattr": 15}}',
      '{"doorbell": true}',
      '',
    ].join('\n'),
  );

  // [input files, what bare hardware did per the input's own description]
  const inputs: [string, string[], { completions?: number; errors: number }][] = [
    // README: an illegal command after command 1000, overwritten with a CMD_SYNC, then GERRORN.
    ['smmuv3-ill', [sample('generated/smmuv3-ill.arrow')], { errors: 1 }],
    // README: a device-TLB invalidation times out after command 1500 (ITE).
    ['vtd-atc-timeout', [sample('generated/vtd-atc-timeout.arrow')], { errors: 1 }],
    // Two guest queues.
    ['two-vsmmus', [sample('generated/smmuv3-two-vsmmus.arrow')], { errors: 0 }],
    // Its header: executes slot 0, stops at slot 1 (CERROR_ILL); the CMD_SYNC rewritten into slot 1
    // and the one at slot 4 complete after the acknowledgement.
    ['illegal', [sample('scenarios/d-smmuv3-illegal-then-vmm-command.jsonl')], { completions: 2, errors: 1 }],
    ['stuck', [stuck], { completions: 0, errors: 1 }],
    // Its header: the CMD_SYNC at slot 2 stops the queue with CERROR_ATC_INV_SYNC, and the ATC_INV
    // stays pending on bare hardware (a policy's stale finding is judged while it is).
    ['atc-inv-sync', [sample('scenarios/g-smmuv3-qemu-atc-timeout.jsonl')], { errors: 1 }],
    ['capture-smmuv3-strict', [sample('captures/qemu-smmuv3-strict.log.gz'), sample('captures/guest-smmuv3-strict.txt.gz')], { errors: 0 }],
  ];

  for (const [name, files, expected] of inputs) {
    it(`writes the same tables as bare hardware in the same thread: ${name}`, async () => {
      let trace = files[0]!;
      if (!trace.endsWith('.arrow')) {
        trace = join(dir, `${name}.arrow`);
        await ingest(files, { output: trace });
      }
      const out = (mode: string) => join(dir, `${name}-${mode}`);
      const same = await runReplay(trace, { policies: ['all', 'designs'], jobs: 1, outDir: out('same') });
      const own = await runReplay(trace, { policies: ['all', 'designs'], bareThread: true, outDir: out('own') });
      expect(own.reference.errors).toBe(expected.errors);
      if (expected.completions !== undefined) expect(own.reference.completions).toBe(expected.completions);
      expect(own.policies.length).toBe(same.policies.length);
      for (const t of TABLES) expect(readFileSync(join(out('own'), t)).equals(readFileSync(join(out('same'), t))), t).toBe(true);
      expect(own.guest_findings).toEqual(same.guest_findings);
    });
  }

  it("reports bare hardware's thread failing as one error, and does not hang", async () => {
    // The thread reads its own copy of the trace: a copy cut short fails there, while this
    // thread reads the whole trace.
    const whole = sample('generated/smmuv3-ats.arrow');
    const cut = join(dir, 'cut.arrow');
    copyFileSync(whole, cut);
    writeFileSync(cut, readFileSync(whole).subarray(0, 4096));
    const t = await openTrace(whole);
    const topology = await resolveTopology(t);
    const opts = {
      kit: kitFor(t.header.arch),
      topology,
      costs: await loadCosts(undefined),
      policies: await resolvePolicies(['per-command']),
      bareThread: true,
    };
    const failed = replayTrace({ ...t, path: cut }, opts);
    await expect(failed).rejects.toBeInstanceOf(InputFault);
    await expect(failed).rejects.toThrow(/cut\.arrow/);
    const e = (await failed.catch((x: unknown) => x)) as Error;
    expect(e.message.includes('\n')).toBe(false);
    // The same replay with the whole file succeeds.
    expect((await replayTrace(t, opts)).policies.length).toBe(1);
  });

  it("ends bare hardware's thread when a policy fails, with the policy's error", async () => {
    // A policy module that passes resolvePolicies' validation call and fails when the replay
    // makes its instance: the replay rejects with it (bare hardware's thread is stopped, not waited for).
    const planted = join(dir, 'planted.mjs');
    writeFileSync(
      planted,
      'let calls = 0;\nexport default function planted(variant, name) {\n  if (++calls > 1) throw new Error(`planted failure in ${name}`);\n  return {};\n}\n',
    );
    const r = runReplay(sample('generated/smmuv3-ats.arrow'), { policies: [planted], bareThread: true });
    await expect(r).rejects.toThrow(/planted failure/);
  });
});
