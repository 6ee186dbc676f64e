// The foreground runner on real processes (sh): exit status, death by signal, signal forwarding.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../run.js';
import { exitStatus, runForeground } from './spawn.js';

describe('runForeground', () => {
  it('returns the exit code', async () => {
    expect(await runForeground(['sh', '-c', 'exit 3'])).toBe(3);
  });
  it('returns 128 + N for a child that a signal ended', async () => {
    expect(await runForeground(['sh', '-c', 'kill -TERM $$'])).toBe(128 + 15);
  });
  it('passes a SIGTERM sent to us on to the child, and survives it', async () => {
    // The child reports the signal through its exit code; we are still here to read it.
    const listeners = process.listenerCount('SIGTERM');
    const run = runForeground(['sh', '-c', 'trap "exit 42" TERM; while :; do sleep 0.05; done']);
    await new Promise((r) => setTimeout(r, 300));
    process.kill(process.pid, 'SIGTERM');
    expect(await run).toBe(42);
    expect(process.listenerCount('SIGTERM')).toBe(listeners);
  });
  it('a missing binary is a usage error', async () => {
    await expect(runForeground(['qemu-system-nonesuch'])).rejects.toThrow(UsageError);
    await expect(runForeground(['qemu-system-nonesuch'])).rejects.toThrow(/cannot run qemu-system-nonesuch: not found/);
  });
  it('exitStatus', () => {
    expect(exitStatus(0, null)).toBe(0);
    expect(exitStatus(null, 'SIGKILL')).toBe(137);
  });
});
