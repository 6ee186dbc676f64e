// No module imports itself back, not even for a type (issue 19: the SQL engine's interface and
// its implementations, the policy contract and the VMM's arch, the policy contract and the host's
// vIOMMU arrangement each formed a cycle). A cycle makes load order matter and hides layering.

import { describe, expect, it } from 'vitest';
import { importCycles, importGraph } from './import-graph.js';
import { ROOT } from './helpers.js';

describe('import cycles', () => {
  it('the repository has none', () => {
    expect(importCycles(importGraph(ROOT))).toEqual([]);
  });

  it('the check fires on a cycle through a type-only edge, and not on the same files in a line', () => {
    // a → b → c → a is one cycle of three files; without the edge c → a the same files form none.
    const cyclic = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ]);
    const line = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', []],
    ]);
    expect(importCycles(cyclic)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(importCycles(line)).toEqual([]);
  });
});
