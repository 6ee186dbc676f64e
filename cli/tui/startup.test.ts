// The TUI costs the rest of the CLI nothing: no static import from the CLI's entry point reaches
// Ink or React (they load when `tui` runs), and `tui` without a terminal says so (exit 2).

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, ROOT } from '../../test/helpers.js';
import { keysMarkdown } from './keys.js';

/** Bare module names reachable from a compiled file through static imports. */
function staticImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'"]*?from\s+)?['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else bare.add(spec);
    }
  };
  visit(entry);
  return bare;
}

describe('tui start-up', () => {
  it('nothing the CLI imports statically pulls in ink or react', () => {
    const bare = [...staticImports(join(ROOT, 'dist/cli/main.js'))];
    expect(bare.filter((b) => /^(ink|react)(\/|$)|^react-|yoga/.test(b))).toEqual([]);
    // ... while the TUI's own entry does (the check would catch them).
    expect([...staticImports(join(ROOT, 'dist/cli/tui/main.js'))]).toEqual(expect.arrayContaining(['ink', 'react/jsx-runtime']));
  });

  it('tui --keys prints the key table', () => {
    const r = cli('tui', '--keys');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(keysMarkdown());
  });

  it('tui without a terminal exits 2 with one line', () => {
    const r = cli('tui', 'samples/generated/smmuv3-ill.arrow');
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('invtrace: tui needs a terminal (stdin and stdout must be a TTY); use info, compare or sql in scripts');
  });

  it('tui with a bad input exits 2 naming it', () => {
    const r = cli('tui', '/nonexistent/t.arrow');
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('invtrace: /nonexistent/t.arrow: no such file or folder');
  });
});
