// Where the package sits on disk (source tree under vitest, dist/ when compiled), and its version.

import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder holding invtrace's package.json, found by walking up from this module. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'invtrace') {
      root = dir;
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('invtrace package.json not found above ' + import.meta.url);
    dir = up;
  }
}

interface PackageJson {
  readonly version: string;
  readonly bin: { readonly invtrace: string };
}
const packageJson = () => JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as PackageJson;

export function toolVersion(): string {
  return packageJson().version;
}

/** The CLI as users run it: package.json's bin, the bundle `npm run build` makes (rolldown.config.js). */
export function cliScript(): string {
  return join(packageRoot(), packageJson().bin.invtrace);
}
