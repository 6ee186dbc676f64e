// Frames drawn from the corner: what reaches the terminal when Ink writes a frame, and what
// passes through untouched.

import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { homeAnchored } from './screen.js';

class Sink extends EventEmitter {
  readonly chunks: string[] = [];
  columns = 80;
  rows = 24;
  write(s: string): boolean {
    this.chunks.push(s);
    return true;
  }
}

describe('homeAnchored', () => {
  it('turns Ink\'s "erase N lines up" into home, erase-to-end per line, erase below', () => {
    const sink = new Sink();
    const out = homeAnchored(sink as unknown as NodeJS.WriteStream);
    const eraseLines24 = `${'\x1b[2K\x1b[1A'.repeat(23)}\x1b[2K\x1b[G`; // ansi-escapes' eraseLines(24), as Ink's log-update writes it
    out.write(`${eraseLines24}line one\nline two\n`);
    expect(sink.chunks).toEqual(['\x1b[Hline one\x1b[K\nline two\x1b[K\n\x1b[J']);
  });

  it("passes other writes, and the stream's size and events, through", () => {
    const sink = new Sink();
    const out = homeAnchored(sink as unknown as NodeJS.WriteStream);
    out.write('\x1b[?25l');
    expect(sink.chunks).toEqual(['\x1b[?25l']);
    expect(out.columns).toBe(80);
    let resized = 0;
    out.on('resize', () => resized++);
    sink.emit('resize');
    expect(resized).toBe(1);
  });
});
