// The many-VMs report of a shared-host folder: the "Many IOMMUs / many VMs" section, and its
// chart's bars carry each VM's latency alone and shared — for the planted wrap-split pair, the
// numbers derived in samples/scenarios/shared-host-wrap-split-a.jsonl (A 6.22 → 6.98 µs, B 4.34 →
// 5.88 µs; one completion point each, so p50 = p99).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import { runSharedHost } from '../../replay/shared-host/run.js';
import { ROOT, tempDir } from '../../test/helpers.js';
import { isSharedHostFolder } from '../../formats/input-kind.js';
import { writeSharedHostReport } from './shared-host.js';

const dir = tempDir();

describe('shared-host report', () => {
  it('writes the section, the host totals and a chart of latency alone versus shared per VM', async () => {
    const traces: string[] = [];
    for (const n of ['a', 'b']) {
      const t = join(dir, `${n}.arrow`);
      await ingest([join(ROOT, `samples/scenarios/shared-host-wrap-split-${n}.jsonl`)], { output: t });
      traces.push(t);
    }
    const folder = join(dir, 'shared');
    await runSharedHost(traces, { policies: ['linear-batch:split_on_wrap=true'], outDir: folder });
    expect(isSharedHostFolder(folder)).toBe(true);
    expect(isSharedHostFolder(join(folder, 'vm-0'))).toBe(false);
    const r = writeSharedHostReport(folder, join(dir, 'report'));
    const html = readFileSync(r.html, 'utf8');
    expect(html).toContain('<h2>Many IOMMUs / many VMs</h2>');
    expect(html).toContain('Host totals');
    const svg = readFileSync(r.charts[0]!, 'utf8');
    const bar = (vm: number, what: string) => new RegExp(`data-vm="${vm}" data-what="${what}" data-p99="([\\d.]+)"`).exec(svg)?.[1];
    expect([bar(0, 'alone'), bar(0, 'shared'), bar(1, 'alone'), bar(1, 'shared')]).toEqual(['6.22', '6.98', '4.34', '5.88']);
    const md = readFileSync(r.markdown, 'utf8');
    // A's p99 rises by 0.76 / 6.22 = 12 %, B's by 1.54 / 4.34 = 35 %.
    expect(md).toMatch(/\| `linear-batch:split_on_wrap=true` \| +0 \| correct .*\| +\+12% \|/);
    expect(md).toMatch(/\| `linear-batch:split_on_wrap=true` \| +1 \| correct .*\| +\+35% \|/);
  });
});
