// The README's gen section is the option and workload tables, as `gen --list --markdown` prints them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../test/helpers.js';
import { listMarkdown, listText } from './docs.js';
import { OPTIONS } from './options.js';
import { WORKLOADS } from './workloads.js';

describe('generator docs', () => {
  it('README holds the current tables (regenerate: invtrace gen --list --markdown)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const m = /<!-- gen --list --markdown: begin -->\n([\s\S]*?)\n<!-- gen --list --markdown: end -->/.exec(readme);
    expect(m?.[1]).toBe(listMarkdown());
  });
  it('--list names every workload and every option with its default', () => {
    const text = listText();
    for (const w of WORKLOADS) expect(text).toContain(`  ${w.name}  [${w.arch}]`);
    for (const o of OPTIONS) expect(text).toContain(o.flag);
    expect(text).toMatch(/--queue <entries>.*\n\s+default: 65536 \(smmuv3\), 256 \(vtd\)/);
  });
});
