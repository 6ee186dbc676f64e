// The command list alone: rows in, lines out, on a real capture.

import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { CommandList } from './CommandList.js';
import { loadTraceModel, type TraceModel } from './model/trace-model.js';
import { moveCursor, CURSOR0 } from './state.js';
import { captureTrace, traceRows } from './test-utils/fixtures.js';
import { renderTui } from './test-utils/render.js';

const dir = tempDir();
let model: TraceModel;
let rows: Record<string, unknown>[];

beforeAll(async () => {
  const path = await captureTrace(dir, 'smmuv3-strict');
  model = await loadTraceModel(path);
  rows = await traceRows(path);
});

describe('CommandList', () => {
  it.each([0, 4, 40, 17_000])('keeps row %i on screen, as the trace has it', async (selected) => {
    const height = 5;
    const cursor = moveCursor(CURSOR0, selected, model.rows, height);
    const r = await renderTui(<CommandList model={model} rows={undefined} cursor={cursor} height={height} width={80} />);
    const lines = r.lines();
    expect(lines).toHaveLength(height + 1);
    expect(lines[0]).toMatch(/seq\s+slot w op\s+sid\s+asid\s+vmid scope/);
    const line = lines[1 + selected - cursor.top]!;
    const row = rows[selected]!;
    expect(line).toMatch(new RegExp(`^..\\s*${selected}\\s+${row.slot ?? ''}\\s`));
    expect(line).toContain(row.kind === 'cmd' ? String(row.op) : String(row.kind));
    expect(lines.every((l) => l.length <= 80)).toBe(true);
    await r.unmount();
  });

  it('draws only the visible rows of a filter, doorbells with their PROD', async () => {
    const doorbells = Uint32Array.from(rows.flatMap((r, i) => (r.kind === 'doorbell' ? [i] : [])));
    const r = await renderTui(<CommandList model={model} rows={doorbells} cursor={CURSOR0} height={3} width={80} />);
    const lines = r.lines().slice(1);
    lines.forEach((l, i) => {
      const row = rows[doorbells[i]!]!;
      expect(l).toMatch(
        new RegExp(
          `^▶.\\s*${doorbells[i]}\\s+${row.slot}\\s+${row.wrap}\\s+doorbell\\s+PROD 0x${(row.slot as number).toString(16)} w${row.wrap}`,
        ),
      );
    });
    await r.unmount();
  });
});
