// The package as a user gets it: `npm pack`, the tarball installed into a scratch folder (npm
// install --prefer-offline: the npm cache the project's own install filled; no network but the npm
// registry), the policy of docs/library.md compiled with tsc against the installed declarations,
// and a bundled trace replayed through `import { replay } from 'invtrace'` with it. The policy is
// the per-command walk, so its summary must equal per-command's (same trace, same steps); with
// devtlb=nop it sends no device-TLB invalidation, as devtlb-nop does not.

import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, codeCacheReport, ROOT, tempDir } from './helpers.js';

const dir = tempDir();

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The ```ts block of docs/library.md that defines the policy. */
function docsPolicy(): string {
  const md = readFileSync(join(ROOT, 'docs/library.md'), 'utf8');
  const block = [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('export default function'));
  if (block === undefined) throw new Error('docs/library.md has no policy block');
  return block;
}

describe('the built CLI', () => {
  it('is executable, and so is the bin before the bundle: an npx cache made then still links dist/cli/main.js', () => {
    // npx keeps the bin links it made for a project (~/.npm/_npx) across upgrades: a checkout run
    // with `npx invtrace` before the bin became dist/bin/invtrace.js runs tsc's CLI through them.
    const executable = (f: string) => (statSync(f).mode & 0o111) === 0o111;
    expect([CLI, join(ROOT, 'dist/cli/main.js')].map(executable)).toEqual([true, true]);
    expect(CLI.endsWith(join('dist', 'bin', 'invtrace.js'))).toBe(true); // not the same file twice
  });
});

describe('the packed package', () => {
  it('installs, types a user policy against invtrace/policy, and replays with it through invtrace', () => {
    const packed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT)) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed[0]!.files.map((f) => f.path);
    for (const f of [
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/lib/policy.d.ts',
      'dist/bin/invtrace.js',
      'analyzers/sql/commands.sql',
      'samples/generated/smmuv3-wrap.arrow',
    ])
      expect(files).toContain(f);
    expect(files.filter((f) => f.endsWith('.test.js'))).toEqual([]);
    // The bundle is CommonJS (its folder says so) and ships its code caches (rolldown.config.js).
    expect(files).toContain('dist/bin/package.json');
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]); // the training run's (cli/code-cache-train.ts)
    expect(files.filter((f) => /^dist\/bin\/ingest(-shared)?-[\w-]{8}\.js\.v8$/.test(f))).toHaveLength(2);

    const app = join(dir, 'app');
    run('mkdir', ['-p', app], dir);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--omit=optional', join(dir, packed[0]!.filename)],
      app,
    );
    expect(readdirSync(join(app, 'node_modules/invtrace/dist/lib'))).toContain('policy.d.ts');

    // The user's policy, in TypeScript, compiled against the installed declarations (strict).
    writeFileSync(join(app, 'my-policy.ts'), docsPolicy());
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          types: [],
        },
        files: ['my-policy.ts'],
      }),
    );
    run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);

    writeFileSync(
      join(app, 'main.mjs'),
      [
        "import { replay, info } from 'invtrace';",
        "import { createRequire } from 'node:module';",
        "const trace = createRequire(import.meta.url).resolve('invtrace/package.json').replace(/package\\.json$/, 'samples/generated/vtd-atc-timeout.arrow');",
        "const r = await replay(trace, { policies: ['per-command', './my-policy.js', './my-policy.js:devtlb=nop'] });",
        'console.log(JSON.stringify({ events: (await info(trace)).events, policies: r.policies }));',
      ].join('\n'),
    );
    const out = JSON.parse(run(process.execPath, ['main.mjs'], app)) as {
      events: number;
      policies: Record<string, number | string | boolean>[];
    };
    const [pc, mine, nop] = out.policies;
    expect(out.events).toBeGreaterThan(0);
    expect(mine!.policy).toBe('./my-policy.js');
    expect(nop!.policy).toBe('./my-policy.js:devtlb=nop');
    const { policy: _a, first_violations: _b, ...pcCounts } = pc!;
    const { policy: _c, first_violations: _d, ...mineCounts } = mine!;
    expect(mineCounts).toEqual(pcCounts);
    // devtlb=nop forwards no device-TLB invalidation: fewer ioctls than per-command on a trace with ATS devices.
    expect(nop!.ioctls as number).toBeLessThan(pc!.ioctls as number);

    // The installed CLI (npx's bin link), elsewhere on disk than where its caches were made, takes them.
    const installed = spawnSync(
      join(app, 'node_modules/.bin/invtrace'),
      ['ingest', join(ROOT, 'samples/captures/qemu-smmuv3-lazy.log.gz'), '-o', join(app, 'x.arrow')],
      { cwd: app, encoding: 'utf8', env: { ...process.env, INVTRACE_CODE_CACHE: 'report' } },
    );
    expect(installed.status).toBe(0);
    const report = codeCacheReport(installed.stderr).get(0)!;
    expect(Object.keys(report).length).toBeGreaterThan(3);
    expect(new Set(Object.values(report))).toEqual(new Set(['accepted']));
  }, 300_000);
});
