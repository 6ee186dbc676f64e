// stdout and stderr through write(2) (cli/stdio.ts): a pipe that would block hands the rest to the
// stream, in order; a closed stdout ends the process with status 0 and nothing on stderr, and the
// same text read to its end arrives whole.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../test/helpers.js';
import { writeDirect } from './stdio.js';

const STDIO = join(ROOT, 'dist/cli/stdio.js');

describe('writeDirect', () => {
  const dir = tempDir();

  /** A FIFO opened for reading and writing without blocking (Linux): a pipe nobody drains, 64 KiB deep. */
  const fifo = (name: string) => {
    const path = join(dir, name);
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    return openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  };
  /** What the FIFO holds, read until it would block. */
  const drain = (fd: number) => {
    const parts: Buffer[] = [];
    const b = Buffer.alloc(1 << 16);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, b);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw e;
      }
      parts.push(Buffer.from(b.subarray(0, n)));
    }
    return Buffer.concat(parts);
  };
  const text = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => 97 + (i % 26)));

  it('a full pipe (EAGAIN) hands the rest to the stream: the two parts make the text, in order', () => {
    const fd = fifo('full');
    const rest: Uint8Array[] = [];
    const all = text(200_000); // more than the pipe's 64 KiB
    expect(writeDirect(fd, all, () => ({ write: (b: Uint8Array) => rest.push(Buffer.from(b)) }))).toBe(false);
    const piped = drain(fd);
    closeSync(fd);
    expect(piped.length).toBeGreaterThan(0);
    expect(rest).toHaveLength(1);
    expect(Buffer.concat([piped, rest[0]!]).equals(all)).toBe(true);
  });

  it('a pipe with room takes it all, and the stream is not asked for', () => {
    const fd = fifo('room');
    const all = text(1000);
    let asked = false;
    expect(
      writeDirect(fd, all, () => {
        asked = true;
        return { write: () => 0 };
      }),
    ).toBe(true);
    expect(drain(fd).equals(all)).toBe(true);
    closeSync(fd);
    expect(asked).toBe(false);
  });
});

describe('writeOut', () => {
  /** A process writing 1 MiB to stdout through writeOut, in 1 KiB pieces. */
  const writer = [
    `const { writeOut } = await import(${JSON.stringify(`file://${STDIO}`)});`,
    "const line = 'x'.repeat(1023) + '\\n';",
    'for (let i = 0; i < 1024; i++) writeOut(line);',
  ].join('\n');

  it('a reader that goes away (| head): status 0, nothing on stderr', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', writer], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Closed at the first bytes: the writes after it get EPIPE.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('a reader that reads to the end gets every byte, in order', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', writer], { encoding: 'utf8', maxBuffer: 1 << 22 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(('x'.repeat(1023) + '\n').repeat(1024));
  });
});
