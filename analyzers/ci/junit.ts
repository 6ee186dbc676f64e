// A CI run as JUnit XML, the shape CI servers read (Ant's junit task and its XSD): <testsuites>
// with one <testsuite> per trace and one <testcase> per policy; a regression is a <failure> whose
// message names it; a policy the baseline lists but the suite did not run, or one left out of a
// trace (hw-direct over several physical IOMMUs, with why), is <skipped>; a new
// one passes with a note in <system-out>.

import { hostname } from 'node:os';
import type { Comparison, Outcome } from './compare.js';
import type { TraceRun } from './run.js';

const xml = (s: string | number) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
const secs = (s: number) => s.toFixed(3);

export interface JunitOptions {
  readonly suite: string;
  readonly timestamp: Date;
  readonly seconds: number;
}

export function junitXml(runs: readonly TraceRun[], cmp: Comparison, o: JunitOptions): string {
  const stamp = o.timestamp.toISOString().replace(/\.\d{3}Z$/, '');
  const host = hostname();
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let skipped = 0;
  for (const [id, run] of runs.entries()) {
    const outcomes = cmp.outcomes.filter((x) => x.trace === run.trace.name);
    const missing = cmp.missing.filter((m) => m.trace === run.trace.name && m.policy !== undefined);
    const leftOut = cmp.leftOut.filter((l) => l.trace === run.trace.name);
    const fails = outcomes.filter((x) => x.status === 'regression').length;
    const n = outcomes.length + missing.length + leftOut.length;
    tests += n;
    failures += fails;
    skipped += missing.length + leftOut.length;
    const each = run.seconds / Math.max(1, outcomes.length);
    const cls = `invtrace.ci.${run.trace.name}`;
    suites.push(
      [
        `  <testsuite name="${xml(run.trace.name)}" tests="${n}" failures="${fails}" errors="0" skipped="${missing.length + leftOut.length}" time="${secs(run.seconds)}" timestamp="${stamp}" hostname="${xml(host)}" id="${id}" package="invtrace.ci">`,
        '    <properties>',
        `      <property name="source" value="${xml(run.trace.label)}"/>`,
        `      <property name="arch" value="${xml(run.arch)}"/>`,
        `      <property name="events" value="${run.events}"/>`,
        `      <property name="doorbells" value="${run.doorbells}"/>`,
        '    </properties>',
        ...outcomes.map((x) => testcase(x, cls, each)),
        ...missing.map(
          (m) =>
            `    <testcase name="${xml(m.policy!)}" classname="${xml(cls)}" time="0"><skipped message="in the baseline, not run by the suite"/></testcase>`,
        ),
        ...leftOut.map(
          (l) =>
            `    <testcase name="${xml(l.policy)}" classname="${xml(cls)}" time="0"><skipped message="${xml(`left out: ${l.why}`)}"/></testcase>`,
        ),
        '    <system-out/>',
        '    <system-err/>',
        '  </testsuite>',
      ].join('\n'),
    );
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(`invtrace ci ${o.suite}`)}" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${secs(o.seconds)}" timestamp="${stamp}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

function testcase(x: Outcome, cls: string, time: number): string {
  const head = `    <testcase name="${xml(x.policy)}" classname="${xml(cls)}" time="${secs(time)}"`;
  const regressions = x.changes.filter((c) => c.verdict === 'regression');
  if (regressions.length > 0) {
    const message = `${x.trace} × ${x.policy}: ${regressions.map((c) => c.text).join('; ')}`;
    const details = [
      `${x.policy}${x.spec !== x.policy ? ` (ran ${x.spec})` : ''} on ${x.trace}:`,
      ...x.changes.map((c) => `  ${c.verdict}: ${c.text}`),
    ].join('\n');
    return `${head}>\n      <failure message="${xml(message)}" type="regression">${xml(details)}</failure>\n    </testcase>`;
  }
  const notes = [
    ...(x.status === 'new' ? ['new: no baseline entry (invtrace ci --update-baseline records it)'] : []),
    ...x.changes.map((c) => `improvement: ${c.text}`),
  ];
  return notes.length ? `${head}>\n      <system-out>${xml(notes.join('\n'))}</system-out>\n    </testcase>` : `${head}/>`;
}
