// `invtrace report`: a replay turned into something a person would rather look at than read. It
// prepares the replay of the input cli/inputs.ts resolved (inputs.ts), reads the analyzer views over its result tables (data.ts),
// draws the charts (chart-*.ts), lays out the content once (document.ts) and writes it as
// Markdown and as self-contained HTML, every file atomically:
//   OUT/report.md, OUT/report.html, OUT/charts/{policies,cost-breakdown,latency}.svg,
//   OUT/results/*.arrow + replay.json (unless the input was a replay folder), OUT/trace.arrow
//   (when captures were ingested).

import { mkdirSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { writeFileAtomic } from '../../formats/atomic.js';
import type { EngineKind } from '../sql-engine/engine.js';
import { openSession } from '../session.js';
import { costChart } from './chart-cost.js';
import { latencyChart } from './chart-latency.js';
import { policiesChart } from './chart-policies.js';
import { gatherReport, type ReportData } from './data.js';
import { reportDocument, type ChartFile } from './document.js';
import { renderHtml } from './html.js';
import { prepareReport, type ReportInputOptions, type ReportSource } from './inputs.js';
import { renderMarkdown } from './markdown.js';

export interface ReportOptions extends ReportInputOptions {
  readonly engine?: EngineKind;
}

export interface ReportResult {
  readonly dir: string;
  readonly markdown: string;
  readonly html: string;
  readonly charts: readonly string[];
  readonly results: string;
  readonly trace: string;
  readonly data: ReportData;
}

/** A path as a reader should type it: relative to the working folder when inside it. */
function shown(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}

export async function writeReport(src: ReportSource, outDir: string, opts: ReportOptions): Promise<ReportResult> {
  mkdirSync(join(outDir, 'charts'), { recursive: true });
  const input = await prepareReport(src, outDir, opts);
  opts.onStage?.('reading the analyzer views');
  // Result tables first: a trace file named like one of them must not take its table name.
  const session = await openSession([input.results, input.trace], opts.engine ? { engine: opts.engine } : {});
  let data: ReportData;
  try {
    data = await gatherReport(session, input.replay, input.source, input.name);
  } finally {
    await session.close();
  }
  const charts = {
    policies: { file: 'charts/policies.svg', alt: 'Modelled time and ioctls per policy', svg: policiesChart(data.compare) },
    cost: {
      file: 'charts/cost-breakdown.svg',
      alt: 'Modelled time per policy by kind of work',
      svg: costChart(data.policies, data.byKind),
    },
    latency: {
      file: 'charts/latency.svg',
      alt: 'Completion latency per policy',
      svg: latencyChart(data.policies, data.histogram, data.latency),
    },
  } satisfies Record<string, ChartFile>;
  for (const c of Object.values(charts)) writeFileAtomic(join(outDir, c.file), `<?xml version="1.0" encoding="UTF-8"?>\n${c.svg}\n`);
  const blocks = reportDocument(data, {
    charts,
    results: shown(input.results),
    trace: shown(input.trace),
    costs: input.costs,
    costValues: input.costValues,
  });
  const title = blocks[0]?.type === 'h1' ? blocks[0].text : 'invtrace report';
  const markdown = join(outDir, 'report.md');
  const html = join(outDir, 'report.html');
  writeFileAtomic(html, renderHtml(title, blocks, Object.values(charts)));
  writeFileAtomic(markdown, renderMarkdown(blocks));
  return {
    dir: outDir,
    markdown,
    html,
    charts: Object.values(charts).map((c) => join(outDir, c.file)),
    results: input.results,
    trace: input.trace,
    data,
  };
}
