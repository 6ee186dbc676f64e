// stdout and stderr of the command line. node makes `process.stdout` and `process.stderr` on first
// use, and for a file, a pipe or a socket that loads the stream and net modules (~30 M instructions,
// ~7 ms of every command that prints). So a command's text goes out through write(2), which is what
// node's own stream does with a file, a pipe or a socket on Linux: synchronously, in order. Two cases
// go through node's stream instead:
// - anything else, a terminal above all (ink, the REPL and the progress line write to it as a stream,
//   and one writer keeps the order) or a device such as /dev/null;
// - a pipe or socket that would block (EAGAIN: the reader left it non-blocking and it is full). The
//   stream queues the rest and writes it as the reader drains it, and every later text for that
//   descriptor follows through the stream, after what it queued.
// A closed stdout (`| head`) ends the process with status 0: a reader that stops early is not an
// error of ours. That holds for text written here and for text written through the stream
// (`stdoutStream`), as it did when every write went through the stream.

import { fstatSync, writeSync } from 'node:fs';

type Fd = 1 | 2;

/** Descriptors whose text goes through node's stream from now on (an EAGAIN sent the rest there). */
const queued = new Set<Fd>();

let stdoutHooked = false;

/**
 * Whether an error of writing stdout means the reader has gone: EPIPE from a pipe, EPIPE or
 * ECONNRESET from a socket (a reader that closed with bytes unread).
 */
const readerGone = (code: string | undefined): boolean => code === 'EPIPE' || code === 'ECONNRESET';

/** `process.stdout`, with the handler that ends the process quietly when the reader has gone. */
export function stdoutStream(): NodeJS.WriteStream {
  const s = process.stdout;
  if (!stdoutHooked) {
    stdoutHooked = true;
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (readerGone(e.code)) process.exit(0);
      throw e;
    });
  }
  return s;
}

const streamOf = (fd: Fd): NodeJS.WriteStream => (fd === 1 ? stdoutStream() : process.stderr);

/** What `fd` is, looked up once (a descriptor of this process does not change under it). */
const kinds = new Map<Fd, 'plain' | 'terminal' | 'other'>();

/** A file, a pipe or a socket is 'plain' (written with write(2)); a character device may be a terminal. */
function kindOf(fd: Fd): 'plain' | 'terminal' | 'other' {
  let k = kinds.get(fd);
  if (k === undefined) {
    let st;
    try {
      st = fstatSync(fd);
    } catch {
      st = undefined;
    }
    // Only a character device can be a terminal, so nothing else makes a stream to ask.
    k =
      st === undefined
        ? 'other'
        : st.isFile() || st.isFIFO() || st.isSocket()
          ? 'plain'
          : st.isCharacterDevice() && streamOf(fd).isTTY
            ? 'terminal'
            : 'other';
    kinds.set(fd, k);
  }
  return k;
}

/** Whether stdout (1) or stderr (2) is a terminal. */
export function isTerminal(fd: Fd): boolean {
  return kindOf(fd) === 'terminal';
}

/**
 * Writes `text` to `fd` through write(2), all of it (a write may take part); an EAGAIN hands the
 * rest to `stream` and returns false, and the caller sends that descriptor's later text there too.
 * A closed stdout (EPIPE, ECONNRESET) ends the process with status 0; other errors are thrown.
 */
export function writeDirect(fd: number, text: string | Uint8Array, stream: () => { write(b: Uint8Array): unknown }): boolean {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  let at = 0;
  while (at < buf.length) {
    try {
      at += writeSync(fd, buf, at);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        stream().write(buf.subarray(at));
        return false;
      }
      if (fd === 1 && readerGone(code)) process.exit(0);
      throw e;
    }
  }
  return true;
}

function write(fd: Fd, text: string): void {
  if (queued.has(fd) || kindOf(fd) !== 'plain') {
    streamOf(fd).write(text);
    return;
  }
  if (!writeDirect(fd, text, () => streamOf(fd))) queued.add(fd);
}

/** A command's output on stdout. */
export function writeOut(text: string): void {
  write(1, text);
}

/** Messages on stderr: errors, warnings, summaries. */
export function writeErr(text: string): void {
  write(2, text);
}
