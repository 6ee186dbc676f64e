// `invtrace report` on a real capture (both sides of the smmuv3-lazy run, ingested on the fly) and
// on scenario (d), whose violations the report must show in context. The report's numbers are
// checked against an independent replay of the same trace (runReplay's summary and findings); the
// charts are parsed as XML and their bars counted and matched to the policies.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findings } from '../../replay/findings.js';
import type { ReplayOutput } from '../../replay/replayer.js';
import { runReplay } from '../../replay/run.js';
import { capture, cli, ROOT, tempDir } from '../../test/helpers.js';
import { allText, findAll, parseXml, type XmlElement } from '../../test/xml.js';
import { INPUTS, resolveInputs, sourceOf } from '../../cli/inputs.js';
import { writeReport as writeReportOf, type ReportOptions, type ReportResult } from './report.js';

/** The report of paths as `invtrace report` resolves them (captures ingested into OUT/trace.arrow). */
async function writeReport(paths: readonly string[], out: string, opts: ReportOptions): Promise<ReportResult> {
  return writeReportOf(
    sourceOf(await resolveInputs(INPUTS.report, paths, { ingestTo: join(out, 'trace.arrow'), summary: false })),
    out,
    opts,
  );
}

const dir = tempDir();
const CAPTURE = [capture('qemu-smmuv3-lazy.log.gz'), capture('guest-smmuv3-lazy.txt.gz')];

const svg = (file: string): XmlElement => parseXml(readFileSync(file, 'utf8'));
const byClass = (root: XmlElement, name: string, cls: string) => findAll(root, name).filter((e) => e.attrs.class === cls);

describe('a report of a real capture', () => {
  let r: ReportResult;
  let ref: ReplayOutput;
  let md: string;
  beforeAll(async () => {
    r = await writeReport(CAPTURE, join(dir, 'capture'), { policies: ['all'] });
    // The same run replayed on its own: what the report must agree with.
    ref = await runReplay(r.trace, { policies: ['all'] });
    md = readFileSync(r.markdown, 'utf8');
  }, 120_000);

  it('writes the Markdown, the HTML, three charts, the trace and the result tables', () => {
    expect(r.charts.map((c) => c.slice(r.dir.length + 1))).toEqual([
      'charts/policies.svg',
      'charts/cost-breakdown.svg',
      'charts/latency.svg',
    ]);
    expect(r.trace).toBe(join(dir, 'capture', 'trace.arrow'));
    expect(r.results).toBe(join(dir, 'capture', 'results'));
    for (const t of ['host_ops', 'completions', 'violations', 'summary'])
      expect(readFileSync(join(r.results, `${t}.arrow`)).length).toBeGreaterThan(0);
  });

  it('Markdown: the title, the key findings, the comparison with a row per policy, the sections', () => {
    expect(md.startsWith('# invtrace report: smmuv3-lazy\n')).toBe(true);
    expect(md).toContain(
      `SMMUv3 trace of ${ref.events.toLocaleString('en-US')} events and ${ref.doorbells.toLocaleString('en-US')} doorbells`,
    );
    for (const f of findings(ref)) expect(md).toContain(`- ${f}\n`);
    for (const h of [
      '## Key findings',
      '## Policies side by side',
      '## Where the time goes',
      '## Completion latency',
      '## Violations',
      '## How this report was made',
    ])
      expect(md).toContain(`\n${h}\n`);
    expect(md).toContain(
      '| policy | verdict | rank | traps | ioctls | host cmds | host syncs | dev invs | modelled µs | vs best | p50 µs | p99 µs |',
    );
    const rows = md.split('\n').filter((l) => /^\| \S+ \| (correct|✗)/.test(l));
    expect(rows.map((l) => l.split(' | ')[0]!.slice(2))).toEqual(ref.policies.map((p) => p.policy));
    for (const p of ref.policies) {
      const row = rows.find((l) => l.startsWith(`| ${p.policy} |`))!.split(' | ');
      expect(row[4]).toBe(p.ioctls.toLocaleString('en-US'));
      expect(row[1]).toBe(p.correct ? 'correct' : `✗ ${p.violations} violation${p.violations === 1 ? '' : 's'}`);
    }
    expect(md).toContain('![Modelled time and ioctls per policy](charts/policies.svg)');
    expect(md).toContain('![Completion latency per policy](charts/latency.svg)');
  });

  it("policies.svg: two bars per policy, in order, of the replay's modelled time and ioctls, labelled", () => {
    const root = svg(r.charts[0]!);
    expect(root.name).toBe('svg');
    expect(root.attrs).toMatchObject({ xmlns: 'http://www.w3.org/2000/svg', viewBox: expect.stringMatching(/^0 0 \d+ \d+$/) });
    const bars = byClass(root, 'rect', 'bar');
    expect(bars.length).toBe(2 * ref.policies.length);
    for (const metric of ['modeled_us', 'ioctls'] as const) {
      const mine = bars.filter((b) => b.attrs['data-metric'] === metric);
      expect(mine.map((b) => b.attrs['data-policy'])).toEqual(ref.policies.map((p) => p.policy));
      expect(mine.map((b) => Number(b.attrs['data-value']))).toEqual(ref.policies.map((p) => p[metric]));
      // bar lengths keep the values' order
      const widths = mine.map((b) => Number(b.attrs.width));
      const values = ref.policies.map((p) => p[metric]);
      for (let i = 0; i < values.length; i++)
        for (let j = 0; j < values.length; j++) if (values[i]! > values[j]!) expect(widths[i]).toBeGreaterThanOrEqual(widths[j]!);
    }
    const labels = byClass(root, 'text', 'policy-label').map((t) => allText(t));
    expect(labels).toEqual(ref.policies.map((p) => (p.correct ? p.policy : `✗ ${p.policy}`)));
    expect(byClass(root, 'text', 'axis-title').map(allText)).toEqual(['modelled time (µs)', 'ioctls']);
  });

  it("cost-breakdown.svg: each policy's segments add up to its modelled time", () => {
    const root = svg(r.charts[1]!);
    const segs = byClass(root, 'rect', 'segment');
    for (const p of ref.policies) {
      const sum = segs.filter((s) => s.attrs['data-policy'] === p.policy).reduce((a, s) => a + Number(s.attrs['data-value']), 0);
      expect(sum, p.policy).toBeCloseTo(p.modeled_us, 1);
    }
    // every kind drawn has its legend entry
    const kinds = new Set(segs.map((s) => s.attrs['data-kind']));
    expect(new Set(byClass(root, 'rect', 'legend').map((l) => l.attrs['data-kind']))).toEqual(kinds);
    expect(kinds.has('trap')).toBe(true);
  });

  it("latency.svg: each policy's buckets hold all its completed points; median and p99 marked", () => {
    const root = svg(r.charts[2]!);
    const buckets = byClass(root, 'rect', 'bucket');
    for (const p of ref.policies) {
      const mine = buckets.filter((b) => b.attrs['data-policy'] === p.policy);
      expect(
        mine.reduce((a, b) => a + Number(b.attrs['data-count']), 0),
        p.policy,
      ).toBe(p.completions);
      for (const b of mine) expect(Number(b.attrs['data-upper'])).toBeGreaterThan(Number(b.attrs['data-lower']));
    }
    expect(findAll(root, 'path').filter((e) => e.attrs.class === 'p50').length).toBe(ref.policies.length);
    expect(findAll(root, 'line').filter((e) => e.attrs.class === 'p99').length).toBe(ref.policies.length);
  });

  it('HTML: self-contained, the charts inline, the same tables', () => {
    const html = readFileSync(r.html, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.match(/<svg /g)?.length).toBe(3);
    expect(html).not.toMatch(/<script|<link|<img|src=|url\(/);
    expect(html.match(/https?:\/\/[^"]+/g)).toEqual([
      'http://www.w3.org/2000/svg',
      'http://www.w3.org/2000/svg',
      'http://www.w3.org/2000/svg',
    ]);
    expect(html).toContain('<th>policy</th><th>verdict</th>');
    // each inline chart is well-formed XML too
    for (const m of html.matchAll(/<svg [\s\S]*?<\/svg>/g)) expect(parseXml(m[0]).name).toBe('svg');
  });

  it('reports again from the replay output folder alone, finding the trace through replay.json', async () => {
    const again = await writeReport([r.results], join(dir, 'again'), { policies: ['all'] });
    expect(again.trace).toBe(r.trace);
    // Everything after the title and the source line is the same report.
    expect(readFileSync(again.markdown, 'utf8').split('\n').slice(3)).toEqual(md.split('\n').slice(3));
  });
});

describe('a report with violations: scenario (d)', () => {
  it("groups each policy's findings and shows the first of each among the commands around it", async () => {
    const r = await writeReport([join(ROOT, 'samples/scenarios/d-smmuv3-illegal-then-vmm-command.jsonl')], join(dir, 'd'), {
      policies: ['all'],
    });
    const md = readFileSync(r.markdown, 'utf8');
    // raw-ring (VMM prepass): CFGI_STE at slot 3 executed past the error at slot 1, and the TLBI
    // at slot 0 left in the block the host never sent; raw-ring in order: only the latter.
    expect(md).toContain('### raw-ring: 2 findings');
    expect(md).toContain('### raw-ring:vmm=inorder: 1 finding');
    expect(md).toMatch(/\| executed-past-error \| CMD_CFGI_STE \| 1 \| 1 \| 3 \| CMD_CFGI_STE at slot 3 took effect/);
    expect(md).toContain('→      3     3         5  CMD_CFGI_STE   ← executed-past-error');
    expect(md).toContain('       1     1         5  UNKNOWN_0x07');
    const policies = parseXml(readFileSync(r.charts[0]!, 'utf8'));
    const bad = byClass(policies, 'rect', 'bar')
      .filter((b) => b.attrs.fill === '#D55E00')
      .map((b) => b.attrs['data-policy']);
    expect([...new Set(bad)]).toEqual(['raw-ring', 'raw-ring:vmm=inorder']);
  });
});

describe('invtrace report (CLI)', () => {
  it('on a real capture: prints the findings and where it wrote the files', () => {
    const out = join(dir, 'cli');
    const res = cli('report', ...CAPTURE, '-o', out, '--policy', 'per-command,linear-batch:split_on_wrap=true,hw-direct');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(': 3 policies, all correct');
    expect(res.stdout).toContain(`wrote ${join(out, 'report.md')}, ${join(out, 'report.html')}, 3 charts`);
    const bars = byClass(parseXml(readFileSync(join(out, 'charts/policies.svg'), 'utf8')), 'rect', 'bar');
    expect([...new Set(bars.map((b) => b.attrs['data-policy']))]).toEqual(['per-command', 'linear-batch:split_on_wrap=true', 'hw-direct']);
  });

  it('bad input: exit 2 naming it', () => {
    const res = cli('report', join(dir, 'nope.arrow'), '-o', join(dir, 'x'));
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(`invtrace: ${join(dir, 'nope.arrow')}: no such file or folder\n`);
  });
});
