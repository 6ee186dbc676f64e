// `invtrace tui` from the command line: --keys, no terminal, bad input. (That no static import of
// the CLI reaches Ink or React is checked with DuckDB's in cli/commands/sql.test.ts "start-up".)

import { describe, expect, it } from 'vitest';
import { cli } from '../../test/helpers.js';
import { keysMarkdown } from './keys.js';

describe('invtrace tui on the command line', () => {
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
