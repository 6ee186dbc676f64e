// From the command line's inputs to the screen: a capture is ingested on the fly (worker thread)
// with progress; a replay folder brings its results and its trace.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTrace } from '../../formats/trace/io.js';
import { traceInfo } from '../../formats/trace/info.js';
import { runReplay } from '../../replay/run.js';
import { tempDir } from '../../test/helpers.js';
import { Root, type TuiOptions } from './Root.js';
import { resolveTuiInput } from './source.js';
import { captureFiles, captureTrace } from './test-utils/fixtures.js';
import { renderTui, SIZE } from './test-utils/render.js';

const dir = tempDir();
const noReplay: TuiOptions = { policies: ['all'], replay: false };

describe('Root', () => {
  it('ingests a capture with a progress screen, then lists its commands', async () => {
    const input = await resolveTuiInput(captureFiles('smmuv3-strict'));
    expect(input.captures).toHaveLength(2);
    const work = join(dir, 'work-ingest');
    mkdirSync(work);
    let quit: Error | undefined;
    const r = await renderTui(<Root input={input} options={noReplay} workDir={work} size={SIZE} onQuit={(e) => (quit = e)} />);
    expect(r.frame()).toMatch(/ingesting qemu-smmuv3-strict\.log\.gz \+ guest-smmuv3-strict\.txt\.gz/);
    const f = await r.waitFor((x) => /seq\s+slot w op/.test(x), 'the command list');
    const info = await traceInfo(await openTrace(join(work, 'trace.arrow')));
    expect(f).toContain(`trace.arrow smmuv3 ${info.events.toLocaleString('en-US')} rows`);
    expect(quit).toBeUndefined();
    await r.unmount();
  });

  it('opens a replay folder with the trace its replay.json names', async () => {
    const trace = await captureTrace(dir, 'smmuv3-lazy');
    const out = join(dir, 'lazy-replay');
    await runReplay(trace, { policies: ['per-command', 'raw-ring'], outDir: out });
    const input = await resolveTuiInput([out]);
    expect(input).toEqual({ trace, replayDir: out });
    const r = await renderTui(<Root input={input} options={noReplay} workDir={dir} size={SIZE} onQuit={() => {}} />);
    await r.waitFor((x) => /seq\s+slot w op/.test(x), 'the command list');
    await r.press('3');
    expect(r.frame()).toContain(`policies (from ${out})`);
    expect(r.frame()).toMatch(/^ raw-ring\s+correct/m);
    await r.unmount();
  });

  it.each([
    [['/nonexistent/x.arrow'], /x.arrow: no such file or folder/],
    [[join(process.cwd(), 'samples')], /samples is a folder without a replay.json/],
  ])('refuses %j before the screen changes', async (paths, re) => {
    await expect(resolveTuiInput(paths)).rejects.toThrow(re);
  });
});
