// `npm run test:browser` (not part of npm test): the HTML report rendered by a real browser.
// It writes the report of the vtd-legacy-strict capture pair (as `invtrace report` does), opens
// report.html in headless Chromium (Debian's `chromium` package; $CHROMIUM names another binary)
// through the DevTools protocol, and checks that the page logs no console error or exception,
// that every chart is an SVG drawn with a nonzero size and marks in it (the report has three:
// policies, cost breakdown, latency), and that its tables are there with rows (the comparison: one
// per policy). It saves a full-page screenshot to dist/browser-report/report.png. Exit 0 when every
// check passes, 1 when one fails, 2 when no browser is installed. `node dist/test/browser/
// report-browser.js PAGE.html` checks a given page instead (a broken copy shows each check fire).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeReport } from '../../analyzers/report/report.js';
import { INPUTS, resolveInputs, sourceOf } from '../../cli/inputs.js';
import { packageRoot } from '../../formats/paths.js';
import { ALL_POLICIES } from '../../replay/policies/index.js';
import { Cdp, type CdpEvent } from './cdp.js';

function findBrowser(): string | undefined {
  for (const b of [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter((x): x is string => !!x)) {
    if (spawnSync(b, ['--version'], { encoding: 'utf8' }).status === 0) return b;
  }
  return undefined;
}

interface PageFacts {
  readonly charts: { readonly width: number; readonly height: number; readonly marks: number; readonly label: string }[];
  readonly tables: { readonly rows: number; readonly head: string }[];
  readonly title: string;
}

/** Runs in the page: what a reader sees. */
const MEASURE = `(() => {
  const charts = [...document.querySelectorAll('figure svg')].map((s) => {
    const r = s.getBoundingClientRect();
    return { width: r.width, height: r.height, marks: s.querySelectorAll('rect, path, line, circle, polyline').length, label: s.getAttribute('aria-label') || s.querySelector('title')?.textContent || '' };
  });
  const tables = [...document.querySelectorAll('table')].map((t) => ({ rows: t.querySelectorAll('tbody tr').length, head: [...t.querySelectorAll('th')].map((h) => h.textContent).join(' | ') }));
  return JSON.stringify({ charts, tables, title: document.title });
})()`;

async function main(): Promise<number> {
  const browser = findBrowser();
  if (browser === undefined) {
    process.stderr.write('test:browser: no Chromium found (apt-get install chromium, or set CHROMIUM=/path/to/chrome)\n');
    return 2;
  }
  const root = packageRoot();
  let out = join(root, 'dist/browser-report');
  let rep: { html: string };
  const given = process.argv[2];
  if (given !== undefined) {
    // A report.html given on the command line is checked as it is (how the checks were shown to fail).
    rep = { html: given };
    out = mkdtempSync(join(tmpdir(), 'invtrace-browser-'));
  } else {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const pair = ['qemu-vtd-legacy-strict.log.gz', 'guest-vtd-legacy-strict.txt.gz'].map((f) => join(root, 'samples/captures', f));
    const input = await resolveInputs(INPUTS.report, pair, { ingestTo: join(out, 'trace.arrow'), summary: false });
    rep = await writeReport(sourceOf(input), out, { policies: ['all'] });
  }
  process.stdout.write(`report: ${rep.html}\n`);

  const profile = mkdtempSync(join(tmpdir(), 'invtrace-chromium-'));
  const cdp = new Cdp(browser, [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--hide-scrollbars',
    `--user-data-dir=${profile}`,
    'about:blank',
  ]);
  const problems: string[] = [];
  const errors: string[] = [];
  try {
    const { targetId } = (await cdp.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    cdp.on((e: CdpEvent) => {
      if (e.sessionId !== sessionId) return;
      if (e.method === 'Runtime.consoleAPICalled' && ['error', 'assert'].includes(String(e.params.type)))
        errors.push(`console.${String(e.params.type)}: ${JSON.stringify(e.params.args)}`);
      if (e.method === 'Runtime.exceptionThrown')
        errors.push(`exception: ${JSON.stringify((e.params.exceptionDetails as { text?: string } | undefined)?.text)}`);
      if (e.method === 'Log.entryAdded') {
        const entry = e.params.entry as { level: string; text: string; url?: string };
        if (entry.level === 'error') errors.push(`log: ${entry.text}${entry.url ? ` (${entry.url})` : ''}`);
      }
    });
    for (const d of ['Page.enable', 'Runtime.enable', 'Log.enable']) await cdp.send(d, {}, sessionId);
    await cdp.send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false }, sessionId);
    const loaded = cdp.wait('Page.loadEventFired', sessionId);
    await cdp.send('Page.navigate', { url: pathToFileURL(resolve(rep.html)).href }, sessionId);
    await loaded;
    const r = (await cdp.send('Runtime.evaluate', { expression: MEASURE, returnByValue: true }, sessionId)) as {
      result: { value: string };
    };
    const facts = JSON.parse(r.result.value) as PageFacts;

    // Three charts, each laid out with a size and marks drawn in it.
    if (facts.charts.length !== 3) problems.push(`expected 3 charts, found ${facts.charts.length}`);
    for (const [i, c] of facts.charts.entries()) {
      process.stdout.write(
        `chart ${i + 1}: ${c.width.toFixed(0)} x ${c.height.toFixed(0)} px, ${c.marks} marks${c.label ? ` (${c.label})` : ''}\n`,
      );
      if (!(c.width > 0 && c.height > 0)) problems.push(`chart ${i + 1} has no size (${c.width} x ${c.height})`);
      if (c.marks === 0) problems.push(`chart ${i + 1} draws nothing`);
    }
    // Tables with rows; the comparison has one row per policy of "all".
    process.stdout.write(`tables: ${facts.tables.length} (${facts.tables.map((t) => t.rows).join(', ')} rows)\n`);
    if (facts.tables.length === 0) problems.push('no table');
    for (const [i, t] of facts.tables.entries()) if (t.rows === 0) problems.push(`table ${i + 1} (${t.head}) has no rows`);
    if (!facts.tables.some((t) => t.rows === ALL_POLICIES.length && /policy/.test(t.head)))
      problems.push(`no comparison table with ${ALL_POLICIES.length} policy rows`);

    const { contentSize } = (await cdp.send('Page.getLayoutMetrics', {}, sessionId)) as { contentSize: { width: number; height: number } };
    const shot = (await cdp.send(
      'Page.captureScreenshot',
      {
        format: 'png',
        captureBeyondViewport: true,
        clip: { x: 0, y: 0, width: 1280, height: Math.min(contentSize.height, 16000), scale: 1 },
      },
      sessionId,
    )) as { data: string };
    const png = join(out, 'report.png');
    writeFileSync(png, Buffer.from(shot.data, 'base64'));
    process.stdout.write(`screenshot: ${png} (1280 x ${Math.round(Math.min(contentSize.height, 16000))} px)\n`);
  } finally {
    await cdp.close();
    rmSync(profile, { recursive: true, force: true });
  }
  problems.push(...errors.map((e) => `console error: ${e}`));
  for (const p of problems) process.stdout.write(`FAIL: ${p}\n`);
  process.stdout.write(
    problems.length === 0
      ? 'test:browser: ok (no console errors, every chart drawn, tables present)\n'
      : `test:browser: ${problems.length} problem(s)\n`,
  );
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`test:browser: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(3);
  },
);
