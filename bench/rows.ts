// A capture loaded for the emulator benches: ingested once into a temporary trace, its command and
// doorbell rows copied into flat typed arrays, so the timed loops measure the emulators alone.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingest } from '../formats/ingest/ingest.js';
import type { Topology } from '../formats/trace/header.js';
import { openTrace } from '../formats/trace/io.js';
import { viewBatch } from '../formats/trace/view.js';
import { resolveTopology } from '../replay/topology.js';

export const capturePath = (f: string) => fileURLToPath(new URL(`../../samples/captures/${f}`, import.meta.url));

export interface LoadedRows {
  readonly entries: number;
  readonly descBytes: 16 | 32;
  readonly topology: Topology;
  /** Row kinds: 0 command, 1 doorbell. */
  readonly kind: Uint8Array;
  readonly slot: Uint32Array;
  readonly wrap: Uint8Array;
  readonly w0: BigUint64Array;
  readonly w1: BigUint64Array;
  readonly commands: number;
}

export async function loadRows(inputs: readonly string[]): Promise<LoadedRows> {
  const dir = mkdtempSync(join(tmpdir(), 'invtrace-bench-'));
  try {
    const output = join(dir, 'trace.arrow');
    await ingest(inputs, { output });
    const t = await openTrace(output);
    const rows: { k: number; s: number; wr: number; w: bigint[] }[] = [];
    for await (const b of t.batches()) {
      const v = viewBatch(b);
      for (let i = 0; i < v.length; i++) {
        const k = v.kindOf(i);
        if (k === 'cmd') rows.push({ k: 0, s: v.slot.values[i]!, wr: 0, w: v.words(i, 2) });
        else if (k === 'doorbell') rows.push({ k: 1, s: v.slot.values[i]!, wr: v.wrap.values[i]!, w: [0n, 0n] });
      }
    }
    return {
      entries: t.header.queue_entries,
      descBytes: t.header.desc_bytes,
      topology: (await resolveTopology(t)).topology,
      kind: Uint8Array.from(rows, (r) => r.k),
      slot: Uint32Array.from(rows, (r) => r.s),
      wrap: Uint8Array.from(rows, (r) => r.wr),
      w0: BigUint64Array.from(rows, (r) => r.w[0]!),
      w1: BigUint64Array.from(rows, (r) => r.w[1]!),
      commands: rows.filter((r) => r.k === 0).length,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
