// bench/profile-top.ts: self time per function of a V8 CPU profile, on a hand-made profile and on
// a real `node --cpu-prof` run.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addSelfTimes } from '../bench/profile-top.js';

const frame = (functionName: string, lineNumber: number) => ({ functionName, url: 'file:///x/y/z.js', lineNumber });

describe('profile-top', () => {
  it('gives each sample the time to the next one, to its own node', () => {
    // Samples f, g, f at t = 5, 15, 35 µs (deltas 5, 10, 20): f runs 15 -> 5 = 10 µs, g 35 - 15 = 20,
    // the last f has no next sample (0). Lines are 0-based in the profile, 1-based in the key.
    const p = {
      nodes: [
        { id: 1, callFrame: frame('', 0) },
        { id: 2, callFrame: frame('f', 9) },
        { id: 3, callFrame: frame('g', 19) },
      ],
      samples: [2, 3, 2],
      timeDeltas: [5, 10, 20],
    };
    const self = new Map<string, number>();
    expect(addSelfTimes(p, self)).toBe(30);
    expect(self.get('f y/z.js:10')).toBe(10);
    expect(self.get('g y/z.js:20')).toBe(20);
  });

  it('puts a busy function of a real profile first', () => {
    // spin() is the only work of the script: it is most of the sampled time, its caller none of it.
    const dir = mkdtempSync(join(tmpdir(), 'invtrace-prof-'));
    const script =
      'function spin(){let x=0;const end=Date.now()+300;while(Date.now()<end)x+=Math.sqrt(x+1);return x}function caller(){return spin()}caller()';
    const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '-e', script]);
    expect(r.status).toBe(0);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
    const self = new Map<string, number>();
    const total = addSelfTimes(JSON.parse(readFileSync(join(dir, file), 'utf8')), self);
    const ranked = [...self].sort((a, b) => b[1] - a[1]);
    expect(ranked[0]![0]).toMatch(/^spin /);
    expect(ranked[0]![1] / total).toBeGreaterThan(0.5);
    expect(self.get([...self.keys()].find((k) => k.startsWith('caller '))!) ?? 0).toBeLessThan(ranked[0]![1] / 10);
  });
});
