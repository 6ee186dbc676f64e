// The shape of a JUnit XML report as CI servers read it (Ant's junit task XSD, which Jenkins,
// GitLab and GitHub reporters follow): checked element by element, with the counts adding up.
// Shared by the CI tests; written here rather than pulled in as a dependency.

import { expect } from 'vitest';
import { findAll, parseXml, type XmlElement } from './xml.js';

const DECIMAL = /^\d+(\.\d+)?$/;
const INT = /^\d+$/;
/** xs:dateTime without a zone, as the Ant XSD's ISO8601_DATETIME_PATTERN wants. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

function attrs(e: XmlElement, required: Record<string, RegExp>): void {
  for (const [k, re] of Object.entries(required)) {
    expect(e.attrs[k], `<${e.name}> ${k}`).toBeDefined();
    expect(e.attrs[k], `<${e.name}> ${k}`).toMatch(re);
  }
}

/** Parses `xml` and checks its JUnit shape; returns the root for further checks. */
export function expectJunitShape(xml: string): XmlElement {
  expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
  const root = parseXml(xml);
  expect(root.name).toBe('testsuites');
  attrs(root, { name: /./, tests: INT, failures: INT, errors: INT, time: DECIMAL });
  let tests = 0;
  let failures = 0;
  for (const s of root.children) {
    expect(s.name).toBe('testsuite');
    attrs(s, {
      name: /./,
      tests: INT,
      failures: INT,
      errors: INT,
      skipped: INT,
      time: DECIMAL,
      timestamp: TIMESTAMP,
      hostname: /./,
      id: INT,
      package: /./,
    });
    // The XSD's order: properties, testcase*, system-out, system-err.
    const names = s.children.map((c) => c.name);
    expect(names[0]).toBe('properties');
    expect(names.slice(-2)).toEqual(['system-out', 'system-err']);
    expect(new Set(names.slice(1, -2))).toEqual(new Set(names.length > 3 ? ['testcase'] : []));
    for (const p of s.children[0]!.children) {
      expect(p.name).toBe('property');
      attrs(p, { name: /./, value: /^/ });
    }
    const cases = s.children.filter((c) => c.name === 'testcase');
    let f = 0;
    let skipped = 0;
    for (const c of cases) {
      attrs(c, { name: /./, classname: /./, time: DECIMAL });
      const outcome = c.children.filter((x) => ['failure', 'error', 'skipped'].includes(x.name));
      expect(outcome.length, `testcase ${c.attrs.name}`).toBeLessThanOrEqual(1);
      for (const x of c.children) expect(['failure', 'error', 'skipped', 'system-out', 'system-err']).toContain(x.name);
      if (outcome[0]?.name === 'failure') {
        attrs(outcome[0], { message: /./, type: /./ });
        f++;
      }
      if (outcome[0]?.name === 'skipped') skipped++;
    }
    expect(Number(s.attrs.tests)).toBe(cases.length);
    expect(Number(s.attrs.failures)).toBe(f);
    expect(Number(s.attrs.skipped)).toBe(skipped);
    tests += cases.length;
    failures += f;
  }
  expect(Number(root.attrs.tests)).toBe(tests);
  expect(Number(root.attrs.failures)).toBe(failures);
  return root;
}

/** The <failure> messages, keyed `suite/testcase`. */
export function junitFailures(root: XmlElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of findAll(root, 'testsuite')) {
    for (const c of findAll(s, 'testcase')) {
      const f = c.children.find((x) => x.name === 'failure');
      if (f) out[`${s.attrs.name}/${c.attrs.name}`] = f.attrs.message!;
    }
  }
  return out;
}
