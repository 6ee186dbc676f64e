// How every command ends: bad input prints one line naming the file and position and exits 2; a
// failed check exits 1; a bug prints "internal error" (the stack only with INVTRACE_DEBUG=1).

import { InputFault } from '../formats/result.js';
import { writeErr, writeOut } from './stdio.js';

export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;

export class UsageError extends Error {}

export function reportError(e: unknown): number {
  if (e instanceof InputFault) {
    writeErr(`invtrace: ${e.message}\n`);
    return EXIT_BAD_INPUT;
  }
  if (e instanceof UsageError) {
    writeErr(`invtrace: ${e.message}\n`);
    return EXIT_BAD_INPUT;
  }
  const err = e as NodeJS.ErrnoException | null | undefined; // anything can be thrown, even null
  if (err?.code === 'EPIPE') return EXIT_OK; // stdout closed (| head)
  writeErr(`invtrace: internal error: ${err?.message ?? String(e)}\n`);
  if (process.env.INVTRACE_DEBUG) writeErr(`${err?.stack ?? ''}\n`);
  return EXIT_INTERNAL;
}

/** Wraps a command body: its return value (or a thrown error) becomes the exit code. */
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a command body returns an exit code or nothing
export function action<A extends unknown[]>(body: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await body(...args);
      process.exitCode = code ?? EXIT_OK;
    } catch (e) {
      process.exitCode = reportError(e);
    }
  };
}

/** Writes to stdout, ignoring a closed pipe. */
export function out(text: string): void {
  writeOut(text.endsWith('\n') ? text : `${text}\n`);
}
