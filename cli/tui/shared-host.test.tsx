// The TUI opens a shared-host replay folder (replay T1 T2 … --shared-host -o DIR) as its first
// VM's replay folder, and DIR/vm-K as VM K; a plain folder without either stays refused.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import { runSharedHost } from '../../replay/shared-host/run.js';
import { ROOT, tempDir } from '../../test/helpers.js';
import { Root, type TuiOptions } from './Root.js';
import { resolveTuiInput } from './source.js';
import { renderTui, SIZE } from './test-utils/render.js';

const dir = tempDir();
const noReplay: TuiOptions = { policies: ['all'], replay: false };

describe('TUI on a shared-host folder', () => {
  it('opens VM 0 (DIR/vm-0) with its trace; DIR/vm-1 opens VM 1', async () => {
    const traces: string[] = [];
    for (const n of ['a', 'b']) {
      const t = join(dir, `${n}.arrow`);
      await ingest([join(ROOT, `samples/scenarios/shared-host-wrap-split-${n}.jsonl`)], { output: t });
      traces.push(t);
    }
    const out = join(dir, 'shared');
    await runSharedHost(traces, { policies: ['linear-batch:split_on_wrap=true'], outDir: out });
    expect(await resolveTuiInput([out])).toEqual({ trace: traces[0], replayDir: join(out, 'vm-0') });
    expect(await resolveTuiInput([join(out, 'vm-1')])).toEqual({ trace: traces[1], replayDir: join(out, 'vm-1') });
    const r = await renderTui(<Root input={await resolveTuiInput([out])} options={noReplay} workDir={dir} size={SIZE} onQuit={() => {}} />);
    await r.waitFor((x) => /seq\s+slot w op/.test(x), 'the command list');
    await r.press('3');
    expect(r.frame()).toContain(`policies (from ${join(out, 'vm-0')})`);
    expect(r.frame()).toMatch(/linear-batch:split_on_wrap=true\s+correct/);
    await r.unmount();
  });

  it('a folder with neither shared-host.json nor replay.json is still refused', async () => {
    await expect(resolveTuiInput([join(ROOT, 'samples')])).rejects.toThrow(/samples is a folder without a replay.json/);
  });
});
