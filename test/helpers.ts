// Shared test helpers: temporary folders, the shared captures, and running the built CLI.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';

export const ROOT = resolve(import.meta.dirname, '..');
/** The real captures (copied from ../shared/captures, bundled so tests run on any checkout). */
export const CAPTURES = resolve(ROOT, 'samples/captures');
export const capture = (name: string) => join(CAPTURES, name);
export const haveCaptures = existsSync(CAPTURES);

/** A temporary folder removed after the test file. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'invtrace-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the compiled CLI (npm test builds it first). */
export function cli(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
