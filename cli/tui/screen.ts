// The terminal's alternate screen for the TUI's lifetime, restored on every way out: a normal
// exit, a signal (SIGTERM, SIGHUP, SIGINT: exit 128 + N), or a crash (one line, exit 3). What the
// shell showed before comes back untouched. Frames are drawn from the top-left corner, not by
// moving the cursor up from where the last one ended (Ink's way, which a resize can throw off).

import { constants } from 'node:os';
import { writeErr } from '../stdio.js';

const ENTER = '\x1b[?1049h\x1b[2J\x1b[H';
const LEAVE = '\x1b[?25h\x1b[?1049l';

export interface Screen {
  /** Back to the normal screen (once; later calls do nothing). */
  restore(): void;
}

export function enterAlternateScreen(out: NodeJS.WriteStream, onSignal: (signal: NodeJS.Signals) => void): Screen {
  out.write(ENTER);
  let done = false;
  const restore = () => {
    if (done) return;
    done = true;
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    out.write(LEAVE);
    process.off('exit', restore);
    for (const [s, h] of handlers) process.off(s, h);
    process.off('uncaughtException', crash);
    process.off('unhandledRejection', crash);
  };
  const crash = (e: unknown) => {
    restore();
    writeErr(`invtrace: internal error: ${(e as Error | null | undefined)?.message ?? String(e)}\n`);
    if (process.env.INVTRACE_DEBUG) writeErr(`${(e as Error | null | undefined)?.stack ?? ''}\n`);
    process.exit(3);
  };
  const handlers = (['SIGTERM', 'SIGHUP', 'SIGINT'] as const).map((s) => {
    const h = () => {
      onSignal(s);
      restore();
      process.exit(128 + constants.signals[s]);
    };
    process.on(s, h);
    return [s, h] as const;
  });
  process.on('exit', restore);
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  return { restore };
}

/** Ink's "erase the previous frame" prefix: N x (erase line, up), erase line, column 1. */
const ERASE_LINES = /^(?:\x1b\[2K\x1b\[1A)*\x1b\[2K\x1b\[G/;

/**
 * `out` for Ink, with each frame's relative erase replaced by "cursor home", each line ended by
 * "erase to the end of the line" (Ink trims trailing blanks) and the frame followed by "erase
 * below": drawing over the last frame from the corner leaves nothing behind, and a resize cannot
 * shift the frame.
 */
export function homeAnchored(out: NodeJS.WriteStream): NodeJS.WriteStream {
  const write = (chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string' && ERASE_LINES.test(chunk))
      chunk = `\x1b[H${chunk.replace(ERASE_LINES, '').replaceAll('\n', '\x1b[K\n')}\x1b[J`;
    return (out.write as (...a: unknown[]) => boolean)(chunk, ...rest);
  };
  return new Proxy(out, {
    get(target, key) {
      if (key === 'write') return write;
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
