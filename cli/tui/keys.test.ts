// The key table: no key means two things in one place, every action has a key, and the README's
// TUI section is the table (`invtrace tui --keys` regenerates it).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../test/helpers.js';
import { KEYS, keysMarkdown, NO_KEY, resolveKey, SCOPES } from './keys.js';

describe('key table', () => {
  it('binds each key once per scope', () => {
    for (const scope of SCOPES) {
      const keys = KEYS.filter((b) => b.scope === scope).flatMap((b) => b.keys);
      expect(keys.length, scope).toBe(new Set(keys).size);
    }
  });

  it('resolves a key by scope priority (the view, then the global keys, then the lists)', () => {
    const none = NO_KEY;
    expect(resolveKey('j', none, ['commands', 'global', 'lists'])).toBe('down');
    expect(resolveKey('', { ...none, return: true }, ['queue', 'global', 'lists'])).toBe('open');
    expect(resolveKey('', { ...none, return: true }, ['commands', 'global', 'lists'])).toBe('zoom');
    expect(resolveKey('', { ...none, escape: true }, ['sql', 'global', 'lists'])).toBe('sql-cancel');
    expect(resolveKey('', { ...none, escape: true }, ['policies', 'global', 'lists'])).toBe('back');
    expect(resolveKey('q', none, ['prompt'])).toBeUndefined(); // typed, not quit
    expect(resolveKey('f', { ...none, ctrl: true }, ['commands', 'global', 'lists'])).toBe('page-down');
  });

  it("is the README's TUI key section", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const m = /<!-- tui --keys: begin -->\n([\s\S]*?)\n<!-- tui --keys: end -->/.exec(readme);
    expect(m, 'README has the tui --keys markers').not.toBeNull();
    expect(m![1]).toBe(keysMarkdown());
  });
});
