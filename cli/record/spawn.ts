// Runs a command in the foreground the way a shell would: the user's terminal attached (stdio
// inherited), termination signals sent to us passed on, and its exit status returned as a shell
// reports it (128 + signal number when a signal ended it).

import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { UsageError } from '../run.js';

export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** A shell's exit status for a child that ended with `code` or by `signal`. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal !== null ? ((constants.signals as Partial<Record<NodeJS.Signals, number>>)[signal] ?? 0) : 0);
}

/**
 * Runs argv[0] with argv[1..] and resolves to its exit status. While it runs, SIGINT, SIGTERM,
 * SIGHUP and SIGQUIT sent to this process go to the child instead of ending us, so we live to read
 * what it wrote. (A Ctrl-C at the terminal reaches both; QEMU takes a second SIGINT as the same
 * shutdown request.) A command that cannot be started is a usage error.
 */
export function runForeground(argv: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals) => () => void child.kill(sig);
    const handlers = FORWARDED_SIGNALS.map((sig) => [sig, forward(sig)] as const);
    for (const [sig, h] of handlers) process.on(sig, h);
    const done = () => {
      for (const [sig, h] of handlers) process.off(sig, h);
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      done();
      reject(
        e.code === 'ENOENT' || e.code === 'EACCES'
          ? new UsageError(
              `record: cannot run ${argv[0]}: ${e.code === 'ENOENT' ? 'not found' : 'permission denied'}` +
                ' (Debian: apt-get install qemu-system-x86 or qemu-system-arm)',
            )
          : e,
      );
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(exitStatus(code, signal));
    });
  });
}
