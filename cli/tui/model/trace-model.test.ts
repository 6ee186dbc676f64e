// The TUI's in-memory trace against the Arrow file it came from: every row's kind, slot, op,
// words and key fields; doorbell and wrap counts against `invtrace info`.

import { beforeAll, describe, expect, it } from 'vitest';
import { openTrace } from '../../../formats/trace/io.js';
import { traceInfo } from '../../../formats/trace/info.js';
import { tempDir } from '../../../test/helpers.js';
import { captureTrace, traceRows, type Run } from '../test-utils/fixtures.js';
import { KEY_FIELDS, kindName, loadTraceModel, NONE, NO_CODE, opName, type TraceModel } from './trace-model.js';

const dir = tempDir();
const RUNS: Run[] = ['smmuv3-strict', 'vtd-scalable-strict'];
const loaded = new Map<Run, { path: string; model: TraceModel; rows: Record<string, unknown>[] }>();

beforeAll(async () => {
  for (const run of RUNS) {
    const path = await captureTrace(dir, run);
    loaded.set(run, { path, model: await loadTraceModel(path), rows: await traceRows(path) });
  }
});

describe('loadTraceModel', () => {
  it.each(RUNS)('%s: every row as the Arrow file has it', (run) => {
    const { model: m, rows } = loaded.get(run)!;
    expect(m.rows).toBe(rows.length);
    const keys = KEY_FIELDS[m.arch].fields;
    rows.forEach((r, i) => {
      expect(kindName(m, i)).toBe(r.kind);
      expect(m.slot[i] === NONE ? null : m.slot[i]).toBe(r.slot);
      expect(m.wrap[i] === NO_CODE ? null : m.wrap[i]).toBe(r.wrap);
      expect(opName(m, i) ?? null).toBe(r.op);
      m.words.forEach((w, k) => expect(w[i]).toBe((r[`w${k}`] as bigint | null) ?? 0n));
      for (const k of keys) expect(m.keys[k]![i] === NONE ? null : m.keys[k]![i]).toBe(r[k] === null ? null : Number(r[k]));
    });
  });

  it.each(RUNS)('%s: doorbells, commands and ring wraps as info counts them', async (run) => {
    const { path, model: m } = loaded.get(run)!;
    const info = await traceInfo(await openTrace(path));
    expect(m.counts).toEqual({ commands: info.commands, doorbells: info.doorbells, wraps: info.wraps });
    expect(m.wordsPerSlot).toBe(info.desc_bytes === 32 ? 4 : 2);
  });

  it('reports progress batch by batch up to the whole file', async () => {
    const seen: [number, number][] = [];
    const m = await loadTraceModel(loaded.get('smmuv3-strict')!.path, (rows, f) => seen.push([rows, f]));
    expect(seen.at(-1)).toEqual([m.rows, 1]);
    expect(seen.every(([r], i) => i === 0 || r > seen[i - 1]![0])).toBe(true);
  });

  it('names the file when it is not a trace', async () => {
    await expect(loadTraceModel('samples/captures/README.md')).rejects.toThrow(/README.md: not an Arrow IPC file/);
  });
});
